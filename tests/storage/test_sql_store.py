"""What only the SQL store does: persistence, files, error wrapping, speed, SQLAlchemy agreement."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from msgspec.structs import replace
from sqlalchemy import insert, select

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
from partita.storage.sql.models import dag_run_table, event_table, task_instance_table

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
    run = replace(run, start_date=datetime(2024, 1, 1))
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


# --- the driver-level write and read paths agree with SQLAlchemy's column types ----------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_url(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_clean_database_url"
    url: str = request.getfixturevalue(fixture)
    return url


SEOUL = datetime(2024, 11, 3, 1, 30, 15, 123456, tzinfo=ZoneInfo("Asia/Seoul"))


def test_rows_written_by_the_store_read_back_through_sqlalchemy(
    sql_url: str, tmp_path: Path
) -> None:
    run = DagRunRecord("r1", "etl", "v1", RunState.RUNNING, conf={"k": [1]}, queued_at=SEOUL)
    ti = TaskInstanceRecord("r1", "t", 3, 1, 2, TaskState.RUNNING, "op", SEOUL, None, 1.5, "h")
    event = EventRecord("r1", EventKind.LOG, SEOUL, "t", 3, 1, {"lines": [["x", "INFO", "é"]]})
    store = SqlStorage(sql_url, tmp_path / "storage")
    with store:
        store.write(WriteBatch(runs=[run], task_instances=[ti], events=[event]))
        with store.engine.connect() as connection:
            run_row = connection.execute(select(dag_run_table)).one()
            ti_row = connection.execute(select(task_instance_table)).one()
            event_row = connection.execute(select(event_table)).one()

    assert (run_row.queued_at, run_row.conf, run_row.state) == (SEOUL, {"k": [1]}, "running")
    assert (ti_row.start_date, ti_row.end_date, ti_row.duration) == (SEOUL, None, 1.5)
    assert (event_row.timestamp, event_row.payload, event_row.id) == (
        SEOUL,
        {"lines": [["x", "INFO", "é"]]},
        event.id,
    )
    for moment in (run_row.queued_at, ti_row.start_date, event_row.timestamp):
        assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)


def test_rows_written_through_sqlalchemy_read_back_through_the_store(
    sql_url: str, tmp_path: Path
) -> None:
    store = SqlStorage(sql_url, tmp_path / "storage")
    with store:
        store.write(WriteBatch(runs=[_run("r1")]))
        with store.engine.begin() as connection:
            connection.execute(
                insert(task_instance_table),
                [
                    {
                        "run_id": "r1",
                        "task_id": "t",
                        "map_index": -1,
                        "try_number": 2,
                        "max_tries": 3,
                        "state": "up_for_retry",
                        "operator": "op",
                        "start_date": SEOUL,
                        "retry_at": SEOUL + timedelta(minutes=5),
                    }
                ],
            )
            connection.execute(
                insert(event_table),
                [
                    {
                        "run_id": "r1",
                        "task_id": None,
                        "map_index": -1,
                        "try_number": 0,
                        "kind": "run_state",
                        "timestamp": SEOUL,
                        "payload": {"state": "failed"},
                    }
                ],
            )
        (ti,) = store.runs.get_task_instances("r1")
        (event,) = store.events.read_events("r1")

    assert (ti.state, ti.try_number, ti.start_date, ti.end_date) == (
        TaskState.UP_FOR_RETRY,
        2,
        SEOUL,
        None,
    )
    assert ti.retry_at == SEOUL + timedelta(minutes=5)
    assert (event.kind, event.timestamp, event.payload) == (
        EventKind.RUN_STATE,
        SEOUL,
        {"state": "failed"},
    )
    for moment in (ti.start_date, ti.retry_at, event.timestamp):
        assert moment is not None and moment.tzinfo is UTC


def test_sqlite_stores_times_as_utc_text_in_sqlalchemys_format(
    sqlite_url: str, tmp_path: Path
) -> None:
    on_the_hour = datetime(2024, 1, 1, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
    ti = TaskInstanceRecord("r1", "t", start_date=SEOUL, end_date=on_the_hour)
    store = SqlStorage(sqlite_url, tmp_path / "storage")
    with store:
        store.write(WriteBatch(runs=[_run("r1")], task_instances=[ti]))
        with store.engine.connect() as connection:
            stored = connection.exec_driver_sql(
                "SELECT start_date, end_date FROM task_instance"
            ).one()
    assert tuple(stored) == ("2024-11-02 16:30:15.123456", "2024-01-01 08:00:00.000000")


def test_a_circular_payload_is_a_storage_error(sqlite_url: str, tmp_path: Path) -> None:
    payload: dict[str, object] = {}
    payload["self"] = payload
    with (
        SqlStorage(sqlite_url, tmp_path / "storage") as store,
        pytest.raises(StorageError, match=r"could not write a batch of run 'r1'.*Circular"),
    ):
        store.write(WriteBatch(events=[EventRecord("r1", EventKind.LOG, T0, payload=payload)]))


@pytest.mark.postgres
def test_a_failing_event_copy_on_postgres_writes_nothing(
    pg_clean_database_url: str, tmp_path: Path
) -> None:
    out_of_range = 2**40  # map indexes are INTEGER: the COPY fails on the second row
    events = [
        EventRecord("r1", EventKind.LOG, T0, "ok"),
        EventRecord("r1", EventKind.LOG, T0, "bad", map_index=out_of_range),
    ]
    with SqlStorage(pg_clean_database_url, tmp_path / "storage") as store:
        with pytest.raises(StorageError, match=r"could not write a batch of run 'r1'.*range"):
            store.write(WriteBatch(runs=[_run("r1")], events=events))
        assert store.events.read_events("r1") == []
        assert store.runs.list_runs() == []
        assert events[0].id is None
        store.write(WriteBatch(runs=[_run("r1")], events=events[:1]))
        assert [e.task_id for e in store.events.read_events("r1")] == ["ok"]
