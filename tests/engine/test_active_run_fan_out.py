"""``ActiveRun`` with tasks that have several instances per instance of their mapped group.

Group ``g`` has members ``a -> m -> b``; ``m`` is itself mapped (fans out), so
with 2 group instances and width 3 it has 6 instances: 0-2 belong to group
instance 0 and 3-5 to group instance 1. The property test also nests a
mapped group ``h`` in ``g`` (edges then count per instance of the innermost
group both ends share).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partita.definitions.states import RunState, TaskState, TriggerRule
from partita.engine.active_run import ActiveRun, InvalidTransition, TaskSpec

S = TaskState
ALL_SUCCESS = TriggerRule.ALL_SUCCESS


def group_run(b_rule: TriggerRule = ALL_SUCCESS) -> ActiveRun:
    return ActiveRun(
        [
            TaskSpec("a", (), ("m",), ALL_SUCCESS, mapped=True, group="g"),
            TaskSpec("m", ("a",), ("b",), ALL_SUCCESS, mapped=True, group="g", fans_out=True),
            TaskSpec("b", ("m",), ("after",), b_rule, mapped=True, group="g"),
            TaskSpec("after", ("b",), (), ALL_SUCCESS),
        ]
    )


def started(run: ActiveRun) -> ActiveRun:
    """Started, with ``a`` expanded to 2 group instances (members have no outer upstream here)."""
    run.start()
    assert sorted(run.take_expandable()) == ["a", "b", "m"]
    run.expand("a", 2)
    return run


def finish(run: ActiveRun, key: tuple[str, int], state: TaskState = S.SUCCESS) -> None:
    run.mark_running(key)
    run.finish(key, state)


def expand_rest(run: ActiveRun) -> None:
    run.expand("m", 6, (3,))
    run.expand("b", 2)


def test_each_instance_of_the_fanned_out_task_waits_for_its_own_group_instance() -> None:
    run = started(group_run())
    assert run.take_ready() == [("a", 0), ("a", 1)]
    expand_rest(run)
    finish(run, ("a", 1))
    assert run.take_ready() == [("m", 3), ("m", 4), ("m", 5)]
    finish(run, ("a", 0))
    assert run.take_ready() == [("m", 0), ("m", 1), ("m", 2)]


def test_a_downstream_member_waits_for_all_width_instances_of_its_group_instance() -> None:
    run = started(group_run())
    run.take_ready()
    expand_rest(run)
    finish(run, ("a", 0))
    finish(run, ("a", 1))
    run.take_ready()
    for index in (3, 4):
        finish(run, ("m", index))
    assert run.take_ready() == []
    finish(run, ("m", 5))
    assert run.take_ready() == [("b", 1)]  # group instance 1 is complete; 0 is not
    for index in (0, 1, 2):
        finish(run, ("m", index))
    assert run.take_ready() == [("b", 0)]
    finish(run, ("b", 0))
    finish(run, ("b", 1))
    assert run.take_ready() == [("after", -1)]
    finish(run, ("after", -1))
    assert run.finished and run.run_state() is RunState.SUCCESS


def test_a_failed_instance_fails_only_its_own_group_instance_downstream() -> None:
    run = started(group_run())
    run.take_ready()
    expand_rest(run)
    finish(run, ("a", 0))
    finish(run, ("a", 1))
    run.take_ready()
    finish(run, ("m", 4), S.FAILED)
    for index in (0, 1, 2, 3, 5):
        finish(run, ("m", index))
    assert run.states[("b", 1)] is S.UPSTREAM_FAILED
    assert run.take_ready() == [("b", 0)]


def test_a_downstream_member_expanded_before_the_fan_out_waits_for_its_width() -> None:
    run = started(group_run(b_rule=TriggerRule.ALL_DONE))
    run.take_ready()
    run.expand("b", 2)  # b first: m's width is not known yet
    finish(run, ("a", 0))
    finish(run, ("a", 1))
    assert run.take_ready() == []
    run.expand("m", 6, (3,))
    ready = run.take_ready()
    assert ready == [("m", i) for i in range(6)]
    finish(run, ("m", 0))
    assert run.take_ready() == []  # all_done still needs m 1 and 2
    finish(run, ("m", 1), S.FAILED)
    finish(run, ("m", 2))
    assert run.take_ready() == [("b", 0)]


def test_a_fan_out_of_zero_skips_it_and_counts_once_for_each_downstream_instance() -> None:
    run = started(group_run(b_rule=TriggerRule.ALL_DONE))
    run.take_ready()
    run.expand("b", 2)
    run.expand("m", 0)
    assert run.states[("m", -1)] is S.SKIPPED
    finish(run, ("a", 0))
    finish(run, ("a", 1))
    assert run.take_ready() == [("b", 0), ("b", 1)]


def test_a_width_that_does_not_divide_the_length_is_refused() -> None:
    run = started(group_run())
    run.take_ready()
    with pytest.raises(InvalidTransition):
        run.expand("m", 5, (3,))
    with pytest.raises(InvalidTransition):
        run.expand("b", 4, (2, 2))  # b is in one group, not two


# --- the property test ----------------------------------------------------------------------------

FINISHED = {S.SUCCESS, S.FAILED, S.SKIPPED, S.UPSTREAM_FAILED, S.CANCELLED}
PATIENT_RULES = [TriggerRule.ALL_SUCCESS, TriggerRule.ALL_DONE, TriggerRule.NONE_FAILED]


@st.composite
def random_groups(
    draw: st.DrawFn,
) -> tuple[list[TaskSpec], dict[str, tuple[int, ...]], dict[str, int]]:
    """Members of a mapped group ``g`` (some in a mapped group ``h`` nested in it), random
    edges, some fanning out; each task's widths per group level and its instance count."""
    n = draw(st.integers(1, 6))
    outer, inner = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    names = [f"t{i}" for i in range(n)]
    edges = [(names[i], names[j]) for i in range(n) for j in range(i + 1, n) if draw(st.booleans())]
    nested = {name: draw(st.booleans()) for name in names}
    own = {name: draw(st.integers(0, 3)) if draw(st.booleans()) else 1 for name in names}
    widths = {
        name: (inner * own[name], own[name]) if nested[name] else (own[name],) for name in names
    }
    lengths = {name: outer * widths[name][0] for name in names}
    specs = [
        TaskSpec(
            name,
            tuple(u for u, d in edges if d == name),
            tuple(d for u, d in edges if u == name),
            draw(st.sampled_from(PATIENT_RULES)),
            mapped=True,
            group="h" if nested[name] else "g",
            fans_out=own[name] != 1,
            outer_groups=("g",) if nested[name] else (),
        )
        for name in names
    ]
    return specs, widths, lengths


def _level(a: TaskSpec, b: TaskSpec) -> int:
    return 2 if a.group == b.group == "h" else 1


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning")
@settings(max_examples=200, deadline=None, database=None)
@given(case=random_groups(), data=st.data())
def test_random_groups_finish_and_each_instance_waits_for_its_group_instance(
    case: tuple[list[TaskSpec], dict[str, tuple[int, ...]], dict[str, int]], data: st.DataObject
) -> None:
    specs, widths, lengths = case
    by_id = {spec.task_id: spec for spec in specs}
    run = ActiveRun(specs)
    run.start()
    running: list[tuple[str, int]] = []
    for _ in range(400):
        for task_id in data.draw(st.permutations(run.take_expandable())):
            # as the driver does: no widths for an empty expansion
            run.expand(task_id, lengths[task_id], widths[task_id] if lengths[task_id] else ())
        for key in run.take_ready():
            task_id, index = key
            for up in by_id[task_id].upstream:
                if up not in run.map_lengths:
                    assert run.states[(up, -1)] in FINISHED, (key, up)
                    continue
                level = _level(by_id[task_id], by_id[up])
                group_index = index // widths[task_id][level - 1]
                up_width = widths[up][level - 1]
                for i in range(group_index * up_width, (group_index + 1) * up_width):
                    assert run.states[(up, i)] in FINISHED, (key, up, i)
            run.mark_running(key)
            running.append(key)
        if run.finished:
            break
        assert running, f"stalled: {run.states}"
        key = running.pop(data.draw(st.integers(0, len(running) - 1)))
        run.finish(key, data.draw(st.sampled_from([S.SUCCESS, S.FAILED, S.SKIPPED])))
    assert run.finished, run.states
    assert all(state in FINISHED for state in run.states.values()), run.states
    for task_id, length in lengths.items():
        if task_id in run.map_lengths:
            assert run.map_lengths[task_id] == length
