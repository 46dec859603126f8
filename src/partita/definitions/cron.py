"""Cron expressions read in a time zone, with cron's daylight-saving rules.

``croniter`` matches the five fields on naive wall-clock times; this module
turns those wall times into real instants of one zone. The design decision:
the DST rule is ours, not croniter's (which fires a fixed 02:30 twice on an
autumn day) nor Airflow's (which fires it at 03:30 on a spring-forward day).
It is the rule of Vixie cron, by the kind of hour field:

- a *fixed* hour (``30 2 * * *``, ``0 1-5 * * *``): a wall time that does not
  exist fires once, at the first instant after the gap (03:00 in Berlin); a
  wall time that occurs twice fires once, at its first occurrence;
- a *wildcard or step* hour (``30 * * * *``, ``0 */2 * * *``): every real
  instant whose wall time matches fires (both 02:30s in autumn), and a wall
  time that does not exist is skipped.

Wall times are walked in order; their instants are pushed on a heap and
released once no later wall time can give an earlier instant.
"""

from __future__ import annotations

import copy
import heapq
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo

from croniter import CroniterBadDateError, croniter

#: Airflow's cron presets and the expressions they stand for.
CRON_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_ONE_MINUTE = timedelta(minutes=1)
#: How far back to look for wall times whose second occurrence may still be ahead.
_FOLD_LOOKAHEAD = timedelta(hours=6)


class CronError(ValueError):
    """A cron expression that is not five valid fields (or a known preset)."""


def normalize_cron(expression: str) -> str:
    """The five-field form of ``expression`` (a preset expanded, whitespace collapsed).

    Raises ``CronError`` saying what is wrong.
    """
    if not isinstance(expression, str):
        raise CronError(f"a cron expression must be a string, not {type(expression).__name__}")
    text = expression.strip()
    text = CRON_PRESETS.get(text, text)
    fields = text.split()
    if len(fields) != 5:
        raise CronError(
            f"cron expression {expression!r} has {len(fields)} field(s); it needs 5 "
            "(minute hour day-of-month month day-of-week) or a preset like '@daily'"
        )
    normalized = " ".join(fields)
    if not croniter.is_valid(normalized):
        raise CronError(f"cron expression {expression!r} has a field out of range or misspelled")
    try:
        croniter(normalized, datetime(2000, 1, 1)).get_next(datetime)
    except (CroniterBadDateError, ValueError):
        raise CronError(
            f"cron expression {expression!r} never fires (no such day); fix its day and month"
        ) from None
    return normalized


def _is_wildcard_hour(expression: str) -> bool:
    hour_field = expression.split()[1]
    return "*" in hour_field or "/" in hour_field


def _local_wall(instant: datetime, zone: tzinfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


class CronSchedule:
    """The fire times of one cron expression in one time zone (aware datetimes)."""

    def __init__(self, expression: str, zone: tzinfo) -> None:
        self.expression = normalize_cron(expression)
        self.zone = zone
        self.wildcard_hour = _is_wildcard_hour(self.expression)
        self._gap_ends: dict[datetime, datetime] = {}
        self._parsed = croniter(self.expression, datetime(2000, 1, 1))

    def _walls_from(self, wall: datetime) -> croniter:
        """A croniter positioned at ``wall`` (a copy of the parsed one: parsing is slow)."""
        walker = copy.copy(self._parsed)
        walker.set_current(wall, force=True)
        return walker

    # -- wall time -> instants ---------------------------------------------------------
    def _instants_of(self, wall: datetime) -> tuple[datetime | None, datetime | None]:
        """(first instant or the gap's end, second instant of a repeated wall time)."""
        first = wall.replace(tzinfo=self.zone, fold=0)
        second = wall.replace(tzinfo=self.zone, fold=1)
        offset_first, offset_second = first.utcoffset(), second.utcoffset()
        if offset_first == offset_second:
            return first.astimezone(UTC), None
        if offset_first and offset_second and offset_first > offset_second:  # repeated
            repeat = second.astimezone(UTC) if self.wildcard_hour else None
            return first.astimezone(UTC), repeat
        # A wall time inside a gap: fold=1 maps before the change, fold=0 after it.
        end = self._gap_end(second.astimezone(UTC), first.astimezone(UTC))
        return (None if self.wildcard_hour else end), None

    def _gap_end(self, before: datetime, after: datetime) -> datetime:
        """The instant the clocks jump forward, between ``before`` and ``after``."""
        cached = self._gap_ends.get(before)
        if cached is not None:
            return cached
        target = after.astimezone(self.zone).utcoffset()
        low, high = before, after  # offset(low) != target, offset(high) == target
        while high - low > timedelta(seconds=1):
            middle = low + (high - low) / 2
            if middle.astimezone(self.zone).utcoffset() == target:
                high = middle
            else:
                low = middle
        end = high.replace(microsecond=0)
        self._gap_ends[before] = end
        return end

    def _lower_bound(self, wall: datetime) -> datetime:
        """No instant of ``wall`` or of a later wall time is earlier than this."""
        first, _ = self._instants_of(wall)
        if first is not None:
            return first
        return self._gap_end(
            wall.replace(tzinfo=self.zone, fold=1).astimezone(UTC),
            wall.replace(tzinfo=self.zone, fold=0).astimezone(UTC),
        )

    def instant_of(self, wall: datetime) -> datetime:
        """The instant naive wall time ``wall`` stands for in this zone (fixed-hour rule).

        Its first occurrence when the clocks repeat it; the end of the gap when it
        does not exist (the rule a fixed-hour expression fires by).
        """
        return self._lower_bound(wall)

    # -- iteration ---------------------------------------------------------------------
    def fires_after(self, after: datetime) -> Iterator[datetime]:
        """Every fire time strictly after ``after``, in order, without end (UTC)."""
        after = after.astimezone(UTC)
        # A wall time before ``after``'s own may still occur again after it (autumn).
        start_wall = min(
            _local_wall(after, self.zone),
            _local_wall(after, self.zone) - self._offset_drop(after),
        )
        walls = self._walls_from(start_wall - _ONE_MINUTE)
        pending: list[datetime] = []
        last: datetime | None = None
        while True:
            wall = walls.get_next(datetime)
            for instant in self._instants_of(wall):
                if instant is not None and instant > after:
                    heapq.heappush(pending, instant)
            bound = self._lower_bound(wall)
            while pending and pending[0] <= bound:
                instant = heapq.heappop(pending)
                if instant != last:
                    last = instant
                    yield instant

    def _offset_drop(self, instant: datetime) -> timedelta:
        now = instant.astimezone(self.zone).utcoffset() or timedelta(0)
        later = (instant + _FOLD_LOOKAHEAD).astimezone(self.zone).utcoffset() or timedelta(0)
        return max(now - later, timedelta(0))

    def next_after(self, after: datetime) -> datetime:
        """The first fire time strictly after ``after``."""
        return next(self.fires_after(after))

    def at_or_after(self, moment: datetime) -> datetime:
        """``moment`` if it is a fire time, else the next one."""
        return self.next_after(moment - timedelta(microseconds=1))

    def at_or_before(self, moment: datetime) -> datetime:
        """The last fire time not after ``moment``."""
        moment = moment.astimezone(UTC)
        window = timedelta(hours=3)
        while True:
            latest: datetime | None = None
            for instant in self.fires_after(moment - window):
                if instant > moment:
                    break
                latest = instant
            if latest is not None:
                return latest
            walls = self._walls_from(_local_wall(moment - window, self.zone))
            previous = walls.get_prev(datetime).replace(tzinfo=UTC)
            window = (moment - previous) + timedelta(days=1)

    def before(self, moment: datetime) -> datetime:
        """The last fire time strictly before ``moment``."""
        return self.at_or_before(moment - timedelta(microseconds=1))

    def between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """The fire times ``t`` with ``start <= t < end``."""
        for instant in self.fires_after(start - timedelta(microseconds=1)):
            if instant >= end:
                return
            yield instant


__all__ = ["CRON_PRESETS", "CronError", "CronSchedule", "normalize_cron"]
