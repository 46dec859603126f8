"""A plain ``@task`` that returns ``Output(value, metadata=...)`` outputs ``value``."""

from __future__ import annotations

import pytest

from partita import DAG, InMemoryIOManager, Output, TaskState, task


@task
def produce() -> Output[int]:
    return Output(41, metadata={"rows": 41, "source": "db"})


@task
def consume(n: int) -> int:
    return n + 1


def test_the_value_is_stored_and_passed_downstream() -> None:
    with DAG("output_unwrapped") as dag:
        consume(produce())
    result = dag.test()
    assert result.task_states["consume"] is TaskState.SUCCESS, result.error("consume")
    assert result.output("produce") == 41
    assert result.output("consume") == 42


def test_the_metadata_goes_to_the_task_log() -> None:
    with DAG("output_metadata") as dag:
        produce()
    result = dag.test()
    assert "INFO - output metadata: {'rows': 41, 'source': 'db'}" in result.logs("produce")


def test_the_annotation_inside_output_is_checked() -> None:
    @task
    def wrong() -> Output[int]:
        return Output("not a number")

    with DAG("output_checked") as dag:
        wrong()
    result = dag.test()
    assert result.task_states["wrong"] is TaskState.FAILED
    assert "expected type int" in (result.error("wrong") or "")


def test_a_bare_output_annotation_checks_nothing() -> None:
    @task
    def anything() -> Output:  # type: ignore[type-arg]
        return Output(["a"])

    with DAG("output_bare") as dag:
        anything()
    assert dag.test().output("anything") == ["a"]


def test_an_output_name_other_than_result_is_an_error_naming_the_fix() -> None:
    @task
    def named() -> Output[int]:
        return Output(1, output_name="other")

    with DAG("output_named") as dag:
        named()
    result = dag.test()
    assert result.task_states["named"] is TaskState.FAILED
    error = result.error("named") or ""
    assert "output_name='other'" in error and "multiple_outputs=True" in error


@pytest.mark.parametrize("mapped", [False, True])
def test_mapped_tasks_and_io_managed_outputs_unwrap_too(mapped: bool) -> None:
    @task
    def square(x: int) -> Output[int]:
        return Output(x * x, metadata={"x": x})

    @task(io_manager_key="mem")
    def stored() -> Output[str]:
        return Output("kept")

    @task
    def read(value: str) -> str:
        return value

    with DAG("output_mapped", resources={"mem": InMemoryIOManager()}) as dag:
        if mapped:
            square.expand(x=[1, 2, 3])
        else:
            square(3)
        read(stored())
    result = dag.test()
    assert result.output("square") == ([1, 4, 9] if mapped else 9)
    assert result.output("read") == "kept"
