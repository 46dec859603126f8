"""The storage contract: one suite that every backend passes (memory, SQLite, PostgreSQL).

A backend is correct when it behaves here exactly as ``MemoryStorage`` does;
the few places where backends differ on purpose (how outputs are kept, whether
a failed batch can be undone) branch on ``storage.persistent``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from msgspec.structs import replace

from partita.definitions.asset_key import AssetKey
from partita.definitions.states import RunState, TaskState
from partita.exceptions import RunNotFoundError, StorageError
from partita.storage.base import Storage
from partita.storage.records import (
    AssetMaterializationRecord,
    AssetPartitionStatus,
    AssetPartitionStatusRecord,
    DagRunRecord,
    DagVersionRecord,
    EventKind,
    EventRecord,
    LogLineRecord,
    TaskInstanceRecord,
    WriteBatch,
)
from storage_backends import ALL_KINDS, open_storage

T0 = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
INLINE_LIMIT = 1024


@pytest.fixture(params=ALL_KINDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    with open_storage(request.param, request, tmp_path, inline_output_limit=INLINE_LIMIT) as store:
        yield store


def make_run(run_id: str, dag_id: str = "etl", **changes: object) -> DagRunRecord:
    return replace(DagRunRecord(run_id, dag_id, "v1", RunState.QUEUED, queued_at=T0), **changes)


def make_event(
    run_id: str, kind: EventKind, task_id: str | None = None, **rest: Any
) -> EventRecord:
    return EventRecord(run_id, kind, T0, task_id, **rest)


# --- runs ------------------------------------------------------------------------------


def test_get_run_returns_every_field(storage: Storage) -> None:
    run = DagRunRecord(
        run_id="r1",
        dag_id="etl",
        dag_version="abc123",
        state=RunState.RUNNING,
        run_type="scheduled",
        logical_date=T0,
        data_interval_start=T0 - timedelta(days=1),
        data_interval_end=T0,
        conf={"limit": 3, "tables": ["a", "b"], "nested": {"x": None}},
        queued_at=T0,
        start_date=T0 + timedelta(seconds=1),
        end_date=None,
        hostname="worker-1",
        pid=4242,
        cancel_requested_at=T0 + timedelta(seconds=2),
        cancel_grace=3.5,
        partition_key="2024-03-09|eu",
        tags={"team": "data", "priority": "high"},
    )
    storage.write(WriteBatch(runs=[run]))

    got = storage.runs.get_run("r1")
    assert got == run
    assert isinstance(got.state, RunState)


def test_get_unknown_run_raises_run_not_found(storage: Storage) -> None:
    with pytest.raises(RunNotFoundError, match="no run with id 'missing'; 'partita runs list'"):
        storage.runs.get_run("missing")


def test_writing_a_run_again_updates_it(storage: Storage) -> None:
    storage.write(WriteBatch(runs=[make_run("r1")]))
    storage.write(WriteBatch(runs=[make_run("r1", state=RunState.SUCCESS, end_date=T0)]))

    got = storage.runs.get_run("r1")
    assert (got.state, got.end_date) == (RunState.SUCCESS, T0)
    assert len(storage.runs.list_runs()) == 1


def test_a_cancel_request_is_recorded_only_on_a_running_run(storage: Storage) -> None:
    storage.write(WriteBatch(runs=[make_run("r1", state=RunState.RUNNING), make_run("r2")]))

    assert storage.request_cancel("r1", T0, 2.5) is True
    assert storage.request_cancel("r2", T0, 2.5) is False  # queued: nothing to ask an owner
    assert storage.request_cancel("missing", T0, 2.5) is False

    run = storage.runs.get_run("r1")
    assert (run.state, run.cancel_requested_at, run.cancel_grace) == (RunState.RUNNING, T0, 2.5)
    assert storage.runs.get_run("r2").cancel_requested_at is None
    (event,) = storage.events.read_events("r1", kinds=[EventKind.CANCEL_REQUESTED])
    assert event.payload == {"grace": 2.5}
    assert storage.events.read_events("r2") == []


def test_list_runs_is_newest_first(storage: Storage) -> None:
    runs = [make_run(f"r{i}", queued_at=T0 + timedelta(minutes=i)) for i in range(6)]
    runs.append(make_run("never-queued", queued_at=None))
    runs.append(make_run("r5-tie", queued_at=T0 + timedelta(minutes=5)))
    random.Random(7).shuffle(runs)
    for run in runs:
        storage.write(WriteBatch(runs=[run]))

    ids = [r.run_id for r in storage.runs.list_runs()]
    assert ids == ["r5-tie", "r5", "r4", "r3", "r2", "r1", "r0", "never-queued"]


def test_runs_at_finds_a_dags_runs_by_logical_date_newest_first(storage: Storage) -> None:
    day = timedelta(days=1)
    storage.write(
        WriteBatch(
            runs=[
                make_run("d0", logical_date=T0, queued_at=T0),
                make_run("d0-again", logical_date=T0, queued_at=T0 + day),
                make_run("d1", logical_date=T0 + day, queued_at=T0),
                make_run("d2", logical_date=T0 + 2 * day, queued_at=T0),
                make_run("other", "other_dag", logical_date=T0, queued_at=T0),
            ]
        )
    )

    found = storage.runs.runs_at("etl", [T0, T0 + day])
    assert [r.run_id for r in found] == ["d0-again", "d1", "d0"]
    assert [r.run_id for r in storage.runs.runs_at("etl", [T0 + 5 * day])] == []
    assert storage.runs.runs_at("etl", []) == []
    assert [r.run_id for r in storage.runs.runs_at("other_dag", [T0])] == ["other"]


def test_list_runs_filters_by_dag_states_and_limit(storage: Storage) -> None:
    storage.write(
        WriteBatch(
            runs=[
                make_run("a1", "a", queued_at=T0, state=RunState.SUCCESS),
                make_run("a2", "a", queued_at=T0 + timedelta(1), state=RunState.FAILED),
                make_run("a3", "a", queued_at=T0 + timedelta(2), state=RunState.RUNNING),
                make_run("b1", "b", queued_at=T0 + timedelta(3), state=RunState.FAILED),
            ]
        )
    )
    list_runs = storage.runs.list_runs

    assert [r.run_id for r in list_runs("a")] == ["a3", "a2", "a1"]
    assert [r.run_id for r in list_runs(states=[RunState.FAILED])] == ["b1", "a2"]
    finished = {RunState.SUCCESS, RunState.FAILED}
    assert [r.run_id for r in list_runs("a", states=finished)] == ["a2", "a1"]
    assert [r.run_id for r in list_runs(limit=2)] == ["b1", "a3"]
    assert list_runs("nope") == []
    assert list_runs(states=[]) == []


# --- task instances --------------------------------------------------------------------


def test_task_instance_upsert_updates_the_row(storage: Storage) -> None:
    ti = TaskInstanceRecord("r1", "load", try_number=1, max_tries=3, state=TaskState.RUNNING)
    storage.write(WriteBatch(runs=[make_run("r1")], task_instances=[ti]))
    retried = TaskInstanceRecord(
        "r1",
        "load",
        try_number=2,
        max_tries=3,
        state=TaskState.UP_FOR_RETRY,
        operator="PythonOperator",
        start_date=T0,
        end_date=T0 + timedelta(seconds=2),
        duration=2.0,
        hostname="worker-2",
        retry_at=T0 + timedelta(minutes=5),
    )
    storage.write(WriteBatch(task_instances=[retried]))

    assert storage.runs.get_task_instances("r1") == [retried]
    assert isinstance(storage.runs.get_task_instances("r1")[0].state, TaskState)


def test_a_task_instance_try_is_claimed_once(storage: Storage) -> None:
    queued = TaskInstanceRecord("r1", "load", try_number=2, max_tries=3, state=TaskState.QUEUED)
    storage.write(WriteBatch(runs=[make_run("r1")], task_instances=[queued]))

    assert storage.claim_task_instance("r1", "load", -1, 2, "node-a", T0)
    assert not storage.claim_task_instance("r1", "load", -1, 2, "node-b", T0)  # claimed
    [ti] = storage.runs.get_task_instances("r1")
    assert (ti.state, ti.try_number, ti.hostname, ti.start_date) == (
        TaskState.RUNNING, 2, "node-a", T0,
    )  # fmt: skip
    storage.write(WriteBatch(task_instances=[queued]))  # a late write of the queued row
    assert storage.runs.get_task_instances("r1") == [queued]
    assert not storage.claim_task_instance("r1", "load", -1, 2, "node-b", T0)  # still claimed
    assert not storage.claim_task_instance("r1", "load", -1, 1, "node-b", T0)  # an older try
    assert storage.task_instance_claims("r1") == {("load", -1): (2, "node-a")}
    assert storage.claim_task_instance("r1", "load", -1, 3, "node-b", T0)  # a newer try
    assert storage.task_instance_claims("r1") == {("load", -1): (3, "node-b")}
    assert not storage.claim_task_instance("r1", "other", -1, 1, "node-b", T0)  # no row
    assert storage.task_instance_claims("r2") == {}


def test_a_try_end_is_written_only_while_it_is_the_claimed_and_newest_try(
    storage: Storage,
) -> None:
    queued = TaskInstanceRecord("r1", "load", try_number=1, max_tries=3, state=TaskState.QUEUED)
    storage.write(WriteBatch(runs=[make_run("r1")], task_instances=[queued]))

    def end(try_number: int) -> WriteBatch:
        row = replace(queued, try_number=try_number).finished(
            TaskState.SUCCESS, T0, T0, 0.0, "node-a"
        )
        event = EventRecord("r1", EventKind.TASK_REPORTED, T0, "load", -1, try_number, {})
        return WriteBatch(task_instances=[row], events=[event])

    assert not storage.write_if_claimed(end(1), "r1", "load", -1, 1)  # not claimed yet
    assert storage.claim_task_instance("r1", "load", -1, 1, "node-a", T0)
    # the run was resumed meanwhile: a new try is handed out (queued, not claimed yet)
    storage.write(WriteBatch(task_instances=[replace(queued, try_number=2)]))
    assert not storage.write_if_claimed(end(1), "r1", "load", -1, 1)  # the old try ends late
    [ti] = storage.runs.get_task_instances("r1")
    assert (ti.state, ti.try_number) == (TaskState.QUEUED, 2)
    assert storage.events.read_events("r1", kinds=[EventKind.TASK_REPORTED]) == []
    assert storage.claim_task_instance("r1", "load", -1, 2, "node-b", T0)
    assert storage.write_if_claimed(end(2), "r1", "load", -1, 2)
    [ti] = storage.runs.get_task_instances("r1")
    assert (ti.state, ti.try_number) == (TaskState.SUCCESS, 2)
    [event] = storage.events.read_events("r1", kinds=[EventKind.TASK_REPORTED])
    assert event.try_number == 2 and event.id is not None
    assert not storage.write_if_claimed(end(2), "r1", "other", -1, 2)  # no such instance


def test_task_instances_are_ordered_by_task_then_map_index(storage: Storage) -> None:
    keys = [("b", -1), ("a", 10), ("a", 2), ("a", 0), ("c", 1), ("a", 1), ("c", 0)]
    tis = [TaskInstanceRecord("r1", task, index) for task, index in keys]
    storage.write(WriteBatch(runs=[make_run("r1"), make_run("r2")], task_instances=tis))
    storage.write(WriteBatch(task_instances=[TaskInstanceRecord("r2", "other")]))

    got = [ti.key for ti in storage.runs.get_task_instances("r1")]
    assert got == [("a", 0), ("a", 1), ("a", 2), ("a", 10), ("b", -1), ("c", 0), ("c", 1)]
    assert storage.runs.get_task_instances("unknown-run") == []


def test_the_last_copy_of_a_task_instance_in_a_batch_wins(storage: Storage) -> None:
    queued = TaskInstanceRecord("r1", "t", state=TaskState.QUEUED)
    running = TaskInstanceRecord("r1", "t", try_number=1, state=TaskState.RUNNING)
    storage.write(
        WriteBatch(runs=[make_run("r1"), make_run("r1")], task_instances=[queued, running])
    )

    assert storage.runs.get_task_instances("r1") == [running]


def test_the_last_copy_wins_across_a_large_batch(storage: Storage) -> None:
    # Large enough that SQL stores split the rows over several statements.
    tis: list[TaskInstanceRecord] = []
    for try_number in (1, 2, 3):
        tis.extend(
            TaskInstanceRecord("r1", "t", index, try_number, state=TaskState.RUNNING)
            for index in range(250)
        )
    tis[-1] = TaskInstanceRecord("r1", "t", 249, 4, state=TaskState.SUCCESS)
    storage.write(WriteBatch(runs=[make_run("r1")], task_instances=tis))

    got = storage.runs.get_task_instances("r1")
    assert [ti.map_index for ti in got] == list(range(250))
    assert [ti.try_number for ti in got] == [3] * 249 + [4]
    assert got[-1].state is TaskState.SUCCESS


# --- events ----------------------------------------------------------------------------


def _write_sample_events(storage: Storage) -> list[EventRecord]:
    events = [
        make_event("r1", EventKind.RUN_STATE, payload={"state": "running"}),
        make_event("r1", EventKind.TASK_STATE, "extract", payload={"state": "running"}),
        make_event("r1", EventKind.LOG, "extract", payload={"level": "info", "message": "hi"}),
        make_event("r1", EventKind.TASK_STATE, "load", map_index=0, try_number=1),
        make_event("r1", EventKind.TASK_STATE, "load", map_index=1, try_number=1),
        make_event("r1", EventKind.TASK_ERROR, "load", map_index=1, payload={"error": "boom"}),
        make_event("r1", EventKind.RUN_STATE, payload={"state": "failed"}),
    ]
    storage.write(WriteBatch(runs=[make_run("r1")], events=events[:3]))
    storage.write(WriteBatch(events=[make_event("r2", EventKind.LOG, "extract")]))
    storage.write(WriteBatch(events=events[3:]))
    return events


def test_events_are_appended_in_order_with_increasing_ids(storage: Storage) -> None:
    written = _write_sample_events(storage)

    events = storage.events.read_events("r1")
    assert [(e.kind, e.task_id, e.map_index, e.payload) for e in events] == [
        (e.kind, e.task_id, e.map_index, e.payload) for e in written
    ]
    ids = [e.id for e in events]
    assert all(isinstance(i, int) for i in ids)
    assert ids == sorted(i for i in ids if i is not None) and len(set(ids)) == len(ids)
    assert [e.id for e in written] == ids
    assert all(isinstance(e.kind, EventKind) and e.timestamp == T0 for e in events)
    assert storage.events.read_events("no-such-run") == []


def test_event_ids_follow_the_order_of_a_large_batch(storage: Storage) -> None:
    events = [make_event("r1", EventKind.LOG, f"t{i % 7}", payload={"n": i}) for i in range(2500)]
    storage.write(WriteBatch(events=events))

    stored = storage.events.read_events("r1")
    assert [e.payload["n"] for e in stored] == list(range(2500))
    assert [e.id for e in stored] == [e.id for e in events]


def test_read_events_filters(storage: Storage) -> None:
    _write_sample_events(storage)
    read = storage.events.read_events

    def shape(events: list[EventRecord]) -> list[tuple[str, str | None, int]]:
        return [(e.kind.value, e.task_id, e.map_index) for e in events]

    assert shape(read("r1", task_id="extract")) == [
        ("task_state", "extract", -1),
        ("log", "extract", -1),
    ]
    assert shape(read("r1", map_index=1)) == [("task_state", "load", 1), ("task_error", "load", 1)]
    assert shape(read("r1", task_id="load", map_index=0)) == [("task_state", "load", 0)]
    assert shape(read("r1", kinds=[EventKind.RUN_STATE, EventKind.TASK_ERROR])) == [
        ("run_state", None, -1),
        ("task_error", "load", 1),
        ("run_state", None, -1),
    ]
    all_events = read("r1")
    after = read("r1", after_id=all_events[3].id)
    assert after == all_events[4:]
    assert read("r1", after_id=all_events[-1].id) == []
    assert shape(
        read("r1", task_id="load", kinds=[EventKind.TASK_STATE], after_id=all_events[3].id)
    ) == [("task_state", "load", 1)]
    assert read("r1", kinds=[]) == []


# --- outputs ---------------------------------------------------------------------------


def test_small_output_round_trip(storage: Storage) -> None:
    value = {"rows": [1, 2, 3], "when": T0}
    record = storage.outputs.encode("r1", "extract", -1, "return_value", value)
    storage.write(WriteBatch(runs=[make_run("r1")], outputs=[record]))

    stored = storage.outputs.get_record("r1", "extract", -1, "return_value")
    assert stored is not None
    assert (stored.run_id, stored.task_id, stored.map_index, stored.key) == (
        "r1",
        "extract",
        -1,
        "return_value",
    )
    assert storage.outputs.load(stored) == value
    if storage.persistent:
        assert stored.location == "inline"
        assert stored.size == len(stored.payload or b"") > 0


def test_large_output_round_trip(storage: Storage, tmp_path: Path) -> None:
    value = bytes(range(256)) * (4 * INLINE_LIMIT)
    record = storage.outputs.encode("r1", "big", 3, "return_value", value)
    storage.write(WriteBatch(outputs=[record]))

    stored = storage.outputs.get_record("r1", "big", 3, "return_value")
    assert stored is not None
    loaded = storage.outputs.load(stored)
    if storage.persistent:
        assert loaded == value
        assert stored.payload is None and stored.size > INLINE_LIMIT
        path = Path(stored.location)
        assert path.is_file() and path.is_relative_to(tmp_path / "storage")
        assert path.name == "return_value.pkl"
    else:
        assert loaded is value


def test_outputs_are_upserted_listed_and_missing_ones_are_none(storage: Storage) -> None:
    outputs = storage.outputs
    first = outputs.encode("r1", "t", -1, "return_value", 1)
    storage.write(WriteBatch(outputs=[first]))
    storage.write(
        WriteBatch(
            outputs=[
                outputs.encode("r1", "t", -1, "return_value", 2),
                outputs.encode("r1", "t", 0, "extra", "x"),
                outputs.encode("r1", "a", 5, "return_value", "y"),
                outputs.encode("r2", "t", -1, "return_value", "other run"),
            ]
        )
    )

    stored = outputs.get_record("r1", "t", -1, "return_value")
    assert stored is not None and outputs.load(stored) == 2
    listed = outputs.list_records("r1")
    assert [(r.task_id, r.map_index, r.key) for r in listed] == [
        ("a", 5, "return_value"),
        ("t", -1, "return_value"),
        ("t", 0, "extra"),
    ]
    assert [outputs.load(r) for r in listed] == ["y", 2, "x"]
    assert outputs.get_record("r1", "t", -1, "missing") is None
    assert outputs.list_records("no-such-run") == []


# --- DAG versions ----------------------------------------------------------------------


def test_dag_versions_are_inserted_only_if_absent(storage: Storage) -> None:
    first = DagVersionRecord("etl", "h1", {"tasks": ["a", "b"]}, created_at=T0)
    storage.write(WriteBatch(dag_versions=[first]))
    again = DagVersionRecord("etl", "h1", {"tasks": ["changed"]}, created_at=T0 + timedelta(1))
    other = DagVersionRecord("etl", "h2", {"tasks": ["a"]}, created_at=None)
    storage.write(WriteBatch(dag_versions=[again, other, again]))

    assert storage.dags.get_dag_version("etl", "h1") == first
    assert storage.dags.get_dag_version("etl", "h2") == other
    assert storage.dags.get_dag_version("etl", "h3") is None
    assert storage.dags.get_dag_version("other", "h1") is None


# --- transactions and time -------------------------------------------------------------


def test_a_failing_batch_writes_nothing(storage: Storage) -> None:
    storage.write(WriteBatch(runs=[make_run("r0")]))
    bad = WriteBatch(
        runs=[make_run("r1")],
        task_instances=[TaskInstanceRecord("r1", "ok"), TaskInstanceRecord("ghost-run", "t")],
        events=[make_event("r1", EventKind.LOG)],
        dag_versions=[DagVersionRecord("etl", "h1", {})],
    )

    with pytest.raises(StorageError, match="could not write a batch"):
        storage.write(bad)

    with pytest.raises(RunNotFoundError):
        storage.runs.get_run("r1")
    assert storage.runs.get_task_instances("r1") == []
    assert storage.events.read_events("r1") == []
    assert storage.dags.get_dag_version("etl", "h1") is None
    assert bad.events[0].id is None
    assert [r.run_id for r in storage.runs.list_runs()] == ["r0"]


def test_empty_batch_is_a_no_op(storage: Storage) -> None:
    storage.write(WriteBatch())
    assert storage.runs.list_runs() == []


def test_aware_datetimes_round_trip_equal(storage: Storage) -> None:
    seoul = datetime(2024, 11, 3, 1, 30, 15, 123456, tzinfo=ZoneInfo("Asia/Seoul"))
    new_york = datetime(2024, 7, 4, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    run = make_run("r1", logical_date=seoul, queued_at=new_york, start_date=T0)
    ti = TaskInstanceRecord("r1", "t", start_date=seoul, retry_at=new_york)
    event = replace(make_event("r1", EventKind.LOG), timestamp=seoul)
    storage.write(WriteBatch(runs=[run], task_instances=[ti], events=[event]))

    got = storage.runs.get_run("r1")
    got_ti = storage.runs.get_task_instances("r1")[0]
    got_event = storage.events.read_events("r1")[0]
    assert (got.logical_date, got.queued_at, got.start_date) == (seoul, new_york, T0)
    assert (got_ti.start_date, got_ti.retry_at) == (seoul, new_york)
    assert got_event.timestamp == seoul
    for moment in (got.logical_date, got.queued_at, got_ti.start_date, got_event.timestamp):
        assert moment is not None and moment.utcoffset() is not None


# --- heartbeats and compare-and-set (crash recovery) -----------------------------------


def test_a_heartbeat_is_recorded_only_while_the_run_runs(storage: Storage) -> None:
    storage.write(WriteBatch(runs=[make_run("r1", state=RunState.RUNNING, heartbeat_at=T0)]))
    storage.write(WriteBatch(runs=[make_run("r2", state=RunState.SUCCESS, heartbeat_at=T0)]))
    later = T0 + timedelta(seconds=5)

    assert storage.heartbeat("r1", later) is True
    assert storage.heartbeat("r2", later) is False
    assert storage.heartbeat("unknown", later) is False
    assert storage.runs.get_run("r1").heartbeat_at == later
    assert storage.runs.get_run("r2").heartbeat_at == T0


def test_write_if_unchanged_applies_once_for_the_same_view(storage: Storage) -> None:
    storage.write(WriteBatch(runs=[make_run("r1", state=RunState.RUNNING, heartbeat_at=T0)]))
    seen = storage.runs.get_run("r1")

    def failure(message: str) -> WriteBatch:
        return WriteBatch(
            runs=[make_run("r1", state=RunState.FAILED, heartbeat_at=T0, end_date=T0)],
            events=[make_event("r1", EventKind.RUN_STATE, payload={"message": message})],
        )

    assert storage.write_if_unchanged(failure("first"), seen=seen) is True
    assert storage.write_if_unchanged(failure("second"), seen=seen) is False
    assert storage.runs.get_run("r1").state is RunState.FAILED
    events = storage.events.read_events("r1", kinds=[EventKind.RUN_STATE])
    assert [e.payload["message"] for e in events] == ["first"]


def test_write_if_unchanged_refuses_after_a_new_heartbeat(storage: Storage) -> None:
    storage.write(WriteBatch(runs=[make_run("r1", state=RunState.RUNNING)]))
    seen = storage.runs.get_run("r1")  # no heartbeat yet: NULL compares too
    assert storage.heartbeat("r1", T0)

    stale = WriteBatch(runs=[make_run("r1", state=RunState.FAILED)])
    assert storage.write_if_unchanged(stale, seen=seen) is False
    assert storage.runs.get_run("r1").state is RunState.RUNNING
    fresh = storage.runs.get_run("r1")
    assert storage.write_if_unchanged(stale, seen=fresh) is True
    assert storage.runs.get_run("r1").state is RunState.FAILED


# --- log lines -------------------------------------------------------------------------


def make_lines(
    count: int, *, start: int = 0, task_id: str = "t", try_number: int = 1, map_index: int = -1
) -> list[LogLineRecord]:
    return [
        LogLineRecord("r1", task_id, map_index, try_number, seq, T0, "INFO", f"line {seq}")
        for seq in range(start, start + count)
    ]


def test_log_lines_read_back_by_range_tail_and_cursor(storage: Storage) -> None:
    storage.write(WriteBatch(runs=[make_run("r1")], log_lines=make_lines(40)))
    storage.write(WriteBatch(log_lines=make_lines(10, start=40)))
    logs = storage.logs

    every = logs.read_lines("r1", "t", -1, 1)
    assert [line.seq for line in every] == list(range(50))
    assert every[7] == LogLineRecord("r1", "t", -1, 1, 7, T0, "INFO", "line 7")
    assert [line.seq for line in logs.read_lines("r1", "t", -1, 1, start=45)] == [
        45,
        46,
        47,
        48,
        49,
    ]
    assert [line.seq for line in logs.read_lines("r1", "t", -1, 1, start=10, limit=3)] == [
        10,
        11,
        12,
    ]
    assert logs.read_lines("r1", "t", -1, 1, start=50) == []
    assert [line.message for line in logs.tail_lines("r1", "t", -1, 1, 2)] == ["line 48", "line 49"]
    assert len(logs.tail_lines("r1", "t", -1, 1, 500)) == 50
    assert logs.tail_lines("r1", "t", -1, 1, 0) == []
    assert logs.read_lines("r1", "t", -1, 2) == []
    assert logs.read_lines("r1", "other") == []


def test_log_lines_are_kept_per_try_and_map_index(storage: Storage) -> None:
    storage.write(
        WriteBatch(
            log_lines=[
                *make_lines(2, try_number=1),
                *make_lines(3, try_number=3),
                *make_lines(4, map_index=5, try_number=2),
                *make_lines(1, task_id="u"),
            ]
        )
    )
    logs = storage.logs

    assert logs.log_tries("r1", "t") == [1, 3]
    assert logs.log_tries("r1", "t", 5) == [2]
    assert logs.log_tries("r1", "t", 6) == []
    assert len(logs.read_lines("r1", "t", -1, 3)) == 3
    assert len(logs.read_lines("r1", "t", 5, 2)) == 4
    assert [line.task_id for line in logs.read_lines("r1", "u")] == ["u"]


def test_a_log_line_written_twice_fails_the_batch(storage: Storage) -> None:
    storage.write(WriteBatch(log_lines=make_lines(3)))
    again = WriteBatch(runs=[make_run("r9")], log_lines=make_lines(1, start=2))

    with pytest.raises(StorageError, match="could not write a batch"):
        storage.write(again)
    with pytest.raises(StorageError, match="could not write a batch"):
        storage.write(WriteBatch(log_lines=[*make_lines(1, start=5), *make_lines(1, start=5)]))

    assert [line.seq for line in storage.logs.read_lines("r1", "t")] == [0, 1, 2]
    assert storage.runs.list_runs() == []


# --- values every backend stores alike ---------------------------------------------------

#: What ``os.listdir`` returns for the file name b"caf\xe9.csv" (not UTF-8).
SURROGATE_NAME = "caf\udce9.csv"


def test_lone_surrogates_and_nul_are_stored_as_visible_escapes(storage: Storage) -> None:
    run = make_run("r1", conf={"file": SURROGATE_NAME, "raw": "a\x00b"})
    line = LogLineRecord("r1", "t", -1, 1, 0, T0, "INFO", f"read {SURROGATE_NAME}: a\x00b")
    error = make_event(
        "r1", EventKind.TASK_ERROR, "t", payload={"error": f"OSError: {SURROGATE_NAME}\x00"}
    )
    materialization = AssetMaterializationRecord(
        AssetKey("files"), "r1", "t", T0, metadata={SURROGATE_NAME: "\x00"}
    )
    storage.write(
        WriteBatch(runs=[run], events=[error], log_lines=[line], materializations=[materialization])
    )

    assert storage.runs.get_run("r1").conf == {"file": "caf\\udce9.csv", "raw": "a\\x00b"}
    (stored_line,) = storage.logs.read_lines("r1", "t")
    assert stored_line.message == "read caf\\udce9.csv: a\\x00b"
    (stored_error,) = storage.events.read_events("r1")
    assert stored_error.payload == {"error": "OSError: caf\\udce9.csv\\x00"}
    latest = storage.assets.latest_materializations()[AssetKey("files")]
    assert latest.metadata == {"caf\\udce9.csv": "\\x00"}
    assert run.conf["file"] == SURROGATE_NAME  # the caller's record is left alone


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_in_json_are_refused_naming_where(storage: Storage, bad: float) -> None:
    with pytest.raises(
        StorageError, match=r"could not write a batch.*the run conf\['limits'\]\[1\]"
    ):
        storage.write(WriteBatch(runs=[make_run("r1", conf={"limits": [1, bad]})]))
    with pytest.raises(StorageError, match=r"an event payload\['score'\] is -?(nan|inf)"):
        storage.write(
            WriteBatch(
                runs=[make_run("r2")],
                events=[make_event("r2", EventKind.TASK_ERROR, payload={"score": bad})],
            )
        )
    assert storage.runs.list_runs() == []
    assert storage.events.read_events("r2") == []


def test_none_and_text_saying_null_round_trip(storage: Storage) -> None:
    payload = {"traceback": None, "error": "null \\u0000 is text", "n": [None, 1.5]}
    storage.write(
        WriteBatch(runs=[make_run("r1")], events=[make_event("r1", EventKind.LOG, payload=payload)])
    )
    assert storage.events.read_events("r1")[0].payload == payload


@pytest.mark.parametrize(
    ("field", "batch"),
    [
        ("run id", lambda long: WriteBatch(runs=[make_run(long)])),
        ("DAG id", lambda long: WriteBatch(runs=[make_run("r1", dag_id=long)])),
        (
            "task id",
            lambda long: WriteBatch(
                runs=[make_run("r1")], task_instances=[TaskInstanceRecord("r1", long)]
            ),
        ),
        ("task id", lambda long: WriteBatch(events=[make_event("r1", EventKind.LOG, long)])),
        ("task id", lambda long: WriteBatch(log_lines=make_lines(1, task_id=long))),
    ],
)
def test_ids_longer_than_their_columns_are_refused(
    storage: Storage, field: str, batch: Any
) -> None:
    with pytest.raises(StorageError, match=f"{field} 'xxxx.*is too long: 251 characters"):
        storage.write(batch("x" * 251))
    storage.write(batch("x" * 250))  # exactly the limit is fine everywhere


def test_an_output_key_longer_than_its_column_is_refused(storage: Storage) -> None:
    record = storage.outputs.encode("r1", "t", -1, "k" * 251, 1)
    with pytest.raises(StorageError, match=r"output key .*kkk.*is too long"):
        storage.write(WriteBatch(outputs=[record]))


# --- partitions ---------------------------------------------------------------------------


def test_dynamic_partitions_keep_their_order_and_each_key_once(storage: Storage) -> None:
    store = storage.partitions
    assert store.add_partitions("files", ["b.csv", "a.csv", "b.csv"]) == ["b.csv", "a.csv"]
    assert store.add_partitions("files", ["a.csv", "c.csv"]) == ["c.csv"]
    assert store.add_partitions("other", ["a.csv"]) == ["a.csv"]
    assert store.get_dynamic_partitions("files") == ["b.csv", "a.csv", "c.csv"]
    assert store.has_dynamic_partition("files", "c.csv")
    assert not store.has_dynamic_partition("files", "d.csv")
    assert not store.has_dynamic_partition("nothing", "a.csv")
    assert store.partitions_def_names() == {"files": 3, "other": 1}

    assert store.delete_partitions("files", ["a.csv", "zzz"]) == ["a.csv"]
    assert store.get_dynamic_partitions("files") == ["b.csv", "c.csv"]
    assert store.delete_partitions("other", ["a.csv"]) == ["a.csv"]
    assert store.partitions_def_names() == {"files": 2}
    assert store.get_dynamic_partitions("nothing") == []


def test_a_partition_key_a_store_cannot_hold_is_refused(storage: Storage) -> None:
    with pytest.raises(StorageError, match="too long: 600 characters"):
        storage.partitions.add_partitions("files", ["x" * 600])
    with pytest.raises(StorageError, match="non-empty string"):
        storage.partitions.add_partitions("files", [""])
    with pytest.raises(StorageError, match="give a list of keys"):
        storage.partitions.add_partitions("files", "a.csv")  # type: ignore[arg-type]
    assert storage.partitions.get_dynamic_partitions("files") == []


def test_partition_statuses_keep_the_latest_outcome_per_partition(storage: Storage) -> None:
    key, other = AssetKey(["sales", "daily"]), AssetKey(["x"])
    storage.write(WriteBatch(runs=[make_run("r1"), make_run("r2")]))

    def status(
        asset: AssetKey, partition: str, state: AssetPartitionStatus, run: str
    ) -> AssetPartitionStatusRecord:
        return AssetPartitionStatusRecord(asset, partition, state, run, T0)

    materialized, failed = AssetPartitionStatus.MATERIALIZED, AssetPartitionStatus.FAILED
    storage.write(WriteBatch(partition_statuses=[
        status(key, "2024-01-01", materialized, "r1"),
        status(key, "2024-01-02", failed, "r1"),
        status(other, "2024-01-01", failed, "r1"),
    ]))  # fmt: skip
    storage.write(WriteBatch(partition_statuses=[
        status(key, "2024-01-02", materialized, "r2"),
        status(key, "2024-01-01", failed, "r2"),
        status(key, "2024-01-01", materialized, "r2"),  # the last of a batch wins
    ]))  # fmt: skip

    got = storage.assets.partition_statuses(key)
    assert {k: (r.status, r.run_id) for k, r in got.items()} == {
        "2024-01-01": (materialized, "r2"),
        "2024-01-02": (materialized, "r2"),
    }
    assert got["2024-01-01"] == status(key, "2024-01-01", materialized, "r2")
    assert storage.assets.partition_statuses(AssetKey(["none"])) == {}


def test_materializations_carry_their_partition_key(storage: Storage) -> None:
    key = AssetKey(["events"])
    storage.write(WriteBatch(runs=[make_run("r1")]))
    record = AssetMaterializationRecord(key, "r1", "events", T0, partition_key="2024-01-01")
    storage.write(WriteBatch(materializations=[record]))
    assert storage.assets.list_materializations(key)[0].partition_key == "2024-01-01"


def test_runs_of_one_partition(storage: Storage) -> None:
    storage.write(WriteBatch(runs=[
        make_run("a1", partition_key="2024-01-01"),
        make_run("a2", partition_key="2024-01-02"),
        make_run("b1", dag_id="other", partition_key="2024-01-01"),
        make_run("plain"),
    ]))  # fmt: skip
    found = storage.runs.list_runs("etl", partition_key="2024-01-01")
    assert [r.run_id for r in found] == ["a1"]
    assert {r.run_id for r in storage.runs.list_runs(partition_key="2024-01-01")} == {"a1", "b1"}
    assert len(storage.runs.list_runs("etl")) == 3


def test_runs_carry_tags_through_the_queue_and_writes_and_are_filtered_by_them(
    storage: Storage,
) -> None:
    storage.queue.enqueue([make_run("q1", state=RunState.QUEUED, tags={"team": "a", "k": "v"})])
    storage.write(WriteBatch(runs=[
        make_run("w1", tags={"team": "a"}),
        make_run("w2", tags={"team": "b"}),
        make_run("other", dag_id="other", tags={"team": "a"}),
        make_run("plain"),
    ]))  # fmt: skip
    assert storage.runs.get_run("q1").tags == {"team": "a", "k": "v"}
    assert storage.runs.get_run("plain").tags == {}
    found = storage.runs.list_runs("etl", tags={"team": "a"})
    assert {r.run_id for r in found} == {"q1", "w1"}
    assert [r.run_id for r in storage.runs.list_runs(tags={"team": "a", "k": "v"})] == ["q1"]
    assert storage.runs.count_runs(tags={"team": "a"}) == 3
    assert storage.runs.list_runs(tags={"team": "nobody"}) == []
    # a later write of the run (it started) keeps its tags
    started = storage.runs.get_run("q1").began(T0)
    storage.write(WriteBatch(runs=[started]))
    assert storage.runs.get_run("q1").tags == {"team": "a", "k": "v"}


# --- the automation store (asset events after a cursor, versioned cursors) ----------------


def _asset_events(storage: Storage, *keys: str) -> None:
    storage.write(
        WriteBatch(
            runs=[make_run("producer")],
            materializations=[
                AssetMaterializationRecord(AssetKey(k), "producer", "t", T0, {"n": i})
                for i, k in enumerate(keys)
            ],
        )
    )


def test_asset_events_are_read_after_an_id_in_order_and_by_key(storage: Storage) -> None:
    automation = storage.automation
    assert (automation.last_event_id(), automation.events_after(0)) == (0, [])
    _asset_events(storage, "a", "b", "a", "c")
    every = automation.events_after(0)
    assert [e.asset_key.name for e in every] == ["a", "b", "a", "c"]
    assert automation.last_event_id() == every[-1].id
    after = automation.events_after(every[1].id or 0, [AssetKey("a"), AssetKey("c")])
    assert [(e.asset_key.name, e.metadata) for e in after] == [("a", {"n": 2}), ("c", {"n": 3})]
    assert [e.id for e in automation.events_after(0, limit=2)] == [e.id for e in every[:2]]


def test_a_cursor_advances_only_from_the_version_read_and_queues_its_runs_once(
    storage: Storage,
) -> None:
    automation = storage.automation
    assert automation.get_cursor("dag:consumer") is None
    first = make_run("asset_triggered__1", dag_id="consumer")
    assert automation.advance("dag:consumer", None, {"event_id": 4}, [first], T0)
    cursor = automation.get_cursor("dag:consumer")
    assert cursor is not None and (cursor.version, cursor.value) == (1, {"event_id": 4})
    assert storage.runs.get_run("asset_triggered__1").state is RunState.QUEUED
    # a second decision from the same reading (a restart, another scheduler) changes nothing
    late = make_run("asset_triggered__2", dag_id="consumer")
    assert not automation.advance("dag:consumer", None, {"event_id": 9}, [late], T0)
    with pytest.raises(RunNotFoundError):
        storage.runs.get_run("asset_triggered__2")
    assert automation.advance("dag:consumer", 1, {"event_id": 9}, [late, first], T0)
    assert not automation.advance("dag:consumer", 1, {"event_id": 10}, [], T0)
    assert automation.get_cursor("dag:consumer").value == {"event_id": 9}  # type: ignore[union-attr]
    assert automation.advance("automation", None, {"assets": {}}, [], T0)
    assert [c.name for c in automation.list_cursors("dag:")] == ["dag:consumer"]
    assert [c.name for c in automation.list_cursors()] == ["automation", "dag:consumer"]
