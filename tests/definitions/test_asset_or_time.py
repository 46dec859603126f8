"""``AssetOrTimeSchedule``: runs on a timetable and on asset events (Airflow's)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from partita import DAG, Asset, AssetOrTimeSchedule, CronTriggerTimetable
from partita.definitions.timetable_base import TimeRestriction, deserialize_timetable
from partita.exceptions import DefinitionError


def test_the_timetable_gives_the_clock_runs_and_the_assets_the_condition() -> None:
    a, b = Asset("s3://bucket/a.txt"), Asset("s3://bucket/b.txt")
    schedule = AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 1 * * 3", timezone="UTC"), assets=a & b
    )
    with DAG("both", schedule=schedule, start_date=datetime(2024, 1, 1, tzinfo=UTC)) as dag:
        pass
    assert dag.asset_condition == a & b  # the asset trigger service sees it
    restriction = TimeRestriction(datetime(2024, 1, 1, tzinfo=UTC), None, catchup=True)
    first = dag.timetable.next_dagrun_info(None, restriction)
    assert first is not None
    assert first.logical_date == datetime(2024, 1, 3, 1, tzinfo=UTC)  # the first Wednesday
    assert dag.timetable.summary == "Asset or 0 1 * * 3"


def test_it_serializes_and_reads_back_in_a_fresh_process() -> None:
    schedule = AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 1 * * 3", timezone="UTC"), assets=[Asset("x")]
    )
    data = schedule.serialize()
    assert deserialize_timetable(data) == schedule
    code = (
        "import json, sys; from partita.definitions.timetable_base import deserialize_timetable;"
        "print(deserialize_timetable(json.loads(sys.argv[1])).summary)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(data)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "Asset or 0 1 * * 3"


def test_wrong_parts_are_refused() -> None:
    with pytest.raises(DefinitionError, match="timetable must be a Timetable"):
        AssetOrTimeSchedule(timetable="0 1 * * *", assets=[Asset("x")])  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="assets must be an Asset"):
        AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 1 * * *"), assets="x")  # type: ignore[arg-type]
