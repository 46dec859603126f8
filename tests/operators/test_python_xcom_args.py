"""Other tasks' outputs (``task.output``, an ``XComArg``) in a classic operator's arguments.

As in Airflow: an output inside ``op_args`` / ``op_kwargs`` of a
``PythonOperator`` (or a branch / short-circuit operator built on it) makes
the task depend on the producer and is replaced by the value when it runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from partita import (
    DAG,
    BranchPythonOperator,
    EmptyOperator,
    PythonOperator,
    ShortCircuitOperator,
    TaskState,
    task,
)


def _produce() -> dict[str, int]:
    return {"n": 3, "m": 4}


def test_output_in_op_args_and_op_kwargs_wires_the_edge_and_passes_the_value() -> None:
    with DAG("classic_refs") as dag:
        produce = PythonOperator(task_id="produce", python_callable=_produce, multiple_outputs=True)
        use = PythonOperator(
            task_id="use",
            python_callable=lambda whole, n, extra: [whole, n, extra],
            op_args=[produce.output],
            op_kwargs={"n": produce.output["n"], "extra": {"nested": [produce.output["m"]]}},
        )
    assert set(use.upstream_task_ids) == {"produce"}
    result = dag.test()
    assert result.task_states["use"] is TaskState.SUCCESS, result.error("use")
    assert result.output("use") == [{"n": 3, "m": 4}, 3, {"nested": [4]}]


def test_a_task_flow_output_feeds_a_classic_operator() -> None:
    @task
    def numbers() -> list[int]:
        return [1, 2, 3]

    with DAG("taskflow_to_classic") as dag:
        total = PythonOperator(task_id="total", python_callable=sum, op_args=[numbers()])
    assert set(total.upstream_task_ids) == {"numbers"}
    assert dag.test().output("total") == 6


def test_an_output_defined_outside_the_dag_block_still_joins_the_dag() -> None:
    with DAG("late") as dag:
        produce = PythonOperator(task_id="produce", python_callable=lambda: 5)
    PythonOperator(task_id="double", python_callable=lambda x: 2 * x, op_args=[produce.output])
    assert "double" in dag.task_dict
    assert dag.test().output("double") == 10


def test_branch_and_short_circuit_operators_read_outputs_too() -> None:
    with DAG("classic_branch") as dag:
        pick = PythonOperator(task_id="pick", python_callable=lambda: "left")
        branch = BranchPythonOperator(
            task_id="branch", python_callable=lambda choice: choice, op_args=[pick.output]
        )
        left, right = EmptyOperator(task_id="left"), EmptyOperator(task_id="right")
        branch >> [left, right]
        gate = ShortCircuitOperator(
            task_id="gate", python_callable=lambda flag: flag, op_kwargs={"flag": pick.output}
        )
        after = EmptyOperator(task_id="after")
        gate >> after
    result = dag.test()
    states = result.task_states
    assert states["left"] is TaskState.SUCCESS and states["right"] is TaskState.SKIPPED
    assert states["after"] is TaskState.SUCCESS  # "left" is truthy


def test_a_mapped_classic_operator_reads_an_output_fixed_in_partial() -> None:
    with DAG("mapped_classic") as dag:
        base = PythonOperator(task_id="base", python_callable=lambda: 10)
        scaled = PythonOperator.partial(
            task_id="scaled",
            python_callable=lambda x, base: x * base,
            op_kwargs={"base": base.output},
        ).expand(op_args=[[1], [2], [3]])
    assert set(scaled.upstream_task_ids) == {"base"}
    result = dag.test()
    assert result.output("scaled") == [10, 20, 30]
    assert set(dag.task_dict) == {"base", "scaled"}


def test_a_mapped_task_reads_an_output_fixed_in_partial() -> None:
    """Used to fail at run time: each instance re-added itself to the DAG (duplicate task id)."""

    @task
    def offset() -> int:
        return 100

    @task
    def add(x: int, y: int) -> int:
        return x + y

    with DAG("mapped_partial_ref") as dag:
        add.partial(y=offset()).expand(x=[1, 2])
    result = dag.test()
    assert result.task_states["add"] is TaskState.SUCCESS, result.error("add")
    assert result.output("add") == [101, 102]


def test_an_argument_with_no_outputs_reads_nothing() -> None:
    seen: list[Any] = []
    with DAG("plain") as dag:
        op = PythonOperator(task_id="p", python_callable=seen.append, op_args=[[1, 2]])
    assert op.has_refs is False
    dag.test()
    assert seen == [[1, 2]]


def test_an_output_in_templates_dict_is_read_in_too() -> None:
    def show(templates_dict: dict[str, Any]) -> dict[str, Any]:
        return templates_dict

    with DAG("templates_dict_ref") as dag:
        produce = PythonOperator(task_id="produce", python_callable=lambda: [1, 2])
        use = PythonOperator(
            task_id="use",
            python_callable=show,
            templates_dict={"rows": produce.output, "day": "{{ ds }}"},
        )
    assert set(use.upstream_task_ids) == {"produce"}
    result = dag.test(logical_date=datetime(2025, 1, 2, tzinfo=UTC))
    assert result.output("use") == {"rows": [1, 2], "day": "2025-01-02"}
