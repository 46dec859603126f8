"""The code location of the asset, sensor, schedule and backfill page tests (copied into the
test's home and named by its partita.yaml ``code_locations:``)."""

import os
from datetime import datetime

from partita import (
    DAG,
    DailyPartitionsDefinition,
    Definitions,
    MaterializeResult,
    RunRequest,
    ScheduleDefinition,
    StaticPartitionsDefinition,
    asset,
    sensor,
    task,
)

DAYS = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-03-01")


@asset(group_name="ingest", description="orders as the shop exports them")
def raw_orders() -> MaterializeResult:
    rows = int(os.environ.get("PARTITA_TEST_ROWS", "100"))
    return MaterializeResult(metadata={"row_count": rows, "source": "shop"})


@asset(group_name="core", deps=[raw_orders])
def orders() -> MaterializeResult:
    return MaterializeResult(metadata={"row_count": 90, "null_share": 0.5})


@asset(group_name="ingest", partitions_def=DAYS)
def daily_events(context) -> int:  # type: ignore[no-untyped-def]
    if context.partition_key in os.environ.get("PARTITA_TEST_FAIL", "").split(","):
        raise ValueError(f"the feed of {context.partition_key} is broken")
    return 1


with DAG("daily_report", schedule="@daily", start_date=datetime(2024, 1, 1)) as daily_report:

    @task
    def report() -> None:
        print("report")

    report()


with DAG(
    "by_region", schedule=None, partitions_def=StaticPartitionsDefinition(["eu", "us", "asia"])
) as by_region:

    @task
    def export(context) -> None:  # type: ignore[no-untyped-def]
        if context["partition_key"] == "us":
            raise ValueError("the US export is down")

    export()


@sensor(job="daily_report", minimum_interval_seconds=30)
def new_files(context):  # type: ignore[no-untyped-def]
    yield RunRequest(run_key="a.csv")


nightly = ScheduleDefinition(name="nightly", cron_schedule="0 3 * * *", job="daily_report")

defs = Definitions(
    assets=[raw_orders, orders, daily_events],
    dags=[daily_report, by_region],
    sensors=[new_files],
    schedules=[nightly],
)
