"""``Param``: JSON-Schema rules for params, overridden by the run conf, checked before a run."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

from partita import DAG, Param, PythonOperator, TaskState, dag, task
from partita.definitions.params import NOTSET, ParamValidationError, resolve_param_values
from partita.exceptions import DefinitionError, RunConfigError
from partita.executors.in_process import run_dag
from partita.storage.memory import MemoryStorage

# -- Param itself -------------------------------------------------------------------------


def test_param_resolves_its_default_or_a_given_value() -> None:
    p = Param(5, type="integer", minimum=0)
    assert p.resolve() == 5
    assert p.resolve(7) == 7
    assert Param("x").resolve() == "x"
    assert Param(None).resolve() is None
    assert Param(type="string").resolve("hi") == "hi"


@pytest.mark.parametrize(
    ("param", "value", "fragments"),
    [
        (Param(5, type="integer", minimum=0), -1, ["-1", "less than the minimum of 0", "minimum"]),
        (Param(5, type="integer"), "five", ["'five'", "is not of type 'integer'", "rule type"]),
        (Param("a", enum=["a", "b"]), "c", ["'c'", "is not one of", "rule enum"]),
        (Param("2024-01-01", type="string", format="date"), "yesterday", ["is not a 'date'"]),
        (Param("x", type="string", maxLength=3), "toolong", ["is too long", "maxLength: 3"]),
        (
            Param([1], type="array", items={"type": "integer"}),
            [1, "two"],
            ["at n[1]", "'two' is not of type 'integer'"],
        ),
    ],
)
def test_an_invalid_value_names_the_param_the_value_and_the_rule(
    param: Param, value: Any, fragments: list[str]
) -> None:
    with pytest.raises(ParamValidationError) as info:
        param.resolve(value, name="n")
    message = str(info.value)
    assert message.startswith("param 'n' has the invalid value ")
    for fragment in fragments:
        assert fragment in message


def test_a_param_without_default_needs_a_value() -> None:
    p = Param(type="integer")
    assert not p.has_value and p.value is NOTSET
    with pytest.raises(ParamValidationError, match="'count' has no default and no value"):
        p.resolve(name="count")
    with pytest.raises(ParamValidationError, match="None is not of type 'integer'"):
        p.resolve(None, name="count")


def test_an_invalid_schema_fails_where_the_param_is_defined() -> None:
    with pytest.raises(DefinitionError, match=r"Param\(5, type='integr'\): its schema is invalid"):
        Param(5, type="integr")


def test_param_repr_is_stable_and_pickles() -> None:
    p = Param(5, description="how many", type="integer", minimum=0)
    assert repr(p) == "Param(5, description='how many', type='integer', minimum=0)"
    assert pickle.loads(pickle.dumps(p)) == p
    assert pickle.loads(pickle.dumps(NOTSET)) is NOTSET


def test_resolve_param_values_mixes_params_and_plain_values() -> None:
    declared = {"n": Param(5, type="integer"), "name": "x"}
    assert resolve_param_values(declared, {}) == {"n": 5, "name": "x"}
    assert resolve_param_values(declared, {"n": 6, "name": "y", "extra": 1}) == {
        "n": 6,
        "name": "y",
    }


# -- in a run -------------------------------------------------------------------------------


def _params_dag(seen: dict[str, Any]) -> DAG:
    def look(params: dict[str, Any], conf: dict[str, Any]) -> None:
        seen["params"] = dict(params)
        seen["conf"] = dict(conf)

    with DAG("params", params={"n": Param(5, type="integer", minimum=0), "name": "x"}) as d:
        PythonOperator(task_id="look", python_callable=look)
    return d


def test_tasks_see_plain_values_overridden_by_the_run_conf() -> None:
    seen: dict[str, Any] = {}
    _params_dag(seen).test()
    assert seen["params"] == {"n": 5, "name": "x"}
    assert seen["conf"] == {}
    _params_dag(seen).test(run_conf={"n": 8, "name": "y", "other": True})
    assert seen["params"] == {"n": 8, "name": "y", "other": True}
    assert seen["conf"] == {"n": 8, "name": "y", "other": True}


def test_an_invalid_conf_value_stops_the_run_before_any_task_and_records_nothing() -> None:
    seen: dict[str, Any] = {}
    storage = MemoryStorage()
    with pytest.raises(RunConfigError) as info:
        run_dag(_params_dag(seen), storage=storage, run_conf={"n": -3})
    message = str(info.value)
    assert message.startswith("DAG 'params': param 'n' has the invalid value -3")
    assert "minimum: 0" in message
    assert seen == {}
    assert storage.runs.list_runs() == []


def test_an_invalid_value_records_no_run_in_the_sql_store(tmp_path: Path) -> None:
    sql = pytest.importorskip("partita.storage.sql")
    storage = sql.SqlStorage(f"sqlite:///{tmp_path / 'p.db'}", tmp_path / "store")
    try:
        with pytest.raises(RunConfigError, match="param 'n'"):
            run_dag(_params_dag({}), storage=storage, run_conf={"n": "many"})
        assert storage.runs.list_runs() == []
    finally:
        storage.close()


def test_a_required_param_without_value_stops_the_run() -> None:
    with DAG("required", params={"target": Param(type="string")}) as d:
        PythonOperator(task_id="t", python_callable=lambda: None)
    with pytest.raises(RunConfigError, match="DAG 'required': param 'target' has no default"):
        d.test()
    assert d.test(run_conf={"target": "prod"}).success


def test_task_params_are_validated_and_resolved_too() -> None:
    seen: dict[str, Any] = {}
    with DAG("task_params", params={"a": 1}) as d:
        PythonOperator(
            task_id="t",
            python_callable=lambda params: seen.update(params),
            params={"b": Param(2, type="integer", maximum=10)},
        )
    d.test()
    assert seen == {"a": 1, "b": 2}
    d.test(run_conf={"b": 9})
    assert seen["b"] == 9
    with pytest.raises(RunConfigError, match="DAG 'task_params': task 't': param 'b'"):
        d.test(run_conf={"b": 11})


def test_params_in_templates_and_dag_function_params() -> None:
    @dag(params={"n": Param(2, type="integer")})
    def doubled(factor: int = 3) -> None:
        @task
        def compute(n: str, factor: int) -> str:  # a rendered template is a string
            return n * factor

        compute("{{ params.n }}", factor)

    result = doubled().test()
    assert result.task_states == {"compute": TaskState.SUCCESS}
    assert result.output("compute") == "222"  # a rendered string: "2" * 3
    assert doubled().test(run_conf={"factor": 2, "n": 4}).output("compute") == "44"


SIZE = Param(3, type="integer", minimum=1)


def test_a_dag_function_parameter_may_default_to_a_param() -> None:
    @dag
    def sized(size: Any = SIZE) -> None:
        @task
        def double(n: int) -> int:
            return n * 2

        double(size)

    assert sized().test().output("double") == 6
    assert sized().test(run_conf={"size": 5}).output("double") == 10
    with pytest.raises(RunConfigError, match=r"DAG 'sized': param 'size' has the invalid value 0"):
        sized().test(run_conf={"size": 0})
