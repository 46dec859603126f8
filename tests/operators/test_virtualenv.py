"""Functions run in another interpreter: ``@task.virtualenv``, ``ExternalPythonOperator``...

The virtualenv tests build real environments (``requirements=[]`` without
pip, and one tiny package from the registry) under a temporary
``PARTITA_HOME``; the external-Python tests run this interpreter itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from partita import (
    DAG,
    BranchExternalPythonOperator,
    EmptyOperator,
    ExternalPythonOperator,
    PythonVirtualenvOperator,
    TaskState,
    task,
)
from partita.exceptions import DefinitionError
from partita.operators.venvs import READY, VenvSpec, VirtualenvError, ensure_venv


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PARTITA_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.mark.slow
def test_a_virtualenv_task_runs_in_its_cached_environment(home: Path) -> None:
    with DAG("venv") as dag:

        @task
        def start() -> int:
            return 21

        @task.virtualenv(requirements=[], system_site_packages=False)
        def double(x: int, ds: str | None = None) -> dict:
            import sys

            return {"x": x * 2, "prefix": sys.prefix, "ds": ds}

        double(start())
    first = dag.test(logical_date=None)
    assert first.task_states["double"] is TaskState.SUCCESS
    out = first.output("double")
    assert out["x"] == 42
    assert out["ds"] is not None and len(out["ds"]) == 10  # the context value it names
    venvs = [p for p in (home / "venvs").iterdir() if p.is_dir()]
    assert len(venvs) == 1 and (venvs[0] / READY).exists()
    assert Path(out["prefix"]).resolve() == venvs[0].resolve()
    # The second run reuses the environment: same folder, no second build.
    marker_time = (venvs[0] / READY).stat().st_mtime_ns
    second = dag.test()
    assert second.output("double")["prefix"] == out["prefix"]
    assert (venvs[0] / READY).stat().st_mtime_ns == marker_time


@pytest.mark.slow
def test_requirements_are_installed_into_the_environment(home: Path, tmp_path: Path) -> None:
    def where_is_six() -> str:
        import six

        return six.__file__

    with DAG("venv_reqs") as dag:
        PythonVirtualenvOperator(
            task_id="six",
            python_callable=where_is_six,
            requirements=["six"],
            system_site_packages=False,
            venv_cache_path=str(tmp_path / "cache"),
        )
    result = dag.test()
    assert result.task_states["six"] is TaskState.SUCCESS, result.error("six")
    assert Path(result.output("six")).resolve().is_relative_to((tmp_path / "cache").resolve())
    assert not (home / "venvs").exists()  # venv_cache_path chose the folder


def test_a_failed_build_leaves_nothing_and_names_the_cause(tmp_path: Path) -> None:
    spec = VenvSpec(requirements=("this is not a requirement!!",), system_site_packages=True)
    with pytest.raises(VirtualenvError, match="installing the requirements failed"):
        ensure_venv(spec, tmp_path)
    assert not (tmp_path / spec.key()).exists()


def test_external_python_runs_the_function_source_with_that_interpreter() -> None:
    def add(a: int, b: int) -> dict:
        import sys

        return {"sum": a + b, "python": sys.executable, "main": __name__}

    with DAG("ext") as dag:
        ExternalPythonOperator(
            task_id="add", python_callable=add, op_args=[2], op_kwargs={"b": 3},
            python=sys.executable,
        )  # fmt: skip
    result = dag.test()
    assert result.task_states["add"] is TaskState.SUCCESS, result.error("add")
    assert result.output("add") == {"sum": 5, "python": sys.executable, "main": "__main__"}


def test_external_python_branch_follows_the_returned_task() -> None:
    def choose() -> str:
        return "b"

    with DAG("ext_branch") as dag:
        branch = BranchExternalPythonOperator(
            task_id="choose", python_callable=choose, python=sys.executable
        )
        branch >> [EmptyOperator(task_id="a"), EmptyOperator(task_id="b")]
    states = dag.test().task_states
    assert states["b"] is TaskState.SUCCESS
    assert states["a"] is TaskState.SKIPPED


def test_task_external_python_decorator_and_its_branch_form() -> None:
    with DAG("ext_decorated") as dag:

        @task.branch_external_python(python=sys.executable)
        def pick(options: list[str]) -> str:
            return options[-1]

        @task.external_python(python=sys.executable, serializer="cloudpickle")
        def shout(word: str) -> str:
            return word.upper()

        pick(["x", "y"]) >> [EmptyOperator(task_id="x"), EmptyOperator(task_id="y")]
        shout("hi")
    result = dag.test()
    assert result.task_states["x"] is TaskState.SKIPPED
    assert result.task_states["y"] is TaskState.SUCCESS
    assert result.output("shout") == "HI"


def test_an_error_in_the_function_fails_the_task_with_its_last_line() -> None:
    def broken() -> None:
        raise ValueError("no such table: orders")

    def skipper() -> None:
        import sys

        sys.exit(42)

    with DAG("ext_fail") as dag:
        ExternalPythonOperator(task_id="broken", python_callable=broken, python=sys.executable)
        ExternalPythonOperator(
            task_id="skipper", python_callable=skipper, python=sys.executable,
            skip_on_exit_code=42,
        )  # fmt: skip
        ExternalPythonOperator(task_id="nowhere", python_callable=skipper, python="/no/such/python")
    result = dag.test()
    assert result.task_states["broken"] is TaskState.FAILED
    assert "ValueError: no such table: orders" in (result.error("broken") or "")
    assert result.task_states["skipper"] is TaskState.SKIPPED
    assert "'/no/such/python' is not a file" in (result.error("nowhere") or "")


def test_wrong_arguments_are_refused_when_the_dag_is_defined() -> None:
    with DAG("bad"), pytest.raises(DefinitionError, match="defined with def"):
        ExternalPythonOperator(task_id="l", python_callable=lambda: 1, python=sys.executable)
    with DAG("bad2"), pytest.raises(DefinitionError, match="serializer='json' is not one of"):
        ExternalPythonOperator(
            task_id="s", python_callable=test_wrong_arguments_are_refused_when_the_dag_is_defined,
            python=sys.executable, serializer="json",
        )  # fmt: skip


def test_specs_that_differ_get_different_environments() -> None:
    base = VenvSpec(requirements=("a", "b"))
    assert base.key() == VenvSpec(requirements=("b", "a")).key()  # order does not matter
    assert base.key() != VenvSpec(requirements=("a", "b"), system_site_packages=False).key()
    assert base.key() != VenvSpec(requirements=("a",)).key()
