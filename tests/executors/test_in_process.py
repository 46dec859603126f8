"""The in-process executor: ``run_dag`` / ``dag.test()``, what they record and what they leave."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from partita import DAG, EmptyOperator, PythonOperator, RunState, TaskState, run_dag
from partita.exceptions import RunConfigError
from partita.storage.memory import MemoryStorage
from partita.storage.records import DagRunRecord, EventKind, TaskInstanceRecord


def build_dag(dag_id: str = "in_process") -> DAG:
    with DAG(dag_id) as dag:
        first = PythonOperator(task_id="first", python_callable=lambda: print("one") or 1)
        second = PythonOperator(task_id="second", python_callable=lambda ti: ti.xcom_pull("first"))
        first >> second
    return dag


def test_dag_test_leaves_no_files_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PARTITA_HOME", raising=False)
    dag = build_dag()

    def writes_nothing() -> None:
        import logging

        logging.getLogger("user").warning("logged, not written")

    PythonOperator(task_id="logs", python_callable=writes_nothing, dag=dag)
    result = dag.test()
    assert result.state is RunState.SUCCESS
    assert list(tmp_path.iterdir()) == []
    assert not (tmp_path / ".partita").exists()


def test_run_dag_records_into_the_given_storage() -> None:
    storage = MemoryStorage()
    result = run_dag(build_dag(), storage=storage, run_conf={"x": 1}, run_type="manual")
    (run,) = storage.runs.list_runs("in_process")
    assert run.run_id == result.run_id
    assert run.run_id.startswith("manual__")
    assert run.state is RunState.SUCCESS
    assert run.conf == {"x": 1}
    assert run.start_date is not None and run.end_date is not None
    assert {ti.task_id: ti.state for ti in storage.runs.get_task_instances(run.run_id)} == {
        "first": TaskState.SUCCESS,
        "second": TaskState.SUCCESS,
    }
    assert result.output("second") == 1


def test_dag_test_runs_are_of_type_test_and_each_has_its_own_store() -> None:
    dag = build_dag()
    one, two = dag.test(), dag.test()
    assert one.run_id != two.run_id
    assert one.run_id.startswith("test__")
    assert one.output("second") == two.output("second") == 1


def test_the_logical_date_is_part_of_the_run() -> None:
    result = build_dag().test(logical_date=datetime(2025, 1, 1, tzinfo=UTC))
    assert result.run.logical_date == datetime(2025, 1, 1, tzinfo=UTC)
    assert "2025-01-01T00:00:00+00:00" in result.run_id


def test_the_event_log_tells_the_story_of_the_run() -> None:
    storage = MemoryStorage()
    result = build_dag().test(storage=storage)
    events = storage.events.read_events(result.run_id)
    run_states = [e.payload["state"] for e in events if e.kind is EventKind.RUN_STATE]
    assert run_states == ["running", "success"]
    first = [
        e.payload["state"] for e in events
        if e.kind is EventKind.TASK_STATE and e.task_id == "first"
    ]  # fmt: skip
    assert first == ["running", "success"]
    ids = [e.id for e in events]
    assert ids == sorted(ids)
    (version,) = storage.dags.versions.values()  # type: ignore[attr-defined]
    assert version.dag_id == "in_process"
    assert [t["task_id"] for t in version.serialized["tasks"]] == ["first", "second"]


def test_a_conf_that_is_not_a_dict_is_refused_before_any_task_runs() -> None:
    storage = MemoryStorage()
    with pytest.raises(RunConfigError, match="DAG 'in_process': run conf must be a JSON object"):
        build_dag().test(run_conf=["not", "a", "dict"], storage=storage)  # type: ignore[arg-type]
    assert storage.runs.list_runs() == []


class Recorder:
    """A ``RunListener`` that keeps what it was told."""

    def __init__(self) -> None:
        self.started: list[tuple[str, int]] = []
        self.changes: list[tuple[str, TaskState]] = []
        self.finished: list[RunState] = []

    def run_started(self, run: DagRunRecord, total: int) -> None:
        self.started.append((run.dag_id, total))

    def task_changed(self, ti: TaskInstanceRecord) -> None:
        self.changes.append((ti.task_id, ti.state))

    def try_ended(self, ti: TaskInstanceRecord, outcome: object) -> None:
        pass

    def run_finished(self, run: DagRunRecord) -> None:
        self.finished.append(run.state)


def test_a_listener_sees_the_run_as_it_goes() -> None:
    listener = Recorder()
    run_dag(build_dag(), listener=listener)
    assert listener.started == [("in_process", 2)]
    assert listener.finished == [RunState.SUCCESS]
    assert ("first", TaskState.RUNNING) in listener.changes
    assert listener.changes.index(("first", TaskState.SUCCESS)) < listener.changes.index(
        ("second", TaskState.RUNNING)
    )


def test_tasks_run_in_this_process() -> None:
    seen: list[int] = []
    with DAG("same_process") as dag:
        PythonOperator(task_id="t", python_callable=lambda: seen.append(os.getpid()))
    dag.test()
    assert seen == [os.getpid()]


def test_stdout_is_restored_after_a_run() -> None:
    before = sys.stdout, sys.stderr
    with DAG("restore") as dag:
        PythonOperator(task_id="t", python_callable=lambda: print("captured"))
    dag.test()
    assert (sys.stdout, sys.stderr) == before


def test_a_wide_dag_of_300_tasks_and_a_join() -> None:
    # 300 independent tasks and a join: the driver's slices and batches handle them.
    with DAG("wide") as dag:
        join = EmptyOperator(task_id="join")
        for i in range(300):
            EmptyOperator(task_id=f"t{i}") >> join
    result = dag.test()
    assert result.state is RunState.SUCCESS
    states: dict[str, Any] = result.task_states
    assert len(states) == 301
    assert set(states.values()) == {TaskState.SUCCESS}
