"""Admission of ready task instances: weight rules, pools, max_active_tasks (pure functions)."""

from __future__ import annotations

import pytest

from partita import DAG, EmptyOperator
from partita.engine.admission import ReadyInstance, admit, effective_weights, past_allows
from partita.exceptions import DefinitionError


def chain(rule: str) -> DAG:
    with DAG(f"weights_{rule}") as dag:
        a = EmptyOperator(task_id="a", priority_weight=1, weight_rule=rule)
        b = EmptyOperator(task_id="b", priority_weight=10, weight_rule=rule)
        c = EmptyOperator(task_id="c", priority_weight=100, weight_rule=rule)
        a >> b >> c
    return dag


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("downstream", {"a": 111, "b": 110, "c": 100}),
        ("upstream", {"a": 1, "b": 11, "c": 111}),
        ("absolute", {"a": 1, "b": 10, "c": 100}),
    ],
)
def test_effective_weights_follow_the_weight_rule(rule: str, expected: dict[str, int]) -> None:
    assert effective_weights(chain(rule)) == expected


def test_a_bad_weight_rule_or_pool_slots_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match="unknown weight_rule 'sideways'"):
        EmptyOperator(task_id="x", weight_rule="sideways")
    with pytest.raises(DefinitionError, match="pool_slots must be an integer >= 1, got 0"):
        EmptyOperator(task_id="x", pool_slots=0)


def ready(key: str, pool: str = "p", slots: int = 1, priority: int = 1) -> ReadyInstance:
    return ReadyInstance((key, -1), pool, slots, priority)


def test_admit_goes_by_priority_within_pool_slots_and_the_dag_limit() -> None:
    items = [ready("low", priority=1), ready("high", priority=5), ready("mid", priority=3)]
    admitted, held = admit(items, pool_free={"p": 2}, dag_free=10)
    assert [i.key[0] for i in admitted] == ["high", "mid"]
    assert [i.key[0] for i in held] == ["low"]
    admitted, held = admit(items, pool_free={"p": 9}, dag_free=1)
    assert [i.key[0] for i in admitted] == ["high"]
    assert [i.key[0] for i in held] == ["low", "mid"]  # held keep their ready order


def test_an_instance_needing_more_slots_than_free_waits_but_smaller_ones_pass() -> None:
    items = [ready("big", slots=3, priority=9), ready("small", slots=1)]
    admitted, held = admit(items, pool_free={"p": 2}, dag_free=10)
    assert [i.key[0] for i in admitted] == ["small"] and [i.key[0] for i in held] == ["big"]
    admitted, _ = admit([ready("elsewhere", pool="q")], pool_free={"p": 2}, dag_free=10)
    assert admitted == []  # a pool with no free slots admits nothing


def test_past_allows_depends_on_past_and_wait_for_downstream() -> None:
    from partita.definitions.states import TaskState

    with DAG("past"):
        a = EmptyOperator(task_id="a", depends_on_past=True)
        b = EmptyOperator(task_id="b")
        w = EmptyOperator(task_id="w", wait_for_downstream=True)
        free = EmptyOperator(task_id="free")
        a >> b
        w >> b
    ok, failed = TaskState.SUCCESS, TaskState.FAILED
    assert past_allows(a, None)  # no previous run
    assert past_allows(a, {"a": ok, "b": failed})
    assert not past_allows(a, {"a": failed})
    assert past_allows(a, {"a": TaskState.SKIPPED})
    assert not past_allows(a, {"a": TaskState.RUNNING})  # the previous run is not done yet
    assert w.depends_on_past  # implied, as in Airflow
    assert not past_allows(w, {"w": ok, "b": failed})
    assert past_allows(w, {"w": ok, "b": ok})
    assert past_allows(free, {"free": failed})
    assert past_allows(a, {})  # a task new since the previous run
