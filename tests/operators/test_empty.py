"""``EmptyOperator`` and its older name ``DummyOperator``."""

from __future__ import annotations

from partita import DAG, DummyOperator, EmptyOperator, TaskState


def test_dummy_operator_is_the_empty_operator() -> None:
    assert DummyOperator is EmptyOperator


def test_empty_tasks_succeed_with_no_output_and_link_like_any_task() -> None:
    with DAG("empty") as dag:
        start = DummyOperator(task_id="start")
        end = EmptyOperator(task_id="end")
        start >> end
    result = dag.test()
    assert result.task_states == {"start": TaskState.SUCCESS, "end": TaskState.SUCCESS}
    assert result.output("start") is None
    assert dag.get_task("end").operator_name == "EmptyOperator"
