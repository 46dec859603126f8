"""Trigger rules: the pure ``decide()`` against a hand-written table, then end to end.

The table below is written from Airflow's documented semantics
(``trigger_rule_dep``), not computed: one row per mix of upstream states,
one column per rule. Letters of a mix: ``s`` success, ``k`` skipped, ``f``
failed, ``u`` upstream_failed, ``.`` not finished yet. Letters of a
decision: ``R`` run, ``S`` skip, ``U`` upstream_failed, ``W`` wait.

The end-to-end half runs real DAGs through ``dag.test()`` with upstream
tasks that succeed, fail (raise), skip (raise ``SkipTask``) or end
upstream_failed (downstream of a failed task), and checks the final state
of a task with each rule, including Airflow's eager decisions.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from partita import DAG, EmptyOperator, PythonOperator, RunState, SkipTask, TaskState, TriggerRule
from partita.engine.trigger_rules import Decision, decide

COLUMNS = (
    TriggerRule.ALL_SUCCESS,
    TriggerRule.ALL_FAILED,
    TriggerRule.ALL_DONE,
    TriggerRule.ALL_DONE_MIN_ONE_SUCCESS,
    TriggerRule.ALL_SKIPPED,
    TriggerRule.ONE_SUCCESS,
    TriggerRule.ONE_FAILED,
    TriggerRule.ONE_DONE,
    TriggerRule.NONE_FAILED,
    TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
    TriggerRule.NONE_SKIPPED,
    TriggerRule.ALWAYS,
    TriggerRule.ALL_DONE_SETUP_SUCCESS,
)

# Columns: AS all_success, AF all_failed, AD all_done, AM all_done_min_one_success,
# AK all_skipped, OS one_success, OF one_failed, OD one_done, NF none_failed,
# NM none_failed_min_one_success, NK none_skipped, AL always, AT all_done_setup_success
# (a teardown's rule; whether one of its setups succeeded is checked by the state machine).
# fmt: off
TABLE = """
mix   AS AF AD AM AK OS OF OD NF NM NK AL  AT
s     R  S  R  R  S  R  S  R  R  R  R  R  R
k     S  S  R  S  R  S  S  S  R  S  S  R  R
f     U  R  R  U  S  U  R  R  U  U  R  R  R
u     U  R  R  U  S  U  R  S  U  U  R  R  R
.     W  W  W  W  W  W  W  W  W  W  W  R  W
ss    R  S  R  R  S  R  S  R  R  R  R  R  R
sk    S  S  R  R  S  R  S  R  R  R  S  R  R
sf    U  S  R  R  S  R  R  R  U  U  R  R  R
su    U  S  R  R  S  R  R  R  U  U  R  R  R
s.    W  S  W  W  S  R  W  R  W  W  W  R  W
kk    S  S  R  S  R  S  S  S  R  S  S  R  R
kf    U  S  R  U  S  U  R  R  U  U  S  R  R
ku    U  S  R  U  S  U  R  S  U  U  S  R  R
k.    W  S  W  W  W  W  W  W  W  W  S  R  W
ff    U  R  R  U  S  U  R  R  U  U  R  R  R
fu    U  R  R  U  S  U  R  R  U  U  R  R  R
f.    U  W  W  W  S  W  R  R  U  U  W  R  W
uu    U  R  R  U  S  U  R  S  U  U  R  R  R
u.    U  W  W  W  S  W  R  W  U  U  W  R  W
..    W  W  W  W  W  W  W  W  W  W  W  R  W
sss   R  S  R  R  S  R  S  R  R  R  R  R  R
ssk   S  S  R  R  S  R  S  R  R  R  S  R  R
ssf   U  S  R  R  S  R  R  R  U  U  R  R  R
ssu   U  S  R  R  S  R  R  R  U  U  R  R  R
ss.   W  S  W  W  S  R  W  R  W  W  W  R  W
skk   S  S  R  R  S  R  S  R  R  R  S  R  R
skf   U  S  R  R  S  R  R  R  U  U  S  R  R
sku   U  S  R  R  S  R  R  R  U  U  S  R  R
sk.   W  S  W  W  S  R  W  R  W  W  S  R  W
sff   U  S  R  R  S  R  R  R  U  U  R  R  R
sfu   U  S  R  R  S  R  R  R  U  U  R  R  R
sf.   U  S  W  W  S  R  R  R  U  U  W  R  W
suu   U  S  R  R  S  R  R  R  U  U  R  R  R
su.   U  S  W  W  S  R  R  R  U  U  W  R  W
s..   W  S  W  W  S  R  W  R  W  W  W  R  W
kkk   S  S  R  S  R  S  S  S  R  S  S  R  R
kkf   U  S  R  U  S  U  R  R  U  U  S  R  R
kku   U  S  R  U  S  U  R  S  U  U  S  R  R
kk.   W  S  W  W  W  W  W  W  W  W  S  R  W
kff   U  S  R  U  S  U  R  R  U  U  S  R  R
kfu   U  S  R  U  S  U  R  R  U  U  S  R  R
kf.   U  S  W  W  S  W  R  R  U  U  S  R  W
kuu   U  S  R  U  S  U  R  S  U  U  S  R  R
ku.   U  S  W  W  S  W  R  W  U  U  S  R  W
k..   W  S  W  W  W  W  W  W  W  W  S  R  W
fff   U  R  R  U  S  U  R  R  U  U  R  R  R
ffu   U  R  R  U  S  U  R  R  U  U  R  R  R
ff.   U  W  W  W  S  W  R  R  U  U  W  R  W
fuu   U  R  R  U  S  U  R  R  U  U  R  R  R
fu.   U  W  W  W  S  W  R  R  U  U  W  R  W
f..   U  W  W  W  S  W  R  R  U  U  W  R  W
uuu   U  R  R  U  S  U  R  S  U  U  R  R  R
uu.   U  W  W  W  S  W  R  W  U  U  W  R  W
u..   U  W  W  W  S  W  R  W  U  U  W  R  W
...   W  W  W  W  W  W  W  W  W  W  W  R  W
"""
# fmt: on

COLUMN_NAMES = ["AS", "AF", "AD", "AM", "AK", "OS", "OF", "OD", "NF", "NM", "NK", "AL", "AT"]
DECISION_OF = {
    "R": Decision.RUN,
    "S": Decision.SKIP,
    "U": Decision.UPSTREAM_FAILED,
    "W": Decision.WAIT,
}


def _parse_table() -> dict[str, dict[TriggerRule, Decision]]:
    rows: dict[str, dict[TriggerRule, Decision]] = {}
    header, *lines = TABLE.strip().splitlines()
    assert header.split() == ["mix", *COLUMN_NAMES]
    for line in lines:
        mix, *cells = line.split()
        assert len(cells) == len(COLUMNS), f"row {mix!r} has {len(cells)} cells"
        rows[mix] = {rule: DECISION_OF[cell] for rule, cell in zip(COLUMNS, cells, strict=True)}
    return rows


EXPECTED = _parse_table()
ORDER = "skfu."


def canonical(mix: str) -> str:
    """The table's spelling of a mix of upstream states (letters in ``skfu.`` order)."""
    return "".join(sorted(mix, key=ORDER.index))


def test_table_has_every_mix_of_one_to_three_upstreams() -> None:
    # 5 states: 5 mixes of one upstream, 15 of two, 35 of three.
    sizes = Counter(len(mix) for mix in EXPECTED)
    assert sizes == {1: 5, 2: 15, 3: 35}
    assert all(canonical(mix) == mix for mix in EXPECTED)


def test_table_covers_every_trigger_rule() -> None:
    assert set(COLUMNS) == set(TriggerRule)


@pytest.mark.parametrize("mix", sorted(EXPECTED, key=lambda m: (len(m), m)))
@pytest.mark.parametrize("rule", COLUMNS, ids=[r.value for r in COLUMNS])
def test_decide_matches_airflow_semantics(rule: TriggerRule, mix: str) -> None:
    counts = Counter(mix)
    got = decide(rule, len(mix), counts["s"], counts["k"], counts["f"], counts["u"])
    assert got is EXPECTED[mix][rule]


@pytest.mark.parametrize("rule", COLUMNS, ids=[r.value for r in COLUMNS])
def test_no_rule_waits_once_every_upstream_is_done(rule: TriggerRule) -> None:
    # The property that guarantees a run never stalls on a trigger rule.
    for mix, row in EXPECTED.items():
        if "." not in mix:
            assert row[rule] is not Decision.WAIT, (rule, mix)


# --- end to end through dag.test() ------------------------------------------------------

FINAL_STATE = {
    Decision.RUN: TaskState.SUCCESS,
    Decision.SKIP: TaskState.SKIPPED,
    Decision.UPSTREAM_FAILED: TaskState.UPSTREAM_FAILED,
}


def _succeed() -> str:
    return "ok"


def _fail() -> None:
    raise ValueError("boom")


def _skip() -> None:
    raise SkipTask("not today")


def _upstream(kind: str, name: str) -> Any:
    """A task ending in the state ``kind`` names (``s``, ``k``, ``f`` or ``u``)."""
    if kind == "s":
        return PythonOperator(task_id=name, python_callable=_succeed)
    if kind == "k":
        return PythonOperator(task_id=name, python_callable=_skip)
    if kind == "f":
        return PythonOperator(task_id=name, python_callable=_fail)
    source = PythonOperator(task_id=f"{name}_source", python_callable=_fail)
    blocked = EmptyOperator(task_id=name)
    source >> blocked
    return blocked


def _expected_final(rule: TriggerRule, first: str, second: str) -> TaskState:
    """What the rule decides once both upstreams ended, in whichever order."""
    return FINAL_STATE[EXPECTED[canonical(first + second)][rule]]


UPSTREAM_STATE = {
    "s": TaskState.SUCCESS,
    "k": TaskState.SKIPPED,
    "f": TaskState.FAILED,
    "u": TaskState.UPSTREAM_FAILED,
}
PAIRS = [a + b for a in "skfu" for b in "skfu"]


@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("rule", COLUMNS, ids=[r.value for r in COLUMNS])
def test_rule_end_to_end_with_two_upstreams(rule: TriggerRule, pair: str) -> None:
    first, second = pair
    with DAG(f"tr_{rule.value}_{pair}") as dag:
        a = _upstream(first, "a")  # defined first, so it ends first
        b = _upstream(second, "b")
        target = EmptyOperator(task_id="target", trigger_rule=rule)
        [a, b] >> target

    result = dag.test()

    states = result.task_states
    assert states["a"] is UPSTREAM_STATE[first]
    assert states["b"] is UPSTREAM_STATE[second]
    expected = _expected_final(rule, first, second)
    assert states["target"] is expected
    # The target is the only leaf: the run fails exactly when it ends upstream_failed.
    want_run = RunState.FAILED if expected is TaskState.UPSTREAM_FAILED else RunState.SUCCESS
    assert result.state is want_run


@pytest.mark.parametrize("rule", COLUMNS, ids=[r.value for r in COLUMNS])
def test_a_decision_never_changes_when_the_other_upstreams_finish(rule: TriggerRule) -> None:
    # Order independence: a decision given with upstreams still running is the one
    # every way they can end would give (so waiting for them would change nothing).
    for mix, row in EXPECTED.items():
        early = row[rule]
        if "." not in mix or early is Decision.WAIT:
            continue
        for ends in _completions(mix.count(".")):
            full = canonical(mix.replace(".", "") + ends)
            assert EXPECTED[full][rule] is early, (rule, mix, full)


def _completions(n: int) -> list[str]:
    if n == 0:
        return [""]
    return [a + rest for a in "skfu" for rest in _completions(n - 1)]


def test_all_success_with_a_skip_waits_for_a_failure_still_running() -> None:
    # Skip first, failure second: Airflow skips at once; partita waits, and the
    # failure wins whatever the order (upstream_failed, as with the other order).
    with DAG("eager_skip") as dag:
        a = PythonOperator(task_id="a", python_callable=_skip)
        b = PythonOperator(task_id="b", python_callable=_fail)
        target = EmptyOperator(task_id="target")
        [a, b] >> target
    assert dag.test().task_states["target"] is TaskState.UPSTREAM_FAILED


def test_all_done_min_one_success_with_every_upstream_failed_is_upstream_failed() -> None:
    with DAG("min_one_failed") as dag:
        a = PythonOperator(task_id="a", python_callable=_fail)
        b = PythonOperator(task_id="b", python_callable=_skip)
        target = EmptyOperator(task_id="target", trigger_rule="all_done_min_one_success")
        [a, b] >> target
    assert dag.test().task_states["target"] is TaskState.UPSTREAM_FAILED


def test_all_done_min_one_success_counts_a_skipped_upstream_as_done() -> None:
    # partita's documented rule (Airflow's code skips here: apache/airflow#59925).
    with DAG("min_one_skip") as dag:
        a = PythonOperator(task_id="a", python_callable=_succeed)
        b = PythonOperator(task_id="b", python_callable=_skip)
        target = EmptyOperator(task_id="target", trigger_rule="all_done_min_one_success")
        [a, b] >> target
    assert dag.test().task_states["target"] is TaskState.SUCCESS


def test_one_success_runs_before_its_other_upstreams_finish() -> None:
    ran_before: list[bool] = []

    def slow_branch(ti: Any) -> str:
        # By now the one_success task has already run, fed by 'fast'.
        ran_before.append(ti.xcom_pull(task_ids="eager") == "ran")
        return "slow"

    with DAG("eager_one_success") as dag:
        fast = PythonOperator(task_id="fast", python_callable=_succeed)
        gate = EmptyOperator(task_id="gate")
        slow = PythonOperator(task_id="slow", python_callable=slow_branch)
        eager = PythonOperator(
            task_id="eager", python_callable=lambda: "ran", trigger_rule="one_success"
        )
        fast >> eager
        gate >> slow >> eager

    result = dag.test()
    assert result.task_states["eager"] is TaskState.SUCCESS
    assert ran_before == [True]


def test_always_runs_even_when_its_upstream_fails() -> None:
    with DAG("always") as dag:
        broken = PythonOperator(task_id="broken", python_callable=_fail)
        after = EmptyOperator(task_id="after", trigger_rule=TriggerRule.ALWAYS)
        broken >> after
    result = dag.test()
    assert result.task_states == {"broken": TaskState.FAILED, "after": TaskState.SUCCESS}


# --- propagation ---------------------------------------------------------------------------


def test_failure_propagates_upstream_failed_two_levels_deep() -> None:
    with DAG("propagate_failure") as dag:
        broken = PythonOperator(task_id="broken", python_callable=_fail)
        child = EmptyOperator(task_id="child")
        grandchild = EmptyOperator(task_id="grandchild")
        broken >> child >> grandchild
    result = dag.test()
    assert result.task_states == {
        "broken": TaskState.FAILED,
        "child": TaskState.UPSTREAM_FAILED,
        "grandchild": TaskState.UPSTREAM_FAILED,
    }
    assert result.state is RunState.FAILED


def test_skip_propagates_to_all_success_downstream() -> None:
    with DAG("propagate_skip") as dag:
        skipper = PythonOperator(task_id="skipper", python_callable=_skip)
        child = EmptyOperator(task_id="child")
        grandchild = EmptyOperator(task_id="grandchild")
        skipper >> child >> grandchild
    result = dag.test()
    assert result.task_states == {
        "skipper": TaskState.SKIPPED,
        "child": TaskState.SKIPPED,
        "grandchild": TaskState.SKIPPED,
    }
    assert result.state is RunState.SUCCESS


def test_none_failed_join_runs_after_a_skipped_branch() -> None:
    with DAG("join_after_skip") as dag:
        start = EmptyOperator(task_id="start")
        skipped = PythonOperator(task_id="skipped_branch", python_callable=_skip)
        taken = PythonOperator(task_id="taken_branch", python_callable=_succeed)
        after_skipped = EmptyOperator(task_id="after_skipped")
        join = EmptyOperator(task_id="join", trigger_rule="none_failed")
        start >> [skipped, taken]
        skipped >> after_skipped
        [after_skipped, taken] >> join
    result = dag.test()
    assert result.task_states["after_skipped"] is TaskState.SKIPPED
    assert result.task_states["join"] is TaskState.SUCCESS
    assert result.state is RunState.SUCCESS


def test_all_done_runs_after_a_failure() -> None:
    with DAG("cleanup_after_failure") as dag:
        broken = PythonOperator(task_id="broken", python_callable=_fail)
        cleanup = PythonOperator(
            task_id="cleanup", python_callable=lambda: "cleaned", trigger_rule="all_done"
        )
        broken >> cleanup
    result = dag.test()
    assert result.task_states["cleanup"] is TaskState.SUCCESS
    assert result.output("cleanup") == "cleaned"


def test_run_succeeds_when_the_failure_is_not_in_a_leaf() -> None:
    # Airflow's leaf rule: a failed task followed by a succeeding all_done leaf.
    with DAG("leaf_rule_success") as dag:
        broken = PythonOperator(task_id="broken", python_callable=_fail)
        cleanup = EmptyOperator(task_id="cleanup", trigger_rule="all_done")
        broken >> cleanup
    result = dag.test()
    assert result.task_states["broken"] is TaskState.FAILED
    assert result.state is RunState.SUCCESS
    assert result.success


def test_run_fails_when_a_leaf_fails() -> None:
    with DAG("leaf_rule_failed") as dag:
        ok = EmptyOperator(task_id="ok")
        broken = PythonOperator(task_id="broken", python_callable=_fail)
        ok >> broken
        EmptyOperator(task_id="other_leaf")
    result = dag.test()
    assert result.state is RunState.FAILED
    assert not result.success


def test_run_fails_when_a_leaf_is_upstream_failed() -> None:
    with DAG("leaf_rule_upstream_failed") as dag:
        broken = PythonOperator(task_id="broken", python_callable=_fail)
        blocked = EmptyOperator(task_id="blocked")
        broken >> blocked
    assert dag.test().state is RunState.FAILED


def test_run_succeeds_when_every_leaf_is_skipped() -> None:
    with DAG("leaf_rule_skipped") as dag:
        PythonOperator(task_id="skipper", python_callable=_skip)
    result = dag.test()
    assert result.task_states["skipper"] is TaskState.SKIPPED
    assert result.state is RunState.SUCCESS
