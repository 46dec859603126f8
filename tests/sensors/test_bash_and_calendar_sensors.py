"""``BashSensor``, ``TimeSensor``, ``DayOfWeekSensor``, and ``deferrable=True`` (Airflow names)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from partita import (
    DAG,
    BashSensor,
    DayOfWeekSensor,
    ExternalTaskMarker,
    FileSensor,
    TaskState,
    TimeSensor,
    WeekDay,
)
from partita.exceptions import DefinitionError


def test_bash_sensor_is_done_on_exit_zero_and_waits_otherwise(tmp_path: object) -> None:
    with DAG("bash_sensor") as dag:
        BashSensor(task_id="ok", bash_command="exit 0", poke_interval=0.01)
        BashSensor(
            task_id="never", bash_command="echo not yet; exit 1", poke_interval=0.05,
            timeout=0.3, soft_fail=True,
        )  # fmt: skip
        BashSensor(
            task_id="broken", bash_command="exit 2", poke_interval=0.05, timeout=5,
            retry_exit_code=1,
        )  # fmt: skip
    result = dag.test()
    assert result.task_states["ok"] is TaskState.SUCCESS
    assert result.task_states["never"] is TaskState.SKIPPED  # soft_fail on timeout
    assert "not yet" in result.logs("never")
    # With retry_exit_code only that code means "not yet": any other fails at once.
    assert result.task_states["broken"] is TaskState.FAILED
    assert "exited with code 2" in (result.error("broken") or "")


def test_time_sensor_is_done_once_the_time_of_day_has_come() -> None:
    with DAG("time_sensor") as dag:
        TimeSensor(task_id="midnight", target_time=time(0, 0), poke_interval=0.01)
    assert dag.test().task_states["midnight"] is TaskState.SUCCESS
    with DAG("bad"), pytest.raises(DefinitionError, match="target_time must be a datetime"):
        TimeSensor(task_id="t", target_time="06:00")  # type: ignore[arg-type]


def test_day_of_week_sensor_checks_the_logical_date_when_asked() -> None:
    monday = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
    with DAG("weekday_sensor", schedule=None) as dag:
        DayOfWeekSensor(
            task_id="monday", week_day=WeekDay.MONDAY, use_task_logical_date=True,
            poke_interval=0.01, timeout=5,
        )  # fmt: skip
        DayOfWeekSensor(
            task_id="weekend", week_day={"Saturday", "Sunday"}, use_task_logical_date=True,
            poke_interval=0.05, timeout=0.2, soft_fail=True,
        )  # fmt: skip
    states = dag.test(logical_date=monday).task_states
    assert states["monday"] is TaskState.SUCCESS
    assert states["weekend"] is TaskState.SKIPPED
    with DAG("bad"), pytest.raises(DefinitionError, match="not a day of the week"):
        DayOfWeekSensor(task_id="d", week_day="Funday")


def test_deferrable_sensors_give_their_worker_slot_back_between_pokes() -> None:
    with DAG("deferrable"):
        sensor = FileSensor(task_id="f", filepath="/nonexistent", deferrable=True)
        poking = FileSensor(task_id="g", filepath="/nonexistent")
    assert sensor.mode == "reschedule"
    assert poking.mode == "poke"


def test_external_task_marker_runs_as_a_marker_and_checks_its_arguments() -> None:
    with DAG("parent") as dag:
        marker = ExternalTaskMarker(
            task_id="mark", external_dag_id="child", external_task_id="wait_for_parent"
        )
    assert (marker.external_dag_id, marker.external_task_id) == ("child", "wait_for_parent")
    assert marker.recursion_depth == 10
    assert dag.test().task_states["mark"] is TaskState.SUCCESS
    with DAG("bad"), pytest.raises(DefinitionError, match="external_task_id must be a non-empty"):
        ExternalTaskMarker(task_id="m", external_dag_id="child", external_task_id="")
    with DAG("bad2"), pytest.raises(DefinitionError, match="recursion_depth must be a positive"):
        ExternalTaskMarker(
            task_id="m", external_dag_id="c", external_task_id="t", recursion_depth=0
        )
