"""``partita partitions``, ``assets partitions``, ``--partition``, and partitioned schedules
run by a real ``partita scheduler`` process (seed 000's ``@daily_schedule``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cli_helpers import Invoke, run_id_of

from partita.definitions.asset_key import AssetKey
from partita.definitions.states import RunState
from partita.settings import load_settings
from partita.storage.base import Storage
from partita.storage.factory import open_storage
from partita.storage.records import AssetPartitionStatus

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scheduler"))
from test_cli_scheduler import Processes, stop, wait_for
from test_partitioned_schedules import seed_file

ASSETS = """
from partita import (AssetIn, DailyPartitionsDefinition, Definitions,
                     DynamicPartitionsDefinition, TimeWindowPartitionMapping, asset)

days = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-11")

@asset(partitions_def=days)
def events(context):
    if context.partition_key == "2024-01-05":
        raise ValueError("broken feed")
    return [context.partition_key]

@asset(partitions_def=days,
       ins={"events": AssetIn(partition_mapping=TimeWindowPartitionMapping(start_offset=-1))})
def two_days(events):
    return sorted(events)

files = DynamicPartitionsDefinition(name="files")

@asset(partitions_def=files)
def file_rows(context):
    return context.partition_key.upper()

defs = Definitions(assets=[events, two_days, file_rows])
"""


@pytest.fixture
def assets_file(tmp_path: Path) -> str:
    path = tmp_path / "partitioned.py"
    path.write_text(ASSETS)
    return str(path)


def test_materialize_partitions_and_show_them_as_ranges(invoke: Invoke, assets_file: str) -> None:
    for day in ("01", "02", "03", "05", "07"):
        invoke("assets", "materialize", assets_file, "--select", "events", "--partition",
               f"2024-01-{day}")  # fmt: skip
    shown = invoke("assets", "partitions", assets_file, "events")
    assert shown.exit_code == 0, shown.output
    lines = [" ".join(line.split()) for line in shown.stdout.splitlines()]
    assert lines == [
        "Asset events: 10 partitions",
        "materialized 4 2024-01-01...2024-01-03, 2024-01-07",
        "failed 1 2024-01-05",
        "missing 5 2024-01-04, 2024-01-06, 2024-01-08...2024-01-10",
    ]
    catalog_only = invoke("assets", "partitions", "events")
    assert "materialized 4" in " ".join(catalog_only.stdout.split())
    assert "missing" not in catalog_only.stdout

    mapped = invoke("assets", "materialize", assets_file, "--select", "two_days", "--partition",
                    "2024-01-02")  # fmt: skip
    assert mapped.exit_code == 0, mapped.output
    run_id = run_id_of(mapped.stdout)
    shown_run = invoke("runs", "show", run_id)
    assert ["partition", "2024-01-02"] in [line.split() for line in shown_run.stdout.splitlines()]
    as_json = json.loads(invoke("runs", "show", run_id, "--json").stdout)
    assert as_json["partition_key"] == "2024-01-02"


def test_a_partition_outside_the_definition_exits_2_naming_the_nearest(
    invoke: Invoke, assets_file: str, cli_storage: object
) -> None:
    result = invoke("assets", "materialize", assets_file, "--select", "events", "--partition",
                    "2024-01-12")  # fmt: skip
    assert result.exit_code == 2
    assert "partition key '2024-01-12' is not a partition of DailyPartitionsDefinition" in (
        result.stderr
    )
    assert "nearest valid keys: 2024-01-09, 2024-01-10" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    missing = invoke("assets", "partitions", assets_file, "nothing")
    assert missing.exit_code == 2 and "nothing" in missing.stderr
    unpartitioned = invoke("assets", "materialize", assets_file, "--select", "events")
    assert unpartitioned.exit_code == 2 and "give the partition to run" in unpartitioned.stderr


def test_dynamic_partitions_from_the_command_line(invoke: Invoke, assets_file: str) -> None:
    assert invoke("partitions", "list").stdout.startswith("No dynamic partitions have keys yet")
    added = invoke("partitions", "add", "files", "a.csv", "b.csv")
    assert added.exit_code == 0 and "Added 2 partition(s) to 'files'." in added.stdout
    again = invoke("partitions", "add", "files", "b.csv", "c.csv")
    assert "Added 1 partition(s) to 'files' (1 already there)." in again.stdout
    assert invoke("partitions", "list", "files").stdout.split() == ["a.csv", "b.csv", "c.csv"]
    assert invoke("partitions", "list").stdout.split() == ["name", "keys", "files", "3"]

    ran = invoke("assets", "materialize", assets_file, "--select", "file_rows", "--partition",
                 "b.csv")  # fmt: skip
    assert ran.exit_code == 0, ran.output
    refused = invoke("assets", "materialize", assets_file, "--select", "file_rows",
                     "--partition", "B.csv")  # fmt: skip
    assert refused.exit_code == 2 and "nearest valid keys: b.csv" in refused.stderr

    deleted = invoke("partitions", "delete", "files", "a.csv")
    assert deleted.exit_code == 0 and "Deleted 1 partition(s)" in deleted.stdout
    nothing = invoke("partitions", "delete", "files", "zzz")
    assert nothing.exit_code == 2 and "has none of zzz" in nothing.stderr
    shown = " ".join(invoke("assets", "partitions", assets_file, "file_rows").stdout.split())
    assert "materialized 1 b.csv" in shown and "missing 1 c.csv" in shown


# --- the scheduler, as a process ----------------------------------------------------------


@pytest.fixture
def processes(cli_home: Path) -> Iterator[Processes]:
    running = Processes(cli_home)
    yield running
    running.stop_all()


@pytest.fixture
def store(cli_home: Path) -> Iterator[Storage]:
    with open_storage(load_settings()) as storage:
        yield storage


@pytest.mark.slow
def test_the_scheduler_runs_seed_000s_daily_schedule_and_a_partitioned_job(
    tmp_path: Path, processes: Processes, store: Storage, invoke: Invoke
) -> None:
    path, markers = seed_file(tmp_path)
    clock = "2021-01-05T16:30:00+00:00:10800"  # three hours of schedule per second
    scheduler = processes.start("scheduler", str(path), PARTITA_SCHEDULER_CLOCK=clock)

    def done(dag_id: str) -> int:
        runs = store.runs.list_runs(dag_id, limit=100)
        return sum(r.state is RunState.SUCCESS for r in runs)

    wait_for(lambda: done("my_pipeline") >= 1 and done("sales_job") >= 1, 90, "partitioned runs")
    code, _, err = stop(scheduler)
    assert code == 0, err
    chicago = ZoneInfo("US/Central")
    pipeline = [r for r in store.runs.list_runs("my_pipeline", limit=100) if r.state.finished]
    for run in pipeline:  # each tick at 11:00 in Chicago asks for the day before
        assert run.logical_date is not None
        local = run.logical_date.astimezone(chicago)
        assert (local.hour, local.minute) == (11, 0)
        day = run.conf["tasks"]["process_data_for_date"]["config"]["date"]
        assert day == str(local.date() - timedelta(days=1))
    days = (markers / "days").read_text().split()
    assert len(days) == len(set(days)) >= 1
    sales = [r for r in store.runs.list_runs("sales_job", limit=100) if r.state.finished]
    for run in sales:  # at 01:00 in Chicago, the day that just ended
        assert run.logical_date is not None
        local = run.logical_date.astimezone(chicago)
        assert run.partition_key == str(local.date() - timedelta(days=1))
    ran = (markers / "sales").read_text().split()
    assert ran[0] == sales[-1].partition_key
    statuses = store.assets.partition_statuses(AssetKey("daily_sales"))
    assert statuses[ran[0]].status is AssetPartitionStatus.MATERIALIZED


PARTITIONED_DAG = """
from datetime import datetime
from partita import DAG, PythonOperator, StaticPartitionsDefinition

with DAG("regional", partitions_def=StaticPartitionsDefinition(["eu", "us"]),
         start_date=datetime(2024, 1, 1)) as dag:
    PythonOperator(task_id="t", python_callable=lambda partition_key: partition_key)
"""


def test_trigger_and_run_take_a_partition_and_refuse_a_wrong_one(
    invoke: Invoke, tmp_path: Path, cli_storage: Any
) -> None:
    path = tmp_path / "regional.py"
    path.write_text(PARTITIONED_DAG)
    queued = invoke("trigger", str(path), "regional", "--partition", "us")
    assert queued.exit_code == 0, queued.output
    (run,) = cli_storage().runs.list_runs("regional")
    assert run.partition_key == "us"
    wrong = invoke("trigger", str(path), "regional", "--partition", "US")
    assert wrong.exit_code == 2 and "nearest valid keys: us" in wrong.stderr
    none = invoke("trigger", str(path), "regional")
    assert none.exit_code == 2 and "give the partition to run" in none.stderr
    assert len(cli_storage().runs.list_runs("regional")) == 1
    ran = invoke("run", str(path), "regional", "--partition", "eu")
    assert ran.exit_code == 0, ran.output
