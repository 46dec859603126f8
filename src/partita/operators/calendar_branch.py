"""Branches on the calendar: ``BranchDayOfWeekOperator``, ``BranchDateTimeOperator``, ``WeekDay``.

Both follow ``follow_task_ids_if_true`` when the moment checked matches and
``follow_task_ids_if_false`` otherwise; every other direct downstream task is
skipped, as with any branch. The moment checked is "now" in the DAG's time
zone, or the run's logical date with ``use_task_logical_date=True`` (Airflow's
semantics and argument names, so Airflow DAG files use them unchanged).

The design decision: a bare ``time`` bound is placed on the date of the moment
checked, and a window whose upper time is before its lower one ends the next
day (``22:00``-``02:00`` spans midnight), so one comparison covers both kinds.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time, timedelta, tzinfo

from partita.definitions.context import Context
from partita.exceptions import DefinitionError
from partita.operators.branch import BaseBranchOperator, BranchChoice


class WeekDay(enum.IntEnum):
    """Days of the week, numbered as ISO 8601 does (Monday is 1)."""

    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7

    @classmethod
    def get_weekday_number(cls, week_day_str: str) -> int:
        """The ISO number of a day name (``"monday"``, ``"Monday"``, ``"MONDAY"``)."""
        try:
            return cls[week_day_str.strip().upper()].value
        except KeyError:
            names = ", ".join(day.name.capitalize() for day in cls)
            raise DefinitionError(
                f"{week_day_str!r} is not a day of the week; use one of {names}"
            ) from None

    @classmethod
    def convert(cls, day: str | WeekDay) -> int:
        """The ISO number of ``day``, a name or a ``WeekDay``."""
        return day.value if isinstance(day, WeekDay) else cls.get_weekday_number(day)

    @classmethod
    def validate_week_day(cls, week_day: str | WeekDay | Iterable[str | WeekDay]) -> set[int]:
        """The ISO numbers of one day or of several."""
        days = [week_day] if isinstance(week_day, str | WeekDay) else list(week_day)
        if not days:
            raise DefinitionError("week_day names no day; give a day name, a WeekDay or several")
        return {cls.convert(day) for day in days}


class _CalendarBranch(BaseBranchOperator):
    """The shared half: two lists of task ids, and the moment to check."""

    def __init__(
        self,
        *,
        follow_task_ids_if_true: str | Sequence[str],
        follow_task_ids_if_false: str | Sequence[str],
        use_task_logical_date: bool = False,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.follow_task_ids_if_true = follow_task_ids_if_true
        self.follow_task_ids_if_false = follow_task_ids_if_false
        self.use_task_logical_date = use_task_logical_date

    def moment(self, context: Context) -> datetime:
        """The run's logical date, or now, in the DAG's time zone."""
        zone: tzinfo = context["dag"].timezone
        if self.use_task_logical_date:
            return context["logical_date"].astimezone(zone)
        return datetime.now(UTC).astimezone(zone)

    def follow(self, matches: bool) -> BranchChoice:
        chosen = self.follow_task_ids_if_true if matches else self.follow_task_ids_if_false
        return [chosen] if isinstance(chosen, str) else list(chosen)


class BranchDayOfWeekOperator(_CalendarBranch):
    """Follows one branch on the given day(s) of the week, the other branch on other days."""

    def __init__(
        self, *, week_day: str | WeekDay | Iterable[str | WeekDay], **kwargs: object
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.week_day = week_day
        self._days = WeekDay.validate_week_day(week_day)

    def choose_branch(self, context: Context) -> BranchChoice:
        return self.follow(self.moment(context).isoweekday() in self._days)


class BranchDateTimeOperator(_CalendarBranch):
    """Follows one branch when the moment is within ``[target_lower, target_upper]``.

    Either bound may be ``None`` (open) but not both; a bound is a ``datetime``
    or a ``time`` of day (placed on the date of the moment checked).
    """

    def __init__(
        self,
        *,
        target_lower: datetime | time | None = None,
        target_upper: datetime | time | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        if target_lower is None and target_upper is None:
            raise DefinitionError(
                f"{self._where()}: give target_lower, target_upper or both; both are None"
            )
        self.target_lower = target_lower
        self.target_upper = target_upper

    def choose_branch(self, context: Context) -> BranchChoice:
        now = self.moment(context)
        lower = _on_date(self.target_lower, now)
        upper = _on_date(self.target_upper, now)
        both_times = isinstance(self.target_lower, time) and isinstance(self.target_upper, time)
        if both_times and lower is not None and upper is not None and upper < lower:
            upper += timedelta(days=1)
        inside = (lower is None or lower <= now) and (upper is None or now <= upper)
        return self.follow(inside)


def _on_date(bound: datetime | time | None, moment: datetime) -> datetime | None:
    """``bound`` as an aware datetime: a time of day on ``moment``'s date, in its zone."""
    if bound is None:
        return None
    if isinstance(bound, datetime):
        return bound if bound.tzinfo is not None else bound.replace(tzinfo=moment.tzinfo)
    return datetime.combine(moment.date(), bound.replace(tzinfo=None), tzinfo=moment.tzinfo)


__all__ = ["BranchDateTimeOperator", "BranchDayOfWeekOperator", "WeekDay"]
