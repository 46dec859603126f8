"""``PythonOperator``: arguments, context injection by name, **kwargs and ``context``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from partita import DAG, Context, PythonOperator, TaskState
from partita.exceptions import DefinitionError
from partita.operators.python import CallSpec

LOGICAL_DATE = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def run_python(fn: Any, **kwargs: Any) -> Any:
    with DAG("python") as dag:
        PythonOperator(task_id="py", python_callable=fn, **kwargs)
    result = dag.test(logical_date=LOGICAL_DATE)
    assert result.task_states["py"] is TaskState.SUCCESS, result.error("py")
    return result.output("py")


def test_op_args_and_op_kwargs_are_passed() -> None:
    def combine(a: int, b: int, *, scale: int) -> int:
        return (a - b) * scale

    assert run_python(combine, op_args=[5, 2], op_kwargs={"scale": 10}) == 30


def test_context_keys_are_injected_by_parameter_name() -> None:
    def named(ds: str, ti: Any, run_id: str, task: Any, logical_date: datetime) -> list[Any]:
        return [ds, ti.task_id, run_id.startswith("test__"), task.task_id, logical_date]

    assert run_python(named) == ["2025-03-04", "py", True, "py", LOGICAL_DATE]


def test_the_whole_context_goes_to_var_keyword() -> None:
    def everything(**kwargs: Any) -> list[str]:
        return sorted(kwargs)

    keys = run_python(everything)
    for key in ("ti", "task_instance", "task", "dag", "dag_run", "run_id", "ds", "ts",
                "logical_date", "params", "conf", "try_number", "log"):  # fmt: skip
        assert key in keys


def test_positional_arguments_are_not_overwritten_by_the_context() -> None:
    def shadow(ds: str, **kwargs: Any) -> list[Any]:
        return [ds, "ds" in kwargs, kwargs["run_id"].startswith("test__")]

    assert run_python(shadow, op_args=["mine"]) == ["mine", False, True]


def test_explicit_keyword_arguments_win_over_context_keys() -> None:
    def uses_ds(ds: str) -> str:
        return ds

    assert run_python(uses_ds, op_kwargs={"ds": "given"}) == "given"


def test_a_context_parameter_receives_the_whole_context() -> None:
    def by_name(context: Any) -> list[Any]:
        return [type(context).__name__, context["ti"].task_id]

    def by_annotation(ctx: Context) -> str:
        return ctx["ds"]

    assert run_python(by_name) == ["Context", "py"]
    assert run_python(by_annotation) == "2025-03-04"


def test_parameters_the_context_does_not_have_keep_their_defaults() -> None:
    def defaults(limit: int = 7) -> int:
        return limit

    assert run_python(defaults) == 7


def test_return_value_is_not_stored_with_do_xcom_push_false() -> None:
    with DAG("no_push") as dag:
        PythonOperator(task_id="py", python_callable=lambda: 5, do_xcom_push=False)
    result = dag.test()
    assert result.task_states["py"] is TaskState.SUCCESS
    assert result.output("py") is None


def test_python_callable_must_be_callable() -> None:
    with DAG("not_callable"), pytest.raises(DefinitionError, match="python_callable must be"):
        PythonOperator(task_id="py", python_callable="print")  # type: ignore[arg-type]


def test_call_spec_is_read_from_the_signature() -> None:
    def fn(a: int, ti: Any, /, *args: Any, context: Context, **kw: Any) -> None: ...

    spec = CallSpec.of(fn)
    assert spec.names == {"a", "ti", "context"}
    assert spec.positional == ("a", "ti")
    assert spec.var_keyword
    assert spec.context_param == "context"
    assert CallSpec.of(print).context_param is None  # builtins without a signature still work
