"""BranchDayOfWeekOperator, BranchDateTimeOperator and WeekDay; display names on DAGs and tasks."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from partita import (
    DAG,
    BranchDateTimeOperator,
    BranchDayOfWeekOperator,
    EmptyOperator,
    TaskState,
    WeekDay,
    task,
)
from partita.exceptions import DefinitionError

MONDAY_NOON = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)  # 2024-01-01 was a Monday
SATURDAY_23H = datetime(2024, 1, 6, 23, 0, tzinfo=UTC)


def _day_dag(week_day: object) -> DAG:
    with DAG("days") as dag:
        choose = BranchDayOfWeekOperator(
            task_id="choose",
            follow_task_ids_if_true="yes",
            follow_task_ids_if_false=["no"],
            week_day=week_day,
            use_task_logical_date=True,
        )
        choose >> [EmptyOperator(task_id="yes"), EmptyOperator(task_id="no")]
    return dag


@pytest.mark.parametrize(
    ("week_day", "when", "followed"),
    [
        ("Monday", MONDAY_NOON, "yes"),
        ("monday", SATURDAY_23H, "no"),
        ({WeekDay.SATURDAY, WeekDay.SUNDAY}, SATURDAY_23H, "yes"),
        ([WeekDay.SATURDAY, "Sunday"], MONDAY_NOON, "no"),
    ],
)
def test_day_of_week_branch_follows_the_day_of_the_logical_date(
    week_day: object, when: datetime, followed: str
) -> None:
    states = _day_dag(week_day).test(logical_date=when).task_states
    other = "no" if followed == "yes" else "yes"
    assert (states[followed], states[other]) == (TaskState.SUCCESS, TaskState.SKIPPED)


def test_a_wrong_day_name_is_refused_naming_the_days() -> None:
    with pytest.raises(DefinitionError, match="'Funday' is not a day of the week; use one of"):
        _day_dag("Funday")
    assert WeekDay.get_weekday_number("sunday") == 7


def _window_dag(lower: object, upper: object) -> DAG:
    with DAG("window") as dag:
        choose = BranchDateTimeOperator(
            task_id="choose",
            follow_task_ids_if_true=["inside"],
            follow_task_ids_if_false=["outside"],
            target_lower=lower,
            target_upper=upper,
            use_task_logical_date=True,
        )
        choose >> [EmptyOperator(task_id="inside"), EmptyOperator(task_id="outside")]
    return dag


@pytest.mark.parametrize(
    ("lower", "upper", "when", "inside"),
    [
        (time(11, 0), time(13, 0), MONDAY_NOON, True),
        (time(13, 0), time(14, 0), MONDAY_NOON, False),
        (time(22, 0), time(2, 0), SATURDAY_23H, True),  # a window across midnight
        (time(15, 0), time(0, 0), MONDAY_NOON, False),
        (datetime(2023, 12, 31, tzinfo=UTC), None, MONDAY_NOON, True),
        (None, datetime(2023, 12, 31, tzinfo=UTC), MONDAY_NOON, False),
    ],
)
def test_datetime_branch_checks_the_window(
    lower: object, upper: object, when: datetime, inside: bool
) -> None:
    states = _window_dag(lower, upper).test(logical_date=when).task_states
    expected = (
        (TaskState.SUCCESS, TaskState.SKIPPED)
        if inside
        else (
            TaskState.SKIPPED,
            TaskState.SUCCESS,
        )
    )
    assert (states["inside"], states["outside"]) == expected


def test_datetime_branch_needs_a_bound() -> None:
    with pytest.raises(DefinitionError, match="give target_lower, target_upper or both"):
        _window_dag(None, None)


def test_display_names_default_to_the_ids() -> None:
    with DAG("shown", dag_display_name="Shown to people") as dag:
        named = EmptyOperator(task_id="a", task_display_name="First step")
        plain = EmptyOperator(task_id="b")

        @task(task_display_name="Decorated")
        def c() -> None:
            return None

        named >> plain >> c()
    assert dag.dag_display_name == "Shown to people"
    assert DAG("plain").dag_display_name == "plain"
    names = {t.task_id: t.task_display_name for t in dag.tasks}
    assert names == {"a": "First step", "b": "b", "c": "Decorated"}
