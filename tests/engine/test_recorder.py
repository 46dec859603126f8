"""What the run recorder guarantees on a persistent store, seen from inside running tasks.

Each task looks at the metadata database through a second connection, as
another process would: its upstream tasks' ends are already committed, and it
is itself shown as running while it runs.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from partita import DAG, PythonOperator
from partita.definitions.states import RunState, TaskState
from partita.exceptions import StorageError
from partita.executors.in_process import run_dag
from partita.storage.group_commit import GroupCommitWriter
from partita.storage.records import DagRunRecord, TaskInstanceRecord, WriteBatch
from partita.storage.sql import SqlStorage


def states_seen_from_outside(url: str, storage_dir: Path) -> dict[str, TaskState]:
    with SqlStorage(url, storage_dir) as other:
        [run] = other.runs.list_runs()
        return {ti.task_id: ti.state for ti in other.runs.get_task_instances(run.run_id)}


def test_a_task_starts_only_after_its_upstream_end_is_committed(
    sqlite_url: str, tmp_path: Path
) -> None:
    seen: list[dict[str, TaskState]] = []

    def look() -> None:
        seen.append(states_seen_from_outside(sqlite_url, tmp_path / "storage"))

    with DAG("chain") as dag:
        first = PythonOperator(task_id="first", python_callable=lambda: None)
        second = PythonOperator(task_id="second", python_callable=look)
        first >> second

    with SqlStorage(sqlite_url, tmp_path / "storage") as storage:
        assert run_dag(dag, storage=storage).success
    assert seen[0]["first"] is TaskState.SUCCESS


def test_a_running_task_is_committed_as_running_within_moments(
    sqlite_url: str, tmp_path: Path
) -> None:
    waited: list[float] = []

    def wait_to_be_seen_running() -> None:
        start = time.monotonic()
        while time.monotonic() - start < 5:
            if states_seen_from_outside(sqlite_url, tmp_path / "storage")["slow"] == "running":
                waited.append(time.monotonic() - start)
                return
            time.sleep(0.01)

    with DAG("slow") as dag:
        before = PythonOperator(task_id="before", python_callable=lambda: None)
        slow = PythonOperator(task_id="slow", python_callable=wait_to_be_seen_running)
        other = PythonOperator(task_id="other", python_callable=lambda: None)
        [before, other]  # noqa: B018 - independent of "slow"
        before >> slow

    with SqlStorage(sqlite_url, tmp_path / "storage") as storage:
        result = run_dag(dag, storage=storage)
    assert result.success
    assert waited and waited[0] < 1.0


def test_the_run_heartbeat_is_renewed_while_it_runs(sqlite_url: str, tmp_path: Path) -> None:
    with SqlStorage(sqlite_url, tmp_path / "storage") as storage:
        run = DagRunRecord("r1", "d", "v", RunState.RUNNING)
        storage.write(WriteBatch(runs=[run]))
        beats: list[bool] = []

        def beat() -> None:
            beats.append(storage.heartbeat("r1", datetime.now(UTC)))

        writer = GroupCommitWriter(storage, beat=beat, heartbeat_interval=0.02)
        time.sleep(0.3)
        writer.close()
        assert len(beats) >= 3 and all(beats)
        assert storage.runs.get_run("r1").heartbeat_at is not None


def test_batches_queued_together_are_committed_together(sqlite_url: str, tmp_path: Path) -> None:
    with SqlStorage(sqlite_url, tmp_path / "storage") as storage:
        writer = GroupCommitWriter(storage, interval=0.2)
        seqs = [
            writer.submit(WriteBatch(runs=[DagRunRecord(f"r{i}", "d", "v", RunState.RUNNING)]))
            for i in range(5)
        ]
        writer.wait(seqs[-1])
        writer.close()
        assert len(storage.runs.list_runs()) == 5


def test_a_failed_commit_is_raised_to_the_waiter_and_on_close(
    sqlite_url: str, tmp_path: Path
) -> None:
    with SqlStorage(sqlite_url, tmp_path / "storage") as storage:
        writer = GroupCommitWriter(storage)
        orphan = TaskInstanceRecord("no-such-run", "t")  # the foreign key refuses it
        seq = writer.submit(WriteBatch(task_instances=[orphan]))
        with pytest.raises(StorageError, match="no-such-run"):
            writer.wait(seq)
        with pytest.raises(StorageError):
            writer.close()
