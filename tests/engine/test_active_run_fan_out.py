"""``ActiveRun`` with a mapped task inside a mapped group: ``width`` instances per group instance.

Group ``g`` has members ``a -> m -> b``; ``m`` is itself mapped (fans out), so
with 2 group instances and width 3 it has 6 instances: 0-2 belong to group
instance 0 and 3-5 to group instance 1.
"""

from __future__ import annotations

import pytest

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
    run.expand("m", 6, width=3)
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
    run.expand("m", 6, width=3)
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
        run.expand("m", 5, width=3)
    with pytest.raises(InvalidTransition):
        run.expand("b", 4, width=2)  # b does not fan out
