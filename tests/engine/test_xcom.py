"""Task outputs (XCom): return values, xcom_push / xcom_pull, and storage through the store."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from partita import DAG, BashOperator, EmptyOperator, PythonOperator, SkipTask, TaskState, task
from partita.executors.in_process import run_dag
from partita.storage.base import Storage
from partita.storage.memory import MemoryStorage

S, K = TaskState.SUCCESS, TaskState.SKIPPED


def test_seed_train_and_deploy_by_xcom_push_and_pull() -> None:
    """Seed 003's classic style: push under a key, pull it by task id and key."""

    def _train_model(**context: Any) -> None:
        model_id = str(uuid.uuid4())
        context["task_instance"].xcom_push(key="model_id", value=model_id)

    def _deploy_model(**context: Any) -> None:
        model_id = context["task_instance"].xcom_pull(task_ids="train_model", key="model_id")
        print(f"Deploying model {model_id}")

    with DAG("classic_xcom") as dag:
        train_model = PythonOperator(task_id="train_model", python_callable=_train_model)
        deploy_model = PythonOperator(task_id="deploy_model", python_callable=_deploy_model)
        train_model >> deploy_model
    result = dag.test()
    model_id = result.output("train_model", key="model_id")
    assert uuid.UUID(model_id)
    assert result.output("train_model") is None  # it returned nothing
    assert f"Deploying model {model_id}" in result.logs("deploy_model")


def test_seed_train_and_deploy_with_taskflow() -> None:
    """Seed 003's TaskFlow style: the return value travels as the argument."""
    with DAG("taskflow_xcom") as dag:

        @task
        def train_model() -> str:
            return str(uuid.uuid4())

        @task
        def deploy_model(model_id: str) -> None:
            print(f"Deploying model {model_id}")

        deploy_model(train_model())
    result = dag.test()
    model_id = result.output("train_model")
    assert uuid.UUID(model_id)
    assert result.task_states == {"train_model": S, "deploy_model": S}
    assert f"Deploying model {model_id}" in result.logs("deploy_model")


def test_return_value_key_and_pull_forms() -> None:
    seen: dict[str, Any] = {}

    def pull(ti: Any) -> None:
        seen["one"] = ti.xcom_pull(task_ids="a")
        seen["explicit"] = ti.xcom_pull(task_ids="a", key="return_value")
        seen["many"] = ti.xcom_pull(task_ids=["a", "b"])
        seen["pushed"] = ti.xcom_pull(task_ids="b", key="extra")
        seen["missing"] = ti.xcom_pull(task_ids="b", key="nope")
        seen["default"] = ti.xcom_pull(task_ids="b", key="nope", default="dflt")
        seen["map_indexes"] = ti.xcom_pull(task_ids="a", map_indexes=-1)
        ti.xcom_push(key="mine", value=1)
        seen["own"] = ti.xcom_pull(key="mine")

    def b(ti: Any) -> dict[str, int]:
        ti.xcom_push(key="extra", value=[1, 2])
        return {"k": 2}

    with DAG("pull_forms") as dag:
        first = PythonOperator(task_id="a", python_callable=lambda: "A")
        second = PythonOperator(task_id="b", python_callable=b)
        [first, second] >> PythonOperator(task_id="c", python_callable=pull)
    dag.test()
    assert seen == {
        "one": "A",
        "explicit": "A",
        "many": ["A", {"k": 2}],
        "pushed": [1, 2],
        "missing": None,
        "default": "dflt",
        "map_indexes": "A",
        "own": 1,
    }


def test_do_xcom_push_false_stores_no_return_value_but_keeps_explicit_pushes() -> None:
    def work(ti: Any) -> str:
        ti.xcom_push(key="kept", value="yes")
        return "dropped"

    with DAG("no_push") as dag:
        PythonOperator(task_id="p", python_callable=work, do_xcom_push=False)
        BashOperator(task_id="b", bash_command="echo out", do_xcom_push=False)
    result = dag.test()
    assert result.output("p") is None
    assert result.output("p", key="kept") == "yes"
    assert result.output("b") is None


def test_bash_operator_pushes_the_last_line_of_its_stdout() -> None:
    with DAG("bash_xcom") as dag:
        BashOperator(task_id="b", bash_command="echo first; echo second; echo last")
        BashOperator(task_id="silent", bash_command="true")
    result = dag.test()
    assert result.output("b") == "last"
    assert result.output("silent") == ""


def test_multiple_outputs_store_each_key() -> None:
    with DAG("multi") as dag:

        @task(multiple_outputs=True)
        def split() -> dict[str, int]:
            return {"a": 1, "b": 2}

        @task
        def add(a: int, b: int) -> int:
            return a + b

        parts = split()
        add(parts["a"], parts["b"])
    result = dag.test()
    assert (result.output("split", key="a"), result.output("split", key="b")) == (1, 2)
    assert result.output("add") == 3


def test_xcom_pull_from_a_skipped_task_gives_none() -> None:
    seen: dict[str, Any] = {"value": "unset"}

    def skip() -> str:
        raise SkipTask("nothing to do")

    with DAG("pull_skipped") as dag:
        skipped = PythonOperator(task_id="skipped", python_callable=skip)
        reader = PythonOperator(
            task_id="reader",
            python_callable=lambda ti: seen.update(value=ti.xcom_pull(task_ids="skipped")),
            trigger_rule="all_done",
        )
        skipped >> reader
    result = dag.test()
    assert result.task_states == {"skipped": K, "reader": S}
    assert seen["value"] is None
    assert result.output("skipped") is None


def test_xcom_pull_from_a_skipped_branch_in_taskflow_gives_none() -> None:
    with DAG("flow_skipped") as dag:

        @task.branch
        def pick() -> str:
            return "other"

        @task
        def produce() -> int:
            return 1

        @task(trigger_rule="none_failed")
        def consume(value: int | None) -> str:
            return f"got {value}"

        produced = produce()
        other = EmptyOperator(task_id="other")
        pick() >> [produced, other]
        consume(produced)
    result = dag.test()
    assert result.task_states["produce"] is K
    assert result.output("consume") == "got None"


# -- large values and persistence -----------------------------------------------------------

_BIG = 100 * 1024 * 1024


def _big_dag() -> DAG:
    with DAG("big_xcom") as dag:

        @task
        def make() -> bytes:
            return b"\x01" * _BIG

        @task
        def measure(blob: bytes) -> int:
            return len(blob) + blob[-1]

        measure(make())
    return dag


@pytest.fixture
def sql_storage(tmp_path: Path) -> Iterator[Storage]:
    sql = pytest.importorskip("partita.storage.sql")
    storage = sql.SqlStorage(f"sqlite:///{tmp_path / 'partita.db'}", tmp_path / "store")
    yield storage
    storage.close()


@pytest.mark.slow
def test_a_100_mb_value_passes_between_tasks_in_memory() -> None:
    result = run_dag(_big_dag(), storage=MemoryStorage())
    assert result.output("measure") == _BIG + 1


@pytest.mark.slow
def test_a_100_mb_value_passes_between_tasks_through_sql_storage(sql_storage: Storage) -> None:
    result = run_dag(_big_dag(), storage=sql_storage)
    assert result.output("measure") == _BIG + 1
    assert len(result.output("make")) == _BIG


def test_outputs_survive_a_process_restart(tmp_path: Path, sql_storage: Storage) -> None:
    with DAG("persisted") as dag:

        @task
        def train() -> dict[str, Any]:
            return {"model": "m-1", "scores": [0.5, 0.75], "blob": b"\x00" * 400_000}

        @task
        def push(ti: Any) -> None:
            ti.xcom_push(key="note", value={"ok": True})

        train() >> push()
    result = run_dag(dag, storage=sql_storage)
    assert result.success
    script = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from partita.engine.result import RunResult
        from partita.storage.sql import SqlStorage

        storage = SqlStorage(sys.argv[1], Path(sys.argv[2]))
        result = RunResult(storage, sys.argv[3])
        value = result.output("train")
        print(json.dumps({
            "state": str(result.state),
            "model": value["model"],
            "scores": value["scores"],
            "blob": len(value["blob"]),
            "note": result.output("push", key="note"),
        }))
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, f"sqlite:///{tmp_path / 'partita.db'}",
         str(tmp_path / "store"), result.run_id],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    loaded = json.loads(completed.stdout.strip().splitlines()[-1])
    assert loaded == {
        "state": "success",
        "model": "m-1",
        "scores": [0.5, 0.75],
        "blob": 400_000,
        "note": {"ok": True},
    }
