"""What only the SQL store does: persistence, files for large outputs, error wrapping, speed."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from partita.definitions.states import RunState, TaskState
from partita.exceptions import StorageError
from partita.settings import load_settings
from partita.storage.factory import open_storage, open_storage_url
from partita.storage.records import (
    DagRunRecord,
    EventKind,
    EventRecord,
    TaskInstanceRecord,
    WriteBatch,
)
from partita.storage.sql import SqlStorage

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _run(run_id: str) -> DagRunRecord:
    return DagRunRecord(run_id, "etl", "v1", RunState.RUNNING, queued_at=T0)


def test_what_is_written_survives_reopening(sqlite_url: str, tmp_path: Path) -> None:
    with SqlStorage(sqlite_url, tmp_path / "storage") as store:
        assert store.persistent
        big = store.outputs.encode("r1", "t", -1, "return_value", "x" * 300_000)
        store.write(WriteBatch(runs=[_run("r1")], outputs=[big]))

    with open_storage_url(sqlite_url, tmp_path / "storage") as reopened:
        assert reopened.runs.get_run("r1").state is RunState.RUNNING
        record = reopened.outputs.get_record("r1", "t", -1, "return_value")
        assert record is not None
        assert reopened.outputs.load(record) == "x" * 300_000


def test_open_storage_uses_the_settings(tmp_path: Path) -> None:
    settings = load_settings(env={"PARTITA_INLINE_OUTPUT_LIMIT": "10"}, cwd=tmp_path)
    with open_storage(settings) as store:
        assert isinstance(store, SqlStorage)
        record = store.outputs.encode("r1", "t", -1, "k", "more than ten bytes")
    assert (tmp_path / ".partita" / "partita.db").is_file()
    assert Path(record.location).is_relative_to(tmp_path / ".partita" / "storage" / "outputs")


def test_a_missing_output_file_is_a_storage_error(sqlite_url: str, tmp_path: Path) -> None:
    with SqlStorage(sqlite_url, tmp_path / "storage", inline_output_limit=0) as store:
        record = store.outputs.encode("r1", "load", 2, "rows", [1, 2, 3])
        Path(record.location).unlink()
        with pytest.raises(StorageError) as caught:
            store.outputs.load(record)
    message = str(caught.value)
    for part in ("'rows'", "'r1'", "'load'", "map index 2", record.location, "missing"):
        assert part in message


def test_output_paths_stay_inside_the_storage_folder(sqlite_url: str, tmp_path: Path) -> None:
    root = tmp_path / "storage"
    with SqlStorage(sqlite_url, root, inline_output_limit=0) as store:
        record = store.outputs.encode("../..", "group/../task", -1, "..", b"data")
        store.write(WriteBatch(outputs=[record]))
        assert store.outputs.load(record) == b"data"
    path = Path(record.location).resolve()
    assert path.is_relative_to(root / "outputs")
    assert len(path.relative_to(root / "outputs").parts) == 4


def test_an_unpicklable_output_is_a_storage_error(sqlite_url: str, tmp_path: Path) -> None:
    with (
        SqlStorage(sqlite_url, tmp_path / "storage") as store,
        pytest.raises(StorageError, match=r"task 't'.*output 'k'.*cannot be pickled"),
    ):
        store.outputs.encode("r1", "t", -1, "k", threading.Lock())


def test_a_naive_datetime_is_refused_with_the_reason(sqlite_url: str, tmp_path: Path) -> None:
    run = _run("r1")
    run.start_date = datetime(2024, 1, 1)
    with (
        SqlStorage(sqlite_url, tmp_path / "storage") as store,
        pytest.raises(StorageError, match=r"could not write a batch of run 'r1'.*naive"),
    ):
        store.write(WriteBatch(runs=[run]))


def test_an_unreachable_database_is_a_storage_error_without_the_password(tmp_path: Path) -> None:
    url = "postgresql://partita:s3cret@127.0.0.1:1/partita?connect_timeout=2"
    with pytest.raises(StorageError) as caught:
        SqlStorage(url, tmp_path / "storage")
    message = str(caught.value)
    assert "postgresql+psycopg://partita:***@127.0.0.1:1/partita" in message
    assert "s3cret" not in message
    assert "read the schema revision" in message


def test_event_payloads_keep_json_values_and_stringify_the_rest(
    sqlite_url: str, tmp_path: Path
) -> None:
    payload = {"retry_at": T0, "state": TaskState.RUNNING, "path": Path("/x"), "n": [1, 2.5]}
    with SqlStorage(sqlite_url, tmp_path / "storage") as store:
        store.write(WriteBatch(events=[EventRecord("r1", EventKind.RETRY, T0, payload=payload)]))
        (event,) = store.events.read_events("r1")
    assert event.payload == {
        "retry_at": "2024-01-01T00:00:00+00:00",
        "state": "running",
        "path": "/x",
        "n": [1, 2.5],
    }


def test_concurrent_writers_on_sqlite_all_succeed(sqlite_url: str, tmp_path: Path) -> None:
    with SqlStorage(sqlite_url, tmp_path / "storage") as store:
        store.write(WriteBatch(runs=[_run(f"r{n}") for n in range(4)]))
        errors: list[BaseException] = []

        def writer(n: int) -> None:
            try:
                for i in range(25):
                    ti = TaskInstanceRecord(f"r{n}", f"t{i}", state=TaskState.SUCCESS)
                    event = EventRecord(f"r{n}", EventKind.TASK_STATE, T0, f"t{i}")
                    store.write(WriteBatch(task_instances=[ti], events=[event]))
            except BaseException as exc:  # collected and re-raised by the test thread
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert all(len(store.runs.get_task_instances(f"r{n}")) == 25 for n in range(4))


def test_batched_writes_are_fast_on_sqlite(sqlite_url: str, tmp_path: Path) -> None:
    tasks, batch_size = 2_000, 500
    with SqlStorage(sqlite_url, tmp_path / "storage") as store:
        store.write(WriteBatch(runs=[_run("r1")]))
        batches = []
        for start in range(0, tasks, batch_size):
            batch = WriteBatch()
            for i in range(start, start + batch_size):
                batch.task_instances.append(
                    TaskInstanceRecord("r1", f"t{i}", -1, 1, 1, TaskState.SUCCESS, "op", T0, T0)
                )
                batch.events.extend(
                    EventRecord("r1", EventKind.TASK_STATE, T0, f"t{i}", payload={"state": s})
                    for s in ("running", "success")
                )
            batches.append(batch)
        started = time.perf_counter()
        for batch in batches:
            store.write(batch)
        elapsed = time.perf_counter() - started
        assert len(store.events.read_events("r1")) == 2 * tasks
    # ~0.1 ms per task on a laptop; the bound only catches a fall back to row-at-a-time writes.
    assert elapsed < 2.0, f"{tasks} tasks took {elapsed:.2f} s"
