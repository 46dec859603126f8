"""``LatestOnlyOperator``: downstream runs only for the latest schedule interval."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from partita import DAG, EmptyOperator, LatestOnlyOperator, PythonOperator, TaskState
from partita.definitions.timetables import (
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    DeltaTriggerTimetable,
    NullTimetable,
    OnceTimetable,
)
from partita.executors.in_process import run_dag
from partita.operators.latest_only import latest_window

S, K = TaskState.SUCCESS, TaskState.SKIPPED


def _seed_dag(schedule: Any = "@daily") -> DAG:
    """Seed 003: latest_only >> deploy_model, after training."""

    def _train_model(**context: Any) -> None:
        context["task_instance"].xcom_push(key="model_id", value=str(uuid.uuid4()))

    def _deploy_model(**context: Any) -> None:
        model_id = context["task_instance"].xcom_pull(task_ids="train_model", key="model_id")
        print(f"Deploying model {model_id}")

    with DAG("deploy", schedule=schedule, start_date=datetime(2024, 1, 1)) as dag:
        train_model = PythonOperator(task_id="train_model", python_callable=_train_model)
        latest_only = LatestOnlyOperator(task_id="latest_only")
        deploy_model = PythonOperator(task_id="deploy_model", python_callable=_deploy_model)
        train_model >> latest_only >> deploy_model
    return dag


def test_seed_latest_only_skips_deploy_for_an_old_scheduled_run() -> None:
    result = run_dag(_seed_dag(), logical_date=datetime(2020, 1, 1), run_type="scheduled")
    assert result.task_states == {"train_model": S, "latest_only": S, "deploy_model": K}
    log = result.logs("latest_only")
    assert "not the latest run" in log
    assert "skipping ['deploy_model']" in log


def test_seed_latest_only_runs_deploy_for_the_latest_scheduled_run() -> None:
    # '@daily' fires at midnight: the latest run is today's, until tomorrow's fires.
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    result = run_dag(_seed_dag(), logical_date=today, run_type="scheduled")
    assert result.task_states == {"train_model": S, "latest_only": S, "deploy_model": S}
    assert "Deploying model " in result.logs("deploy_model")
    assert "latest run: allowing execution to proceed" in result.logs("latest_only")


@pytest.mark.parametrize("run_type", ["manual", "test"])
def test_runs_started_by_hand_are_never_skipped(run_type: str) -> None:
    result = run_dag(_seed_dag(), logical_date=datetime(2020, 1, 1), run_type=run_type)
    assert result.task_states["deploy_model"] is S
    assert f"{run_type} run: allowing execution to proceed" in result.logs("latest_only")


def test_dag_test_of_the_seed_deploys() -> None:
    assert _seed_dag().test(logical_date=datetime(2020, 1, 1)).task_states["deploy_model"] is S


def test_a_timedelta_schedule_and_a_dag_without_schedule() -> None:
    hourly = _seed_dag(timedelta(hours=1))
    now = datetime.now(UTC)
    latest = run_dag(hourly, logical_date=now - timedelta(minutes=30), run_type="scheduled")
    old = run_dag(hourly, logical_date=now - timedelta(minutes=90), run_type="scheduled")
    assert latest.task_states["deploy_model"] is S
    assert old.task_states["deploy_model"] is K

    unscheduled = run_dag(_seed_dag(None), logical_date=datetime(2020, 1, 1), run_type="scheduled")
    assert unscheduled.task_states["deploy_model"] is S
    assert "no run is scheduled after this one" in unscheduled.logs("latest_only")


def test_only_the_direct_downstream_is_skipped_the_rest_follow_trigger_rules() -> None:
    with DAG("latest_rules", schedule="@daily") as dag:
        latest = LatestOnlyOperator(task_id="latest")
        deploy = EmptyOperator(task_id="deploy")
        report = EmptyOperator(task_id="report", trigger_rule="all_done")
        latest >> deploy >> report
    result = run_dag(dag, logical_date=datetime(2020, 1, 1), run_type="scheduled")
    assert result.task_states == {"latest": S, "deploy": K, "report": S}


def test_the_window_runs_from_the_interval_start_to_the_end_of_the_next_run() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    day = timedelta(days=1)
    # A cron trigger run covers [fire, fire]; the next fires at the next cron time.
    assert latest_window(CronTriggerTimetable("@daily"), start, start) == (start, start + day)
    six = datetime(2024, 1, 1, 6, tzinfo=UTC)
    assert latest_window(CronTriggerTimetable("0 6 * * *"), start, start) == (start, six)
    two_hours = DeltaTriggerTimetable(timedelta(hours=2))
    assert latest_window(two_hours, start, start) == (start, start + timedelta(hours=2))
    # Airflow 3: a data-interval run is the latest from its interval's start (not its end).
    daily = CronDataIntervalTimetable("@daily")
    assert latest_window(daily, start, start + day) == (start, start + 2 * day)
    assert latest_window(NullTimetable(), start, start) is None
    assert latest_window(OnceTimetable(), start, start) is None
