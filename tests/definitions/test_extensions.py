"""Extension points: the definitions layer finds the engine's code on first use, not by import."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest

from partita.definitions.dag import DAG, TEST_RUNNER
from partita.definitions.extensions import ExtensionPoint
from partita.exceptions import PartitaError


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_dag_test_works_after_importing_only_the_definitions_module() -> None:
    out = _run(
        """
        from partita.definitions.dag import DAG
        from partita.operators.python import PythonOperator
        with DAG("alone") as dag:
            PythonOperator(task_id="one", python_callable=lambda: 1)
        print(dag.test(verbose=False).state)
        """
    )
    assert out == "success"


def test_partial_and_asset_jobs_work_without_importing_partita_first() -> None:
    out = _run(
        """
        from partita.definitions.asset import asset
        from partita.definitions.asset_graph import AssetGraph
        from partita.definitions.asset_job import build_asset_dag
        from partita.definitions.dag import DAG
        from partita.operators.python import PythonOperator

        with DAG("mapped") as dag:
            PythonOperator.partial(task_id="m", python_callable=lambda x: x).expand(
                op_args=[[1], [2]]
            )
        print(type(dag.task_dict["m"]).__name__)

        @asset
        def numbers() -> list[int]:
            return [1]

        job = build_asset_dag("job", AssetGraph([numbers]))
        print(type(job.task_dict["numbers"]).__name__)
        """
    )
    assert out.split() == ["MappedOperator", "AssetOperator"]


def test_an_implementation_registered_first_is_kept_by_the_bootstrap() -> None:
    calls: list[str] = []

    def fake_runner(dag: DAG, **kwargs: Any) -> str:
        calls.append(dag.dag_id)
        return "fake result"

    previous = TEST_RUNNER.get()
    TEST_RUNNER.register(fake_runner)
    try:
        with DAG("faked") as dag:
            pass
        assert dag.test() == "fake result"
        assert calls == ["faked"]
    finally:
        TEST_RUNNER.register(previous)


def test_an_extension_point_nothing_fills_names_itself() -> None:
    orphan: ExtensionPoint[int] = ExtensionPoint("the orphan slot")
    with pytest.raises(PartitaError, match="nothing is registered for the orphan slot"):
        orphan.get()


def test_register_without_replace_keeps_the_first() -> None:
    point: ExtensionPoint[str] = ExtensionPoint("a slot")
    point.register("first", replace=False)
    point.register("second", replace=False)
    assert point.get() == "first"
