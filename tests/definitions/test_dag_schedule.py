"""A DAG's schedule: ``dag.timetable`` from ``schedule=``, time zones, dates and run limits."""

from __future__ import annotations

import re
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from partita import DAG, EmptyOperator, PythonOperator
from partita.definitions.serialize import serialize_dag
from partita.definitions.timetables import (
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    DagRunInfo,
    DeltaTriggerTimetable,
    NullTimetable,
    OnceTimetable,
    TimeRestriction,
    deserialize_timetable,
)
from partita.exceptions import DefinitionError
from partita.loader import load_dags

BERLIN = ZoneInfo("Europe/Berlin")


def seed_002_dag() -> DAG:
    """Seed 002's Slack DAG: dates in default_args, the old schedule_interval, catchup."""
    default_args = {
        "owner": "choonb",
        "depends_on_past": False,
        "start_date": datetime(2024, 1, 1),
        "end_date": datetime(2025, 1, 1),
    }
    with DAG(
        dag_id="dag_with_slack",
        default_args=default_args,
        schedule_interval="0 12 * * * ",
        tags=["slack"],
        catchup=True,
    ) as dag:
        EmptyOperator(task_id="raise_exception_and_send_slack_notification")
    return dag


def test_seed_002_creates_the_366_runs_airflow_creates() -> None:
    dag = seed_002_dag()
    assert dag.start_date == datetime(2024, 1, 1, tzinfo=UTC)
    assert dag.end_date == datetime(2025, 1, 1, tzinfo=UTC)
    assert dag.time_restriction == TimeRestriction(dag.start_date, dag.end_date, catchup=True)
    runs: list[DagRunInfo] = []
    info = dag.timetable.next_dagrun_info(None, dag.time_restriction)
    while info is not None:
        runs.append(info)
        info = dag.timetable.next_dagrun_info(info, dag.time_restriction)
    assert len(runs) == 366
    assert runs[0].logical_date == datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert runs[-1].logical_date == datetime(2024, 12, 31, 12, tzinfo=UTC)
    assert all(r.data_interval_start == r.logical_date == r.data_interval_end for r in runs)
    assert dag.timetable.runs_between(dag.start_date, dag.end_date) == runs


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (None, NullTimetable()),
        ("@once", OnceTimetable()),
        ("@daily", CronTriggerTimetable("@daily")),
        (" 0 12 * * * ", CronTriggerTimetable("0 12 * * *")),
        (timedelta(hours=2), DeltaTriggerTimetable(timedelta(hours=2))),
        (CronDataIntervalTimetable("@hourly"), CronDataIntervalTimetable("@hourly")),
    ],
)
def test_schedule_becomes_a_timetable_and_is_kept_as_given(schedule: Any, expected: Any) -> None:
    dag = DAG("scheduled", schedule=schedule)
    assert dag.timetable == expected
    assert dag.schedule == schedule


@pytest.mark.parametrize("schedule", ["0 25 * * *", "0 12 * * * *", "@continuous", "0 0 31 2 *"])
def test_an_invalid_cron_string_names_the_dag_and_the_value(schedule: str) -> None:
    with pytest.raises(DefinitionError) as info:
        DAG("bad_cron", schedule=schedule)
    message = str(info.value)
    assert message.startswith(f"DAG 'bad_cron': invalid schedule {schedule!r}: cron expression")
    assert "\n" not in message


def test_an_invalid_time_zone_names_the_dag_and_the_value() -> None:
    with pytest.raises(DefinitionError) as info:
        DAG("bad_zone", schedule="@daily", timezone="Mars/Olympus_Mons")
    assert str(info.value) == (
        "DAG 'bad_zone': time zone 'Mars/Olympus_Mons' is not a known IANA time zone; "
        "use a name like 'Europe/Berlin', 'America/New_York' or 'UTC'"
    )


def test_an_aware_start_date_sets_the_zone_the_cron_is_read_in() -> None:
    dag = DAG("berlin", schedule="0 9 * * *", start_date=datetime(2024, 1, 1, tzinfo=BERLIN))
    assert dag.timezone is BERLIN and dag.has_own_timezone
    first = dag.timetable.runs_between(dag.start_date, datetime(2024, 1, 2, tzinfo=BERLIN))  # type: ignore[arg-type]
    assert first[0].logical_date == datetime(2024, 1, 1, 8, tzinfo=UTC)  # 09:00 CET


def test_timezone_reads_naive_dates_and_the_cron_in_that_zone() -> None:
    dag = DAG(
        "seoul",
        schedule="0 9 * * *",
        timezone="Asia/Seoul",
        start_date=datetime(2024, 1, 1),
        end_date=datetime(2024, 1, 3),
        catchup=True,
    )
    assert dag.start_date == datetime(2024, 1, 1, tzinfo=ZoneInfo("Asia/Seoul"))
    runs = dag.timetable.runs_between(dag.start_date, dag.end_date)  # type: ignore[arg-type]
    assert [r.logical_date for r in runs] == [
        datetime(2024, 1, 1, 0, tzinfo=UTC),
        datetime(2024, 1, 2, 0, tzinfo=UTC),
    ]
    fixed = DAG("fixed", schedule="@daily", start_date=datetime(2024, 1, 1, tzinfo=UTC))
    assert fixed.timezone is UTC


def test_a_default_timezone_applies_only_to_dags_without_a_zone_of_their_own() -> None:
    plain = DAG("plain", schedule="0 9 * * *", start_date=datetime(2024, 1, 1))
    own = DAG("own", schedule="0 9 * * *", timezone="Europe/Berlin")
    for dag in (plain, own):
        dag.use_default_timezone("Asia/Kolkata")
    assert plain.timezone == ZoneInfo("Asia/Kolkata")
    assert plain.start_date == datetime(2024, 1, 1, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert plain.timetable == CronTriggerTimetable("0 9 * * *", timezone="Asia/Kolkata")
    assert own.timezone == BERLIN


def test_the_loader_applies_the_default_timezone(tmp_path: Path) -> None:
    dag_file = tmp_path / "zoned.py"
    dag_file.write_text(
        textwrap.dedent(
            """
            from datetime import datetime
            from partita import DAG, EmptyOperator
            with DAG("zoned", schedule="@daily", start_date=datetime(2024, 1, 1)):
                EmptyOperator(task_id="t")
            """
        )
    )
    loaded = load_dags(dag_file, default_timezone="America/New_York")
    assert loaded.dags["zoned"].timezone == ZoneInfo("America/New_York")
    assert load_dags(dag_file).dags["zoned"].timezone is UTC


def test_an_invalid_cron_is_an_import_error_of_its_file(tmp_path: Path) -> None:
    dag_file = tmp_path / "broken.py"
    dag_file.write_text('from partita import DAG\nDAG("broken", schedule="0 12 * *")\n')
    result = load_dags(dag_file)
    assert result.dags == {}
    first_line = result.errors[str(dag_file)].splitlines()[0]
    assert "DAG 'broken': invalid schedule '0 12 * *'" in first_line


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"catchup": "yes"}, "catchup must be True or False"),
        ({"max_active_runs": 0}, "max_active_runs must be a whole number >= 1"),
        ({"dagrun_timeout": 30}, "dagrun_timeout must be a positive timedelta"),
        ({"start_date": "2024-01-01"}, "start_date must be a datetime"),
        (
            {"start_date": datetime(2024, 2, 1), "end_date": datetime(2024, 1, 1)},
            "end_date 2024-01-01T00:00:00+00:00 is before start_date",
        ),
        ({"schedule": timedelta(0)}, "schedule datetime.timedelta(0) must be a positive"),
    ],
)
def test_bad_scheduling_arguments_are_definition_errors(kwargs: Any, problem: str) -> None:
    with pytest.raises(DefinitionError, match=re.escape(f"DAG 'limits': {problem}")):
        DAG("limits", **kwargs)


def test_the_serialized_dag_records_the_timetable_and_what_the_scheduler_needs() -> None:
    dag = DAG(
        "recorded",
        schedule="30 2 * * *",
        timezone="Europe/Berlin",
        start_date=datetime(2024, 1, 1),
        end_date=datetime(2024, 12, 31),
        catchup=True,
        max_active_runs=3,
        dagrun_timeout=timedelta(hours=1),
        is_paused_upon_creation=True,
    )
    data = serialize_dag(dag)
    assert deserialize_timetable(data["timetable"]) == dag.timetable
    assert data["timezone"] == "Europe/Berlin"
    assert data["start_date"] == "2024-01-01T00:00:00+01:00"
    assert data["end_date"] == "2024-12-31T00:00:00+01:00"
    assert data["catchup"] is True
    assert data["max_active_runs"] == 3
    assert data["dagrun_timeout"] == 3600.0
    assert data["is_paused_upon_creation"] is True


def test_a_manual_run_gets_the_airflow_3_data_interval_in_the_dags_zone() -> None:
    seen: dict[str, Any] = {}

    def look(**context: Any) -> None:
        seen.update(context)

    with DAG("manual", schedule="@daily", timezone="Europe/Berlin") as dag:
        PythonOperator(task_id="look", python_callable=look)
    dag.test(logical_date=datetime(2024, 7, 1, 9))  # naive: 09:00 in Berlin
    at = datetime(2024, 7, 1, 7, tzinfo=UTC)
    assert seen["logical_date"] == at
    assert seen["data_interval_start"] == seen["data_interval_end"] == at

    with DAG("intervals", schedule=CronDataIntervalTimetable("@daily")) as dag:
        PythonOperator(task_id="look", python_callable=look)
    dag.test(logical_date=datetime(2024, 7, 1, 9, tzinfo=UTC))
    assert seen["data_interval_start"] == datetime(2024, 6, 30, tzinfo=UTC)
    assert seen["data_interval_end"] == datetime(2024, 7, 1, tzinfo=UTC)
