"""Retention (``partita db clean``'s store part): memory, SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from partita.definitions.asset_key import AssetKey
from partita.definitions.durations import DurationError, format_duration_spec, parse_duration
from partita.definitions.states import RunState
from partita.exceptions import PartitaError
from partita.storage.auth import Role, SessionRecord, UserRecord
from partita.storage.backfills import (
    BackfillRecord,
    BackfillStatus,
    PlannedAction,
    PlannedRun,
    Reprocess,
)
from partita.storage.base import Storage
from partita.storage.instigators import InstigatorKind, TickRecord, TickStatus, TickWrite
from partita.storage.records import (
    AssetMaterializationRecord,
    DagRunRecord,
    EventKind,
    EventRecord,
    LogLineRecord,
    TaskInstanceRecord,
    WriteBatch,
)
from partita.storage.retention import RetentionPolicy, check_tables, clean
from partita.storage.run_queue import SchedulerRecord
from storage_backends import ALL_KINDS, open_storage

NOW = datetime(2024, 6, 1, tzinfo=UTC)
OLD, RECENT = NOW - timedelta(days=40), NOW - timedelta(days=2)


@pytest.fixture(params=ALL_KINDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    with open_storage(request.param, request, tmp_path, inline_output_limit=16) as store:
        yield store


def write_run(
    storage: Storage, run_id: str, state: RunState, at: datetime, dag: str = "etl"
) -> None:
    run = DagRunRecord(
        run_id, dag, "v", state, queued_at=at, end_date=at if state.finished else None
    )
    storage.write(
        WriteBatch(
            runs=[run],
            task_instances=[TaskInstanceRecord(run_id, "t", try_number=1)],
            events=[EventRecord(run_id, EventKind.RUN_STATE, at, payload={"state": "x"})],
            outputs=[storage.outputs.encode(run_id, "t", -1, "return_value", "x" * 100)],
            log_lines=[LogLineRecord(run_id, "t", -1, 1, 0, at, "INFO", "hello")],
        )
    )


def test_old_finished_runs_go_with_everything_of_theirs(storage: Storage) -> None:
    for i in range(5):
        write_run(storage, f"old-{i}", RunState.FAILED, OLD + timedelta(minutes=i))
    write_run(storage, "recent", RunState.SUCCESS, RECENT)
    write_run(storage, "running", RunState.RUNNING, OLD)
    write_run(storage, "queued", RunState.QUEUED, OLD, dag="other")
    write_run(storage, "other-old", RunState.SUCCESS, OLD, dag="other")
    write_run(storage, "backfilled", RunState.SUCCESS, OLD, dag="third")
    running = BackfillRecord("bf", "third", OLD, OLD, BackfillStatus.RUNNING, Reprocess.NONE,
                             1, 1, OLD)  # fmt: skip
    when = OLD
    planned = PlannedRun("bf", 0, when, when, when, "backfilled", PlannedAction.CREATE, True)
    storage.backfills.create(running, [planned])
    policy = RetentionPolicy(NOW - timedelta(days=30), keep_last=2)
    # etl keeps its two newest (recent, old-4), "other" has only two; running ones stay
    assert storage.retention.count(policy, "runs") == 4
    kept_files = [r.location for r in storage.outputs.list_records("recent")]
    gone_files = [r.location for r in storage.outputs.list_records("old-0")]
    batches: list[int] = []
    deleted = clean(
        storage.retention, policy, batch_size=2, on_batch=lambda t, n: batches.append(n)
    )
    assert deleted["runs"] == 4 and batches == [2, 2]
    left = {r.run_id for r in storage.runs.list_runs(limit=100)}
    assert left == {"old-4", "recent", "running", "queued", "other-old", "backfilled"}
    keep_none = RetentionPolicy(policy.cutoff)
    assert storage.retention.count(keep_none, "runs") == 2  # old-4, other-old
    storage.backfills.finish("bf", BackfillStatus.COMPLETED, OLD)  # now "backfilled" may go
    assert storage.retention.count(keep_none, "runs") == 3
    for run_id in ("old-0", "old-3"):
        assert storage.events.read_events(run_id) == []
        assert storage.runs.get_task_instances(run_id) == []
        assert storage.outputs.list_records(run_id) == []
        assert storage.logs.log_tries(run_id, "t") == []
    assert storage.logs.log_tries("recent", "t") == [1]
    if storage.persistent:
        assert not any(Path(p).exists() for p in gone_files)
        assert all(Path(p).exists() for p in kept_files)


def test_old_backfills_and_scheduler_rows_go(storage: Storage) -> None:
    def backfill(backfill_id: str, status: BackfillStatus, ended: datetime | None) -> None:
        record = BackfillRecord(backfill_id, "etl", OLD, OLD, status, Reprocess.NONE, 1, 0, OLD,
                                ended_at=ended)  # fmt: skip
        storage.backfills.create(record, [])

    backfill("old", BackfillStatus.COMPLETED, OLD)
    backfill("recent", BackfillStatus.FAILED, RECENT)
    backfill("running", BackfillStatus.RUNNING, None)
    storage.queue.beat(SchedulerRecord("dead", "h", 1, OLD, OLD))
    storage.queue.beat(SchedulerRecord("alive", "h", 2, OLD, NOW))
    policy = RetentionPolicy(
        NOW - timedelta(days=30), tables=check_tables(["backfills", "schedulers"])
    )
    assert clean(storage.retention, policy) == {"backfills": 1, "schedulers": 1}
    assert {b.backfill_id for b in storage.backfills.list_backfills()} == {"recent", "running"}
    assert [s.scheduler_id for s in storage.queue.list_schedulers()] == ["alive"]


def test_durations_and_tables_are_checked() -> None:
    assert parse_duration("30d") == timedelta(days=30)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration(" 2w ") == timedelta(weeks=2)
    assert format_duration_spec(timedelta(days=1, minutes=5)) == "1d5m"
    for bad in ("30", "30x", "d", "", "-1d", "0s", "1d 2"):
        with pytest.raises(DurationError, match=r"e\.g\. 30d, 12h"):
            parse_duration(bad, "--older-than")
    with pytest.raises(PartitaError, match="unknown table 'tick' to clean; choose among: runs"):
        check_tables(["runs", "tick"])


def tick(name: str, at: datetime, kind: InstigatorKind = InstigatorKind.SENSOR) -> TickWrite:
    return TickWrite(TickRecord(kind, name, TickStatus.SKIPPED, at, skip_reason="nothing"))


def test_old_ticks_go_but_the_newest_of_each_sensor_stay(storage: Storage) -> None:
    storage.instigators.record_ticks(
        [tick("files", OLD + timedelta(minutes=i)) for i in range(5)]
        + [tick("files", RECENT), tick("quiet", OLD), tick("quiet", OLD + timedelta(minutes=1))]
        + [tick("hourly", OLD, InstigatorKind.SCHEDULE)]
    )  # fmt: skip
    keep_two = RetentionPolicy(NOW - timedelta(days=30), keep_last=2,
                               tables=check_tables(["ticks"]))  # fmt: skip
    assert storage.retention.count(keep_two, "ticks") == 4  # files: 4 old of 6; quiet: none
    assert clean(storage.retention, keep_two, batch_size=3) == {"ticks": 4}
    files = storage.instigators.list_ticks(InstigatorKind.SENSOR, "files")
    assert [t.timestamp for t in files] == [RECENT, OLD + timedelta(minutes=4)]
    assert len(storage.instigators.list_ticks(InstigatorKind.SENSOR, "quiet")) == 2
    everything = RetentionPolicy(NOW - timedelta(days=30), tables=check_tables(["ticks"]))
    assert clean(storage.retention, everything) == {"ticks": 4}
    assert storage.instigators.list_ticks(InstigatorKind.SCHEDULE, "hourly") == []
    assert [
        t.timestamp for t in storage.instigators.list_ticks(InstigatorKind.SENSOR, "files")
    ] == [RECENT]


def test_old_asset_events_go_but_each_partitions_newest_stays(storage: Storage) -> None:
    write_run(storage, "r", RunState.SUCCESS, RECENT)
    sales, users = AssetKey("sales"), AssetKey("users")
    events = [
        AssetMaterializationRecord(key, "r", "t", at, partition_key=partition)
        for key, partition, at in [
            (sales, "2024-01-01", OLD), (sales, "2024-01-01", OLD + timedelta(hours=1)),
            (sales, "2024-01-02", OLD), (users, None, OLD),
            (users, None, OLD + timedelta(hours=1)), (users, None, RECENT),
        ]
    ]  # fmt: skip
    storage.write(WriteBatch(materializations=events))
    policy = RetentionPolicy(NOW - timedelta(days=30), tables=check_tables(["asset_events"]))
    assert clean(storage.retention, policy, batch_size=1) == {"asset_events": 3}
    kept = storage.assets.list_materializations(sales)
    assert sorted((m.partition_key, m.timestamp) for m in kept) == [
        ("2024-01-01", OLD + timedelta(hours=1)), ("2024-01-02", OLD),
    ]  # fmt: skip
    assert [m.timestamp for m in storage.assets.list_materializations(users)] == [RECENT]
    assert storage.assets.latest_materializations([users])[users].timestamp == RECENT
    storage.write(WriteBatch(materializations=[AssetMaterializationRecord(users, "r", "t", NOW)]))
    newest = storage.assets.list_materializations(users)
    assert len({m.id for m in newest}) == 2 and newest[0].timestamp == NOW  # ids stay unique


def test_expired_web_sessions_go(storage: Storage) -> None:
    storage.auth.create_user(UserRecord("ada", Role.ADMIN, "hash", OLD))
    for name, expires in (("gone", NOW - timedelta(hours=1)), ("live", NOW + timedelta(hours=1))):
        storage.auth.create_session(SessionRecord(name, "ada", "csrf", OLD, expires))
    policy = RetentionPolicy(NOW - timedelta(days=30), tables=check_tables(["sessions"]), now=NOW)
    assert storage.retention.count(policy, "sessions") == 1
    assert clean(storage.retention, policy) == {"sessions": 1}
    assert storage.auth.get_session("gone", OLD) is None  # deleted, not only expired
    assert storage.auth.get_session("live", OLD) is not None
