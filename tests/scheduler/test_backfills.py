"""Backfills: the plan (pure), ``create_backfill`` and the ``BackfillRunner`` one pass at a time."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from msgspec.structs import replace

from partita import DAG, CronDataIntervalTimetable, CronTriggerTimetable
from partita.definitions.states import RunState
from partita.definitions.timetable_base import Timetable
from partita.exceptions import PartitaError
from partita.scheduler.backfill_plan import (
    BackfillOptions,
    EmptyBackfillError,
    backfill_run_id,
    cancel_backfill,
    create_backfill,
    runs_in_range,
)
from partita.scheduler.backfills import BackfillRunner
from partita.scheduler.dag_files import DagFileProcessor
from partita.scheduler.retention import RetentionService
from partita.scheduler.starter import runs_to_start
from partita.scheduler.ticker import ScheduleTicker
from partita.settings import RetentionSettings
from partita.storage.backfills import BackfillStatus, PlannedAction, Reprocess
from partita.storage.memory import MemoryStorage
from partita.storage.records import DagRunRecord, WriteBatch
from partita.storage.sql import SqlStorage

from .test_services import SLACK_DAG, files_for

NOW = datetime(2026, 1, 1, tzinfo=UTC)
JAN1, JAN1_2025 = datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)


def slack(tmp_path: Path) -> tuple[MemoryStorage, DagFileProcessor]:
    storage = MemoryStorage()
    files = files_for(tmp_path, SLACK_DAG, storage)
    files.run_once(NOW)
    return storage, files


def finish_active(storage: MemoryStorage, state: RunState = RunState.FAILED) -> int:
    """End every queued run as ``state`` (what a scheduler driving them would record)."""
    queued = storage.runs.list_runs(states=[RunState.QUEUED], limit=100_000)
    storage.write(WriteBatch(runs=[r.ended(state, NOW) for r in queued]))
    return len(queued)


def test_a_backfill_over_the_catchup_dates_plans_the_catchup_runs(tmp_path: Path) -> None:
    storage, files = slack(tmp_path)
    dag = files.get_dag("dag_with_slack")
    assert dag is not None
    plan = create_backfill(storage, dag, JAN1, JAN1_2025, BackfillOptions(dry_run=True), NOW)
    ticker = ScheduleTicker(storage, files.get_dag)
    while ticker.run_once(NOW).queued:
        pass
    catchup = storage.runs.list_runs("dag_with_slack", limit=1000)
    assert len(plan.planned) == len(catchup) == 366
    assert [(p.logical_date, p.data_interval_start, p.data_interval_end) for p in plan.planned] == (
        sorted((r.logical_date, r.data_interval_start, r.data_interval_end) for r in catchup)
    )
    assert storage.backfills.list_backfills() == []  # a dry run stores nothing
    # Now that the catchup made them, a backfill over the same dates makes no run twice.
    again = create_backfill(storage, dag, JAN1, JAN1_2025, BackfillOptions(), NOW)
    assert again.count(PlannedAction.SKIP) == 366
    BackfillRunner(storage).run_once(NOW)
    assert len(storage.runs.list_runs("dag_with_slack", limit=1000)) == 366
    assert storage.backfills.get(again.backfill.backfill_id).status is BackfillStatus.COMPLETED


def test_the_runner_queues_in_order_within_max_active_runs_and_ends_the_backfill(
    tmp_path: Path,
) -> None:
    storage, files = slack(tmp_path)
    dag = files.get_dag("dag_with_slack")
    assert dag is not None
    options = BackfillOptions(max_active_runs=3)
    end = datetime(2024, 1, 8, tzinfo=UTC)
    backfill = create_backfill(storage, dag, JAN1, end, options, NOW).backfill
    assert backfill.total == 7  # noon of Jan 1..7; Jan 8 noon is after --to (midnight)
    runner = BackfillRunner(storage)
    queued: list[datetime] = []
    for _ in range(5):
        runner.run_once(NOW)
        assert runner.run_once(NOW) == {}  # nothing more while 3 are active
        active = storage.runs.list_runs("dag_with_slack", states=[RunState.QUEUED])
        assert len(active) <= 3
        queued += sorted(r.logical_date for r in active if r.logical_date is not None)
        finish_active(storage, RunState.SUCCESS)
    assert queued == [datetime(2024, 1, d, 12, tzinfo=UTC) for d in range(1, 8)]
    runs = storage.runs.list_runs("dag_with_slack")
    assert {r.run_type for r in runs} == {"backfill"}
    assert backfill_run_id("dag_with_slack", JAN1.replace(hour=12)) in {r.run_id for r in runs}
    record = storage.backfills.get(backfill.backfill_id)
    assert record.status is BackfillStatus.COMPLETED and record.ended_at == NOW
    progress = storage.backfills.progress(backfill.backfill_id)
    assert (progress.total, progress.pending, progress.finished) == (7, 0, 7)


def test_reprocess_decides_what_happens_to_existing_runs(tmp_path: Path) -> None:
    storage, files = slack(tmp_path)
    dag = files.get_dag("dag_with_slack")
    assert dag is not None
    end = datetime(2024, 1, 3, tzinfo=UTC)  # Jan 1 and 2 at noon
    first = create_backfill(storage, dag, JAN1, end, BackfillOptions(), NOW).backfill
    BackfillRunner(storage).run_once(NOW)
    (one, two) = sorted(storage.runs.list_runs("dag_with_slack"), key=lambda r: r.run_id)
    ended = [one.ended(RunState.SUCCESS, NOW), two.ended(RunState.FAILED, NOW)]
    storage.write(WriteBatch(runs=ended))
    BackfillRunner(storage).run_once(NOW)
    assert storage.backfills.get(first.backfill_id).status is BackfillStatus.FAILED

    kinds = {}
    for reprocess in Reprocess:
        options = BackfillOptions(reprocess, dry_run=True)
        plan = create_backfill(storage, dag, JAN1, end, options, NOW)
        kinds[reprocess] = [p.action for p in plan.planned]
    assert kinds == {
        Reprocess.NONE: [PlannedAction.SKIP, PlannedAction.SKIP],
        Reprocess.FAILED: [PlannedAction.SKIP, PlannedAction.RERUN],
        Reprocess.ALL: [PlannedAction.RERUN, PlannedAction.RERUN],
    }
    create_backfill(storage, dag, JAN1, end, BackfillOptions(Reprocess.FAILED), NOW)
    BackfillRunner(storage).run_once(NOW)
    assert storage.runs.get_run(two.run_id).state is RunState.QUEUED  # the same run, again
    assert storage.runs.get_run(one.run_id).state is RunState.SUCCESS
    assert len(storage.runs.list_runs("dag_with_slack")) == 2


def test_a_run_made_for_a_date_after_the_plan_is_kept_not_made_twice(tmp_path: Path) -> None:
    storage, files = slack(tmp_path)
    dag = files.get_dag("dag_with_slack")
    assert dag is not None
    end = datetime(2024, 1, 3, tzinfo=UTC)  # Jan 1 and 2 at noon
    backfill = create_backfill(storage, dag, JAN1, end, BackfillOptions(), NOW).backfill
    noon2 = datetime(2024, 1, 2, 12, tzinfo=UTC)
    scheduled = DagRunRecord("scheduled-2", "dag_with_slack", "", RunState.QUEUED,
                             logical_date=noon2, queued_at=NOW)  # fmt: skip
    storage.queue.enqueue([scheduled])  # the catchup got there first
    BackfillRunner(storage).run_once(NOW)
    runs = storage.runs.list_runs("dag_with_slack")
    assert sorted(r.run_id for r in runs) == [
        backfill_run_id("dag_with_slack", JAN1.replace(hour=12)),
        "scheduled-2",
    ]
    progress = storage.backfills.progress(backfill.backfill_id)
    assert (progress.skipped, progress.pending, progress.active) == (1, 0, 1)


def test_a_range_without_runs_is_refused_and_a_cancel_stops_queued_runs(tmp_path: Path) -> None:
    storage, files = slack(tmp_path)
    dag = files.get_dag("dag_with_slack")
    assert dag is not None
    morning = datetime(2024, 1, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 11, tzinfo=UTC)
    with pytest.raises(EmptyBackfillError, match="holds no run of its schedule"):
        create_backfill(storage, dag, *morning, BackfillOptions(), NOW)
    backfill = create_backfill(storage, dag, JAN1, JAN1_2025, BackfillOptions(), NOW).backfill
    BackfillRunner(storage).run_once(NOW)
    assert len(cancel_backfill(storage, backfill.backfill_id, NOW)) == dag.max_active_runs
    assert storage.backfills.get(backfill.backfill_id).status is BackfillStatus.CANCELLED
    assert {r.state for r in storage.runs.list_runs(limit=1000)} == {RunState.CANCELLED}
    assert BackfillRunner(storage).run_once(NOW) == {}  # a cancelled backfill queues nothing
    with pytest.raises(PartitaError, match="already ended cancelled"):
        cancel_backfill(storage, backfill.backfill_id, NOW)


def test_backfill_runs_are_not_held_back_by_the_dags_max_active_runs() -> None:
    def run(i: int, run_type: str) -> DagRunRecord:
        return replace(DagRunRecord(f"r{i}", "d", "", RunState.QUEUED), run_type=run_type)

    queued = [run(i, "backfill") for i in range(4)] + [run(9, "scheduled")]
    chosen = runs_to_start(queued, {"d": 2}, free_slots=10, max_active_runs={"d": 2})
    assert [r.run_id for r in chosen] == ["r0", "r1", "r2", "r3"]


@pytest.mark.parametrize(
    "timetable",
    [
        CronTriggerTimetable("@daily"),
        CronTriggerTimetable("15 3,17 * * *", interval=timedelta(hours=5)),
        CronDataIntervalTimetable("30 */6 * * *"),
        CronTriggerTimetable("0 9 * * *", timezone=timezone(timedelta(hours=9))),
        CronTriggerTimetable("0 0 * * 1"),  # weekly: not a daily pattern, asked run by run
        CronTriggerTimetable("30 2 * * *", timezone="Europe/Berlin"),  # DST: run by run
    ],
    ids=repr,
)
def test_long_ranges_give_exactly_the_timetables_runs(timetable: Timetable) -> None:
    rng = random.Random(11)
    dag = DAG("d", schedule=timetable, start_date=datetime(2020, 1, 1))
    for _ in range(6):
        first = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(60 * 24 * 300))
        last = first + timedelta(minutes=rng.randrange(60 * 24 * 40))
        slow = timetable.runs_between(first, last + timedelta(microseconds=1))
        assert runs_in_range(dag, first, last) == slow


def test_the_seed_002_catchup_and_a_backfill_queue_the_same_runs_on_sqlite(
    tmp_path: Path, sqlite_url: str
) -> None:
    catchup_storage, files = slack(tmp_path)
    ticker = ScheduleTicker(catchup_storage, files.get_dag)
    while ticker.run_once(NOW).queued:
        pass
    dag = files.get_dag("dag_with_slack")
    assert dag is not None
    with SqlStorage(sqlite_url, tmp_path / "storage") as storage:
        options = BackfillOptions(max_active_runs=1000)
        create_backfill(storage, dag, JAN1, JAN1_2025, options, NOW)
        assert BackfillRunner(storage).run_once(NOW) != {}
        backfilled = storage.runs.list_runs("dag_with_slack", limit=1000)
    catchup = catchup_storage.runs.list_runs("dag_with_slack", limit=1000)

    def runs(records: list[DagRunRecord]) -> list[tuple[object, ...]]:
        return sorted(
            (r.logical_date, r.data_interval_start, r.data_interval_end, r.state, r.conf)
            for r in records
        )

    assert len(backfilled) == 366 and runs(backfilled) == runs(catchup)
    assert {r.run_type for r in backfilled} == {"backfill"}


def test_the_retention_service_deletes_a_batch_per_pass_then_waits(tmp_path: Path) -> None:
    storage = MemoryStorage()
    old = NOW - timedelta(days=10)
    runs = [
        DagRunRecord(f"r{i}", "d", "", RunState.SUCCESS, queued_at=old, end_date=old)
        for i in range(5)
    ]
    storage.write(WriteBatch(runs=runs))
    settings = RetentionSettings(older_than=timedelta(days=1), every=timedelta(hours=1))
    service = RetentionService(storage, settings, batch_size=2)
    assert [service.run_once(NOW) for _ in range(4)] == [{"runs": 2}, {"runs": 2}, {"runs": 1}, {}]
    storage.write(WriteBatch(runs=runs[:1]))
    assert service.run_once(NOW + timedelta(minutes=30)) == {}  # the next sweep is in an hour
    assert service.run_once(NOW + timedelta(hours=1)) == {"runs": 1}
