"""``TimeSensor`` and ``DayOfWeekSensor``: wait for a time of day, or for a day of the week.

``TimeSensor(target_time=time(6, 0))`` is done once the time of day in the
DAG's time zone has reached ``target_time`` (a ``time``; a naive one is in
the DAG's zone, an aware one in its own). ``DayOfWeekSensor(week_day=...)``
is done on the given day(s) (a name such as ``"Monday"``, a ``WeekDay``, or
several), checked on today's date in UTC or, with
``use_task_logical_date=True``, on the run's logical date (Airflow's rules and
argument names, so Airflow DAG files use them unchanged).

The design decision: ``TimeSensor`` places ``target_time`` on the date of the
moment it pokes, as Airflow's does, so a run that starts after that time of
day is done at its first poke; for a wait that crosses midnight use
``DateTimeSensor`` with a templated moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, tzinfo
from typing import Any

from partita.definitions.context import Context
from partita.definitions.sensor_operator import BaseSensorOperator
from partita.exceptions import DefinitionError
from partita.operators.calendar_branch import WeekDay


class TimeSensor(BaseSensorOperator):
    """Waits until ``target_time`` of the day (in the DAG's time zone) has come."""

    def __init__(self, *, target_time: time, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(target_time, time):
            raise DefinitionError(
                f"{self._where()}: target_time must be a datetime.time, got {target_time!r}; "
                "for a moment on a given date use DateTimeSensor"
            )
        self.target_time = target_time

    def target(self, context: Context) -> datetime:
        """Today's ``target_time``, as an aware moment."""
        dag = context.get("dag")
        zone: tzinfo = getattr(dag, "timezone", None) or UTC
        today = datetime.now(UTC).astimezone(zone).date()
        moment = datetime.combine(today, self.target_time)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)

    def poke(self, context: Context) -> bool:
        target = self.target(context)
        context["log"].info("waiting until %s", target.isoformat())
        return datetime.now(UTC) >= target


class DayOfWeekSensor(BaseSensorOperator):
    """Done on the given day(s) of the week."""

    def __init__(
        self,
        *,
        week_day: str | WeekDay | Iterable[str | WeekDay],
        use_task_logical_date: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.week_day = week_day
        self.use_task_logical_date = use_task_logical_date
        self._days = WeekDay.validate_week_day(week_day)

    def poke(self, context: Context) -> bool:
        moment = context["logical_date"] if self.use_task_logical_date else datetime.now(UTC)
        day = moment.isoweekday()
        names = sorted(WeekDay(d).name.capitalize() for d in self._days)
        context["log"].info("today is %s; waiting for %s", WeekDay(day).name.capitalize(), names)
        return day in self._days


__all__ = ["DayOfWeekSensor", "TimeSensor"]
