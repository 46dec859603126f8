"""``@task``: value passing, multiple outputs, context parameters, naming, options."""

from __future__ import annotations

from typing import Any

import pytest

from partita import DAG, Context, EmptyOperator, TaskState, XComArg, get_current_context, task
from partita.exceptions import DefinitionError


def test_calling_a_task_with_another_tasks_result_passes_the_value() -> None:
    @task
    def train_model() -> str:
        return "model-7"

    @task
    def deploy_model(model_id: str) -> str:
        return f"deployed {model_id}"

    with DAG("taskflow") as dag:
        ref = deploy_model(train_model())
    assert isinstance(ref, XComArg)
    assert list(dag.get_task("deploy_model").upstream_task_ids) == ["train_model"]
    result = dag.test()
    assert result.output("train_model") == "model-7"
    assert result.output("deploy_model") == "deployed model-7"


def test_values_nested_in_containers_are_resolved() -> None:
    @task
    def number(n: int) -> int:
        return n

    @task
    def gather(items: list[int], named: dict[str, Any]) -> list[Any]:
        return [items, named]

    with DAG("nested_refs") as dag:
        gather([number(1), number(2)], named={"x": number(3), "plain": 4})
    assert dag.test().output("gather") == [[1, 2], {"x": 3, "plain": 4}]


def test_multiple_outputs_stores_each_key() -> None:
    @task(multiple_outputs=True)
    def split() -> dict[str, int]:
        return {"low": 1, "high": 9}

    @task
    def spread(low: int, high: int) -> int:
        return high - low

    with DAG("multiple_outputs") as dag:
        parts = split()
        spread(parts["low"], parts["high"])
    result = dag.test()
    assert result.output("split", key="low") == 1
    assert result.output("split", key="high") == 9
    assert result.output("split") == {"low": 1, "high": 9}
    assert result.output("spread") == 8


def test_multiple_outputs_is_inferred_from_a_dict_return_annotation() -> None:
    @task
    def annotated() -> dict[str, str]:
        return {"a": "x"}

    @task
    def unannotated():  # type: ignore[no-untyped-def]
        return {"a": "x"}

    @task(multiple_outputs=False)
    def turned_off() -> dict[str, str]:
        return {"a": "x"}

    with DAG("inferred") as dag:
        annotated()
        unannotated()
        turned_off()
    assert dag.get_task("annotated").multiple_outputs is True
    assert dag.get_task("unannotated").multiple_outputs is False
    assert dag.get_task("turned_off").multiple_outputs is False
    result = dag.test()
    assert result.output("annotated", key="a") == "x"
    assert result.output("turned_off", key="a") is None


def test_multiple_outputs_with_a_non_dict_result_fails_the_task() -> None:
    @task(multiple_outputs=True)
    def wrong() -> Any:
        return [1, 2]

    with DAG("wrong_multiple") as dag:
        wrong()
    result = dag.test()
    assert result.task_states["wrong"] is TaskState.FAILED
    error = result.error("wrong")
    assert error is not None and "must return a dict with string keys; it returned list" in error


def test_context_parameter_and_context_annotation() -> None:
    @task
    def by_name(value: int, context: Any) -> list[Any]:
        return [value, context["ti"].task_id]

    @task
    def by_annotation(ctx: Context) -> str:
        return ctx["task"].task_id

    @task
    def with_current() -> str:
        return get_current_context()["ti"].task_id

    with DAG("context_params") as dag:
        by_name(5)
        by_annotation()
        with_current()
    result = dag.test()
    assert result.output("by_name") == [5, "by_name"]
    assert result.output("by_annotation") == "by_annotation"
    assert result.output("with_current") == "with_current"


def test_calling_a_task_twice_gives_name_and_name__1() -> None:
    @task
    def step() -> None: ...

    with DAG("twice") as dag:
        step()
        step()
        step()
    assert dag.task_ids == ["step", "step__1", "step__2"]


def test_task_id_and_options_can_be_set_and_overridden() -> None:
    @task(task_id="custom", retries=2)
    def original() -> None: ...

    with DAG("options") as dag:
        original()
        original.override(task_id="other", retries=0)()
    assert dag.get_task("custom").retries == 2
    assert dag.get_task("other").retries == 0


def test_task_python_is_the_same_decorator() -> None:
    @task.python
    def plain() -> int:
        return 1

    with DAG("python_alias") as dag:
        plain()
    assert dag.test().output("plain") == 1


def test_unknown_task_options_are_rejected() -> None:
    @task(retires=2)
    def typo() -> None: ...

    with DAG("typo"), pytest.raises(DefinitionError, match=r"unknown argument.*retires"):
        typo()


def test_a_task_output_mixes_with_classic_operators() -> None:
    @task
    def produce() -> int:
        return 1

    with DAG("mixed") as dag:
        out = produce()
        after = EmptyOperator(task_id="after")
        out >> after
    assert list(dag.get_task("after").upstream_task_ids) == ["produce"]


def test_a_task_output_cannot_be_iterated_while_the_dag_is_defined() -> None:
    @task
    def rows() -> list[int]:
        return [1, 2]

    with DAG("iterate"):
        out = rows()
        with pytest.raises(TypeError, match="not known until it runs"):
            list(out)
