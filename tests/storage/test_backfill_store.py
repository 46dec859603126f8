"""The backfill store's contract (memory, SQLite, PostgreSQL) and its migration (0016)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from migration_helpers import revision_before, upgrade_with

from partita.definitions.states import RunState
from partita.exceptions import BackfillNotFoundError
from partita.storage.backfills import (
    BackfillRecord,
    BackfillStatus,
    PlannedAction,
    PlannedRun,
    Reprocess,
)
from partita.storage.base import Storage
from partita.storage.records import DagRunRecord, WriteBatch
from partita.storage.sql import SqlStorage, upgrade
from partita.storage.sql.migrate import head_revision

T0 = datetime(2024, 1, 1, 12, tzinfo=UTC)


def backfill(backfill_id: str = "bf-1", **changes: object) -> BackfillRecord:
    record = BackfillRecord(
        backfill_id, "etl", T0, T0 + timedelta(days=9), BackfillStatus.RUNNING, Reprocess.FAILED,
        2, 4, created_at=T0, conf={"n": 1},
    )  # fmt: skip
    fields = {f: getattr(record, f) for f in record.__struct_fields__}
    return BackfillRecord(**{**fields, **changes})


def planned(ordinal: int, action: PlannedAction = PlannedAction.CREATE) -> PlannedRun:
    when = T0 + timedelta(days=ordinal)
    done = action is PlannedAction.SKIP
    return PlannedRun("bf-1", ordinal, when, when, when, f"run-{ordinal}", action, done)


def test_a_backfill_reads_back_with_its_pending_runs_in_order(storage: Storage) -> None:
    plan = [planned(2), planned(0), planned(1, PlannedAction.SKIP), planned(3, PlannedAction.RERUN)]
    storage.backfills.create(backfill(), plan)
    assert storage.backfills.get("bf-1") == backfill()
    assert [p.ordinal for p in storage.backfills.pending("bf-1", 10)] == [0, 2, 3]
    assert [p.ordinal for p in storage.backfills.pending("bf-1", 2)] == [0, 2]
    assert storage.backfills.pending("bf-1", 1)[0] == planned(0)
    assert storage.backfills.planned_run_ids("bf-1") == ["run-0", "run-2", "run-3"]
    progress = storage.backfills.progress("bf-1")
    assert (progress.total, progress.pending, progress.skipped, progress.states) == (4, 3, 1, {})
    with pytest.raises(BackfillNotFoundError, match="no backfill with id 'nope'; 'partita"):
        storage.backfills.get("nope")
    with pytest.raises(BackfillNotFoundError):
        storage.backfills.progress("nope")


def test_progress_and_active_count_follow_the_runs_states(storage: Storage) -> None:
    storage.backfills.create(backfill(), [planned(i) for i in range(4)])
    storage.backfills.mark_done("bf-1", [0, 1, 2])
    runs = [DagRunRecord(f"run-{i}", "etl", "", RunState.QUEUED, queued_at=T0) for i in range(3)]
    runs[0] = runs[0].ended(RunState.SUCCESS, T0)
    runs[1] = runs[1].began(T0)
    storage.write(WriteBatch(runs=runs))
    assert storage.backfills.active_count("bf-1") == 2
    progress = storage.backfills.progress("bf-1")
    assert progress.states == {RunState.SUCCESS: 1, RunState.RUNNING: 1, RunState.QUEUED: 1}
    assert (progress.pending, progress.active, progress.finished) == (1, 2, 1)
    assert storage.backfills.planned_run_ids("bf-1", done=False) == ["run-3"]


def test_progress_of_several_is_each_ones_progress(storage: Storage) -> None:
    test_progress_and_active_count_follow_the_runs_states(storage)
    storage.backfills.create(backfill("empty", created_at=T0), [])
    found = storage.backfills.progress_of(["bf-1", "empty", "nope", "bf-1"])
    assert found == {
        "bf-1": storage.backfills.progress("bf-1"), "empty": storage.backfills.progress("empty")
    }  # fmt: skip
    assert found["empty"].total == 0
    assert storage.backfills.progress_of([]) == {}


def test_keep_existing_turns_planned_runs_into_kept_ones(storage: Storage) -> None:
    storage.backfills.create(backfill(), [planned(i) for i in range(3)])
    storage.backfills.keep_existing("bf-1", {1: "scheduled-1"})
    assert [p.ordinal for p in storage.backfills.pending("bf-1", 5)] == [0, 2]
    assert storage.backfills.progress("bf-1").skipped == 1
    assert storage.backfills.planned_run_ids("bf-1") == ["run-0", "run-2"]


def test_finish_ends_a_running_backfill_once(storage: Storage) -> None:
    storage.backfills.create(backfill(), [])
    later = T0 + timedelta(hours=1)
    assert storage.backfills.finish("bf-1", BackfillStatus.CANCELLED, later) is True
    assert storage.backfills.finish("bf-1", BackfillStatus.COMPLETED, later) is False
    ended = backfill(status=BackfillStatus.CANCELLED, ended_at=later)
    assert storage.backfills.get("bf-1") == ended


def test_list_is_newest_first_and_filters(storage: Storage) -> None:
    storage.backfills.create(backfill("a", created_at=T0), [])
    storage.backfills.create(backfill("b", created_at=T0 + timedelta(1), dag_id="other"), [])
    storage.backfills.create(backfill("c", created_at=T0 + timedelta(2)), [])
    storage.backfills.finish("c", BackfillStatus.COMPLETED, T0)
    ids = [b.backfill_id for b in storage.backfills.list_backfills()]
    assert ids == ["c", "b", "a"]
    running = storage.backfills.list_backfills(statuses=[BackfillStatus.RUNNING], dag_id="etl")
    assert [b.backfill_id for b in running] == ["a"]
    assert len(storage.backfills.list_backfills(limit=1)) == 1
    page = storage.backfills.list_backfills(limit=1, offset=1)
    assert [b.backfill_id for b in page] == ["b"]


def test_runs_at_finds_a_dags_runs_by_logical_date(storage: Storage) -> None:
    def run(run_id: str, day: int, dag_id: str = "etl", minutes: int = 0) -> DagRunRecord:
        when = T0 + timedelta(days=day)
        queued = T0 + timedelta(minutes=minutes)
        state = RunState.SUCCESS
        return DagRunRecord(run_id, dag_id, "", state, logical_date=when, queued_at=queued)

    storage.write(WriteBatch(runs=[run("a", 0), run("b", 1), run("b2", 1, minutes=5),
                                   run("c", 5), run("x", 1, "other")]))  # fmt: skip
    found = storage.backfills.runs_at("etl", T0, T0 + timedelta(days=1))
    assert {d: r.run_id for d, r in found.items()} == {T0: "a", T0 + timedelta(days=1): "b2"}


def test_runs_for_partitions_finds_a_jobs_runs_by_partition_key(storage: Storage) -> None:
    def run(run_id: str, key: str | None, dag_id: str = "job", minutes: int = 0) -> DagRunRecord:
        queued = T0 + timedelta(minutes=minutes)
        return DagRunRecord(run_id, dag_id, "", RunState.SUCCESS, queued_at=queued,
                            logical_date=T0, partition_key=key)  # fmt: skip

    runs = [run("a", "north"), run("b", "south"), run("b2", "south", minutes=5),
            run("x", "north", "other"), run("none", None)]  # fmt: skip
    storage.write(WriteBatch(runs=runs))
    keys = ["north", "south", "east", *(f"k{i}" for i in range(600))]  # more than one query's
    found = storage.backfills.runs_for_partitions("job", keys)
    assert {k: r.run_id for k, r in found.items()} == {"north": "a", "south": "b2"}
    planned_key = PlannedRun("bf-1", 0, T0, T0, T0, "r", PlannedAction.CREATE, partition_key="k")
    storage.backfills.create(backfill(partitions="k...k", total=1), [planned_key])
    assert storage.backfills.get("bf-1").partitions == "k...k"
    assert storage.backfills.pending("bf-1", 5) == [planned_key]


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_database_at_the_previous_head_upgrades_with_its_runs(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_fresh_database_url")
    before = revision_before("0016")
    upgrade_with(
        url,
        before,
        (
            "INSERT INTO dag_run (run_id, dag_id, dag_version, state, run_type, conf, "
            "logical_date) VALUES ('old', 'etl', 'v', 'failed', 'scheduled', '{}', "
            "'2024-01-01 12:00:00.000000')"
        ),
    )
    assert upgrade(url) == head_revision()
    with SqlStorage(url, tmp_path / "storage") as storage:
        found = storage.backfills.runs_at("etl", T0, T0)
        assert [r.run_id for r in found.values()] == ["old"]
        storage.backfills.create(backfill(), [planned(0)])
        assert storage.backfills.pending("bf-1", 5) == [planned(0)]
