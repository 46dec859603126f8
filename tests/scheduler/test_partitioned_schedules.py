"""Partitioned schedules: ``build_schedule_from_partitioned_job``, seed 000's ``@daily_schedule``.

Ticked by the scheduler's ``ScheduleDefinitionTicker`` on a memory store;
``tests/cli/test_cli_partitions.py`` runs the same file through a real
``partita scheduler`` process.
"""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from partita import (
    DAG,
    DailyPartitionsDefinition,
    DefaultScheduleStatus,
    EmptyOperator,
    RunRequest,
    SkipReason,
    StaticPartitionsDefinition,
    build_schedule_context,
    build_schedule_from_partitioned_job,
    daily_schedule,
)
from partita.exceptions import DefinitionError
from partita.scheduler.dag_files import DagFileProcessor
from partita.scheduler.schedule_ticks import ScheduleDefinitionTicker
from partita.storage.memory import MemoryStorage

#: Seed 000's partitioned schedule as the article writes it, and a partitioned asset job.
SEED_000_SCHEDULES = """
import datetime
from pathlib import Path
from partita import (Config, DailyPartitionsDefinition, DefaultScheduleStatus, Definitions,
                     asset, build_schedule_from_partitioned_job, daily_schedule, dag,
                     define_asset_job, task)

MARKERS = Path({markers!r})

class DateConfig(Config):
    date: str

@task
def process_data_for_date(config: DateConfig):
    with open(MARKERS / "days", "a") as f:
        f.write(config.date + "\\n")

@dag(schedule=None, start_date=datetime.datetime(2021, 1, 1))
def my_pipeline():
    process_data_for_date()

@daily_schedule(
    pipeline_name="my_pipeline",
    start_date=datetime.datetime(2021, 1, 1),
    execution_time=datetime.time(11, 0),
    execution_timezone="US/Central",
)
def my_daily_schedule(date):
    return {{"solids": {{"process_data_for_date": {{"config": {{"date": date.strftime(
        "%Y-%m-%d")}}}}}}}}

daily = DailyPartitionsDefinition(start_date="2021-01-01", timezone="US/Central")

@asset(partitions_def=daily)
def daily_sales(context):
    with open(MARKERS / "sales", "a") as f:
        f.write(context.partition_key + "\\n")
    return context.partition_key

sales_job = define_asset_job("sales_job", selection=[daily_sales], partitions_def=daily)
sales_schedule = build_schedule_from_partitioned_job(
    sales_job, hour_of_day=1, default_status=DefaultScheduleStatus.RUNNING
)

defs = Definitions(dags=[my_pipeline()], assets=[daily_sales], jobs=[sales_job],
                   schedules=[my_daily_schedule, sales_schedule])
"""


def seed_file(tmp_path: Path) -> tuple[Path, Path]:
    markers = tmp_path / "markers"
    markers.mkdir()
    path = tmp_path / "seed_000_schedules.py"
    path.write_text(SEED_000_SCHEDULES.format(markers=str(markers)))
    return path, markers


def test_the_partitioned_schedules_queue_one_run_per_partition(tmp_path: Path) -> None:
    path, _ = seed_file(tmp_path)
    storage = MemoryStorage()
    files = DagFileProcessor(
        [str(path)], storage.registry, import_timeout=10, default_timezone="UTC",
        paused_at_creation=False,
    )  # fmt: skip
    t0 = datetime(2021, 1, 5, 12, tzinfo=UTC)
    files.run_once(t0)
    ticker = ScheduleDefinitionTicker(storage, lambda: files.schedules, files.get_dag)
    ticker.run_once(t0)
    ticker.run_once(t0 + timedelta(days=1))
    again = ScheduleDefinitionTicker(storage, lambda: files.schedules, files.get_dag)
    again.run_once(t0)  # a restart evaluates the same ticks: no run twice
    again.run_once(t0 + timedelta(days=1))

    seed = storage.runs.list_runs("my_pipeline")
    assert sorted(r.conf["tasks"]["process_data_for_date"]["config"]["date"] for r in seed) == [
        "2021-01-04"  # 11:00 Central on 2021-01-05 (17:00 UTC) asks for the day before
    ]
    assert [r.partition_key for r in seed] == [None]  # the pipeline is not partitioned
    (tick,) = {r.logical_date for r in seed}
    assert tick == datetime(2021, 1, 5, 17, tzinfo=UTC)
    sales = storage.runs.list_runs("sales_job")
    assert [(r.partition_key, r.logical_date) for r in sales] == [
        ("2021-01-05", datetime(2021, 1, 6, 7, tzinfo=UTC))  # 01:00 Central the next day
    ]


def test_a_partitioned_schedule_asks_for_the_window_that_just_ended() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01", timezone="Europe/Berlin")
    with DAG("daily_dag", partitions_def=daily) as job:
        EmptyOperator(task_id="noop")
    schedule = build_schedule_from_partitioned_job(job, minute_of_hour=15)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("15 0 * * *", "Europe/Berlin")
    tick = datetime(2024, 3, 31, 0, 15, tzinfo=dt.timezone(timedelta(hours=1)))
    (request,) = schedule.evaluate_tick(build_schedule_context(tick))
    assert request == RunRequest(
        run_key="2024-03-30", partition_key="2024-03-30", tags={"partita/partition": "2024-03-30"}
    )
    early = schedule.evaluate_tick(build_schedule_context(datetime(2023, 6, 1, tzinfo=UTC)))
    assert isinstance(early, SkipReason)
    assert schedule.default_status is DefaultScheduleStatus.STOPPED


def test_schedules_of_jobs_without_time_partitions_are_refused() -> None:
    with DAG("plain") as plain:
        EmptyOperator(task_id="noop")
    with pytest.raises(DefinitionError, match="job 'plain' has no partitions_def"):
        build_schedule_from_partitioned_job(plain)
    with DAG("regions", partitions_def=StaticPartitionsDefinition(["eu"])) as regions:
        EmptyOperator(task_id="noop")
    with pytest.raises(DefinitionError, match="no time windows to follow"):
        build_schedule_from_partitioned_job(regions)
    with pytest.raises(DefinitionError, match=r"execution_time must be a datetime\.time"):
        daily_schedule(
            "p",
            start_date=dt.datetime(2021, 1, 1),
            execution_time="11:00",  # type: ignore[arg-type]
        )
