"""Time-window partitions: one partition per window between two fire times of a cron string.

``DailyPartitionsDefinition(start_date="2024-01-01", timezone="Europe/Berlin")``
has a partition per local day from its start; the key is the window's start
formatted with ``fmt`` (``2024-01-01``). Hourly, weekly and monthly are the
same with another cron string; ``TimeWindowPartitionsDefinition`` takes any.
As in Dagster, a window is a partition only once it has ended (the window of
today appears tomorrow), unless ``end_offset`` adds windows past the last
complete one (``end_offset=1``: the current window too) or removes some.

The design decision: fire times are the DST rule of ``definitions/cron.py``
(a local midnight that does not exist fires at the end of the gap), but the
common shapes (a fixed minute and hour every day, week or month; a fixed
minute every hour) are stepped by date arithmetic instead of ``croniter``,
so listing ten thousand daily keys takes milliseconds; any other cron string
goes through ``CronSchedule``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import ClassVar, NamedTuple

from partita.definitions.cron import CronError, CronSchedule
from partita.definitions.partitions import (
    DynamicPartitionsStore,
    PartitionKeyRange,
    PartitionsDefinition,
)
from partita.definitions.timezones import TimezoneError, parse_timezone, timezone_name
from partita.exceptions import DefinitionError, PartitionKeyError

_TICK = timedelta(microseconds=1)
_HOUR = timedelta(hours=1)


class TimeWindow(NamedTuple):
    """A partition's time window: ``start`` included, ``end`` excluded, in its zone."""

    start: datetime
    end: datetime


class _Cadence:
    """The fire times of a cron string in a zone, stepped by arithmetic where it can be."""

    def __init__(self, cron: str, zone: tzinfo) -> None:
        self.schedule = CronSchedule(cron, zone)
        self.zone = zone
        minute, hour, dom, month, dow = self.schedule.expression.split()
        self.kind: str | None = None
        self.minute = int(minute) if minute.isdigit() else -1
        self.hour = int(hour) if hour.isdigit() else -1
        self.day = -1
        if self.minute < 0 or month != "*":
            return
        if hour == "*" and dom == "*" and dow == "*":
            self.kind = "hourly"
        elif self.hour >= 0 and dom == "*" and dow == "*":
            self.kind = "daily"
        elif self.hour >= 0 and dom == "*" and dow.isdigit() and int(dow) <= 7:
            self.kind, self.day = "weekly", (int(dow) - 1) % 7  # cron 0/7 = Sunday
        elif self.hour >= 0 and dow == "*" and dom.isdigit() and 1 <= int(dom) <= 28:
            self.kind, self.day = "monthly", int(dom)

    # -- fixed hour: wall times by date arithmetic ------------------------------------
    def _margin(self) -> timedelta:
        return {"daily": timedelta(days=2), "weekly": timedelta(days=8)}.get(
            str(self.kind), timedelta(days=33)
        )

    def _walls_from(self, day: date) -> Iterator[datetime]:
        at = time(self.hour, self.minute)
        if self.kind == "daily":
            while True:
                yield datetime.combine(day, at)
                day += timedelta(days=1)
        elif self.kind == "weekly":
            day += timedelta(days=(self.day - day.weekday()) % 7)
            while True:
                yield datetime.combine(day, at)
                day += timedelta(days=7)
        else:
            year, month = day.year, day.month
            if day.day > self.day:
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            while True:
                yield datetime.combine(date(year, month, self.day), at)
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def _instants_from(self, moment: datetime) -> Iterator[datetime]:
        local = moment.astimezone(self.zone).date() - self._margin()
        instant_of = self.schedule.instant_of
        for wall in self._walls_from(local):
            yield instant_of(wall)

    # -- a fixed minute of every hour: UTC hours -------------------------------------
    def _minute_in_utc(self, moment: datetime) -> int | None:
        offset = moment.astimezone(self.zone).utcoffset() or timedelta(0)
        if offset.total_seconds() % 60:
            return None
        return (self.minute - int(offset.total_seconds() // 60)) % 60

    def _hourly_between(self, start: datetime, end: datetime) -> list[datetime] | None:
        minute = self._minute_in_utc(start)
        if minute is None or minute != self._minute_in_utc(end):
            return None  # an offset of another fraction of an hour on the way: the slow path
        first = start.astimezone(UTC).replace(minute=minute, second=0, microsecond=0)
        if first < start:
            first += _HOUR
        out = []
        while first < end:
            out.append(first)
            first += _HOUR
        return out

    # -- queries -----------------------------------------------------------------------
    def between(self, start: datetime, end: datetime) -> list[datetime]:
        """Fire times ``t`` with ``start <= t < end``."""
        if self.kind == "hourly":
            found = self._hourly_between(start, end)
            if found is not None:
                return found
        if self.kind in (None, "hourly"):
            return list(self.schedule.between(start, end))
        out = []
        for instant in self._instants_from(start):
            if instant >= end:
                break
            if instant >= start:
                out.append(instant)
        return out

    def next_after(self, moment: datetime) -> datetime:
        """The first fire time strictly after ``moment``."""
        if self.kind is None:
            return self.schedule.next_after(moment)
        if self.kind == "hourly":
            found = self.between(moment + _TICK, moment + 2 * _HOUR)
            return found[0] if found else self.schedule.next_after(moment)
        return next(t for t in self._instants_from(moment) if t > moment)

    def at_or_before(self, moment: datetime) -> datetime:
        """The last fire time not after ``moment``."""
        if self.kind is None:
            return self.schedule.at_or_before(moment)
        if self.kind == "hourly":
            found = self.between(moment - 2 * _HOUR, moment + _TICK)
            return found[-1] if found else self.schedule.at_or_before(moment)
        latest = None
        for instant in self._instants_from(moment - self._margin()):
            if instant > moment:
                break
            latest = instant
        assert latest is not None  # the margin holds at least one fire time
        return latest


def _as_datetime(value: datetime | date | str, fmt: str, zone: tzinfo, what: str) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                raise DefinitionError(
                    f"{what} {value!r} matches neither the format {fmt!r} nor ISO 8601; write "
                    f"e.g. {datetime(2024, 1, 1).strftime(fmt)!r}"
                ) from None
        value = parsed
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if not isinstance(value, datetime):
        raise DefinitionError(f"{what} must be a datetime, a date or a string, got {value!r}")
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value.astimezone(zone)


class TimeWindowPartitionsDefinition(PartitionsDefinition):
    """A partition per window between consecutive fire times of ``cron_schedule``.

    ``start`` (a datetime, or a string in ``fmt``) is where the first window
    may begin; ``end`` (optional) where windows stop; ``timezone`` the zone
    of the cron string and of the keys; ``end_offset`` adds (or removes)
    windows after the last one that has ended.
    """

    def __init__(
        self,
        start: datetime | date | str,
        fmt: str,
        end: datetime | date | str | None = None,
        *,
        cron_schedule: str,
        timezone: str | tzinfo | None = None,
        end_offset: int = 0,
    ) -> None:
        name = type(self).__name__
        try:
            zone = parse_timezone(timezone or "UTC")
            self.timezone = timezone_name(zone)
            self._cadence = _Cadence(cron_schedule, zone)
        except (TimezoneError, CronError) as exc:
            raise DefinitionError(f"{name}: {exc}") from None
        if not isinstance(fmt, str) or not fmt:
            raise DefinitionError(f"{name}: fmt must be a strftime format, got {fmt!r}")
        if not isinstance(end_offset, int) or isinstance(end_offset, bool):
            raise DefinitionError(f"{name}: end_offset must be an integer, got {end_offset!r}")
        self.cron_schedule = self._cadence.schedule.expression
        self.fmt = fmt
        self.zone = zone
        self.start = _as_datetime(start, fmt, zone, f"{name}: start")
        self.end = None if end is None else _as_datetime(end, fmt, zone, f"{name}: end")
        self.end_offset = end_offset
        self._first = self._cadence.next_after(self.start - _TICK)

    # -- keys and windows ----------------------------------------------------------------
    def key_of(self, start: datetime) -> str:
        """The key of the window starting at ``start``."""
        return start.astimezone(self.zone).strftime(self.fmt)

    def _bound(self, current_time: datetime | None) -> datetime:
        """Windows starting before this instant are partitions (``end_offset`` applied)."""
        now = datetime.now(UTC) if current_time is None else current_time
        if now.tzinfo is None:
            now = now.replace(tzinfo=self.zone)
        bound = self.shifted(self._cadence.at_or_before(now), self.end_offset)
        return bound if self.end is None else min(bound, self.end)

    def _starts(self, start: datetime, bound: datetime) -> list[datetime]:
        """Window starts in ``[start, bound)``; a key repeated (an autumn hour) kept once."""
        starts = self._cadence.between(max(start, self._first), bound)
        if self._cadence.kind in ("daily", "weekly", "monthly"):
            return starts  # one fire time per wall time: keys are distinct
        out: list[datetime] = []
        last = None
        for instant in starts:
            key = self.key_of(instant)
            if key != last:
                out.append(instant)
                last = key
        return out

    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        return [self.key_of(s) for s in self._starts(self._first, self._bound(current_time))]

    def get_partition_time_windows(self, current_time: datetime | None = None) -> list[TimeWindow]:
        """The window of every partition, in order."""
        starts = self._starts(self._first, self._bound(current_time))
        return [self.time_window_for_partition_key(self.key_of(s)) for s in starts]

    def start_of_key(self, partition_key: str) -> datetime | None:
        """The instant the window of ``partition_key`` starts; None when it is no window's key."""
        try:
            wall = datetime.strptime(partition_key, self.fmt)
        except ValueError:
            return None
        if wall.tzinfo is not None:
            instant = wall.astimezone(UTC)
        else:
            instant = self._cadence.schedule.instant_of(wall)
        if self.key_of(instant) != partition_key:
            return None
        if self._cadence.next_after(instant - _TICK) != instant:
            return None
        return instant

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> bool:
        start = self.start_of_key(partition_key)
        return start is not None and self._first <= start < self._bound(current_time)

    def time_window_for_partition_key(self, partition_key: str) -> TimeWindow:
        """The window of ``partition_key``: its start and the next window's start, local."""
        start = self.start_of_key(partition_key)
        if start is None:
            raise PartitionKeyError(
                f"partition key {partition_key!r} is not a window of {self!r}; its keys are "
                f"window starts written {self.fmt!r}, e.g. {self.key_of(self._first)!r}"
            )
        end = self._cadence.next_after(start)
        while self.key_of(end) == partition_key:  # an autumn hour: both are one window
            end = self._cadence.next_after(end)
        return TimeWindow(start.astimezone(self.zone), end.astimezone(self.zone))

    def time_windows_between(self, first_key: str, last_key: str) -> list[TimeWindow]:
        """The windows of the keys from ``first_key`` to ``last_key`` (both included), in order.

        One walk of the cadence, not one per key: 10,000 windows cost what 10,000 keys do.
        """
        first, last = self.start_of_key(first_key), self.start_of_key(last_key)
        if first is None or last is None:
            bad = first_key if first is None else last_key
            raise PartitionKeyError(f"partition key {bad!r} is not a window of {self!r}")
        end = self.time_window_for_partition_key(last_key).end.astimezone(UTC)
        starts = self._starts(first, end)
        zone = self.zone
        return [
            TimeWindow(a.astimezone(zone), b.astimezone(zone))
            for a, b in zip(starts, [*starts[1:], end], strict=True)
        ]

    def get_partition_keys_in_range(
        self,
        partition_key_range: PartitionKeyRange,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        bound = self._bound(current_time)

        def start_of_partition(key: str) -> datetime | None:
            start = self.start_of_key(key)
            return start if start is not None and self._first <= start < bound else None

        first, last = self._range_ends(partition_key_range, start_of_partition, current_time, None)
        return [self.key_of(s) for s in self._starts(first, last + _TICK)]

    def get_last_partition_key(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> str | None:
        bound = self._bound(current_time)
        if bound <= self._first:
            return None
        return self.key_of(self._cadence.at_or_before(bound - _TICK))

    def get_first_partition_key(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> str | None:
        return self.key_of(self._first) if self._first < self._bound(current_time) else None

    def shifted(self, instant: datetime, windows: int) -> datetime:
        """The fire time ``windows`` windows after (before, when negative) fire time ``instant``."""
        for _ in range(windows):
            instant = self._cadence.next_after(instant)
        for _ in range(-windows):
            instant = self._cadence.at_or_before(instant - _TICK)
        return instant

    def keys_overlapping(
        self, start: datetime, end: datetime, current_time: datetime | None = None
    ) -> tuple[list[str], list[str]]:
        """Keys of the windows overlapping ``[start, end)``: (partitions, windows that are not)."""
        first = self._cadence.at_or_before(start)
        bound = self._bound(current_time)
        found: list[str] = []
        missing: list[str] = []
        for instant in self._cadence.between(first, end):
            exists = self._first <= instant < bound
            (found if exists else missing).append(self.key_of(instant))
        return list(dict.fromkeys(found)), list(dict.fromkeys(missing))

    # -- wrong keys ------------------------------------------------------------------------
    def _missing_key_message(
        self,
        partition_key: str,
        current_time: datetime | None,
        dynamic_partitions_store: DynamicPartitionsStore | None,
    ) -> str:
        return self.unknown_key_message(partition_key, (), current_time)

    def unknown_key_message(
        self, partition_key: str, keys: object = (), current_time: datetime | None = None
    ) -> str:
        bound = self._bound(current_time)
        if bound <= self._first:
            return (
                f"partition key {partition_key!r} is not a partition of {self!r}, which has no "
                f"partitions yet (its first window, {self.key_of(self._first)}, has not ended)"
            )
        last = self._cadence.at_or_before(bound - _TICK)
        nearest = self._nearest(partition_key, bound, last)
        return (
            f"partition key {partition_key!r} is not a partition of {self!r}; nearest valid "
            f"keys: {', '.join(nearest)} (keys are written {self.fmt!r}, from "
            f"{self.key_of(self._first)} to {self.key_of(last)})"
        )

    def _nearest(self, partition_key: str, bound: datetime, last: datetime) -> list[str]:
        wall = None
        for parse in (lambda k: datetime.strptime(k, self.fmt), datetime.fromisoformat):
            try:
                wall = parse(partition_key)
                break
            except ValueError:
                continue
        if wall is None:
            keys = self.get_partition_keys(bound + _TICK)
            return super().nearest_partition_keys(partition_key, keys)
        moment = wall.replace(tzinfo=self.zone) if wall.tzinfo is None else wall
        moment = min(max(moment, self._first), last)
        window = self._cadence.at_or_before(moment)
        candidates = [self._cadence.at_or_before(window - _TICK), window]
        candidates.append(self._cadence.next_after(window))
        valid = [c for c in candidates if self._first <= c < bound]
        near = sorted(valid, key=lambda c: abs(c - moment))[:2]
        return [self.key_of(c) for c in sorted(near)]

    # -- identity ------------------------------------------------------------------------
    def _identity(self) -> tuple[object, ...]:
        return (self.cron_schedule, self.timezone, self.start, self.end, self.fmt, self.end_offset)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TimeWindowPartitionsDefinition)
            and other._identity() == self._identity()
        )

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        extra = f", end={self.end.strftime(self.fmt)!r}" if self.end is not None else ""
        extra += f", timezone={self.timezone!r}" if self.timezone != "UTC" else ""
        if self.end_offset:
            extra += f", end_offset={self.end_offset}"
        start = self.start.strftime(self.fmt)
        return (
            f"{type(self).__name__}(start={start!r}, cron_schedule={self.cron_schedule!r}{extra})"
        )


#: The offsets the fixed-cadence definitions take, with their ranges.
_OFFSET_RANGES = {"minute_offset": (0, 59), "hour_offset": (0, 23)}


class _FixedCadencePartitionsDefinition(TimeWindowPartitionsDefinition):
    """Hourly, daily, weekly and monthly: a cron string filled in from checked offsets.

    A subclass names its cron template (fields ``{minute_offset}``,
    ``{hour_offset}``, ``{day_offset}``), its default key format and the range
    of its ``day_offset``; its ``__init__`` only keeps its public signature.
    """

    _cron_template: ClassVar[str]
    _default_fmt: ClassVar[str] = "%Y-%m-%d"
    _day_range: ClassVar[tuple[int, int]] = (0, 6)

    def _init_cadence(
        self,
        start_date: datetime | date | str,
        end_date: datetime | date | str | None,
        timezone: str | tzinfo | None,
        fmt: str | None,
        end_offset: int,
        **offsets: int,
    ) -> None:
        name = type(self).__name__
        checked: dict[str, int] = {}
        for what, value in offsets.items():
            low, high = _OFFSET_RANGES.get(what, self._day_range)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise DefinitionError(
                    f"{name}: {what} must be an integer from {low} to {high}, got {value!r}"
                )
            checked[what] = value
        TimeWindowPartitionsDefinition.__init__(
            self, start_date, fmt or self._default_fmt, end_date,
            cron_schedule=self._cron_template.format(**checked), timezone=timezone,
            end_offset=end_offset,
        )  # fmt: skip


class HourlyPartitionsDefinition(_FixedCadencePartitionsDefinition):
    """A partition per hour (``minute_offset`` past it); keys ``2024-01-01-13:00``."""

    _cron_template = "{minute_offset} * * * *"
    _default_fmt = "%Y-%m-%d-%H:%M"

    def __init__(
        self,
        start_date: datetime | date | str,
        end_date: datetime | date | str | None = None,
        minute_offset: int = 0,
        timezone: str | tzinfo | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
    ) -> None:
        self._init_cadence(
            start_date, end_date, timezone, fmt, end_offset, minute_offset=minute_offset
        )


class DailyPartitionsDefinition(_FixedCadencePartitionsDefinition):
    """A partition per day (from ``hour_offset:minute_offset``); keys ``2024-01-31``."""

    _cron_template = "{minute_offset} {hour_offset} * * *"

    def __init__(
        self,
        start_date: datetime | date | str,
        end_date: datetime | date | str | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        timezone: str | tzinfo | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
    ) -> None:
        self._init_cadence(
            start_date, end_date, timezone, fmt, end_offset,
            minute_offset=minute_offset, hour_offset=hour_offset,
        )  # fmt: skip


class WeeklyPartitionsDefinition(_FixedCadencePartitionsDefinition):
    """A partition per week, starting on ``day_offset`` (0 = Sunday); keys ``2024-01-07``."""

    _cron_template = "{minute_offset} {hour_offset} * * {day_offset}"

    def __init__(
        self,
        start_date: datetime | date | str,
        end_date: datetime | date | str | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        day_offset: int = 0,
        timezone: str | tzinfo | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
    ) -> None:
        self._init_cadence(
            start_date, end_date, timezone, fmt, end_offset,
            minute_offset=minute_offset, hour_offset=hour_offset, day_offset=day_offset,
        )  # fmt: skip


class MonthlyPartitionsDefinition(_FixedCadencePartitionsDefinition):
    """A partition per month, starting on day ``day_offset`` (1 to 28); keys ``2024-01-01``."""

    _cron_template = "{minute_offset} {hour_offset} {day_offset} * *"
    _day_range = (1, 28)

    def __init__(
        self,
        start_date: datetime | date | str,
        end_date: datetime | date | str | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        day_offset: int = 1,
        timezone: str | tzinfo | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
    ) -> None:
        self._init_cadence(
            start_date, end_date, timezone, fmt, end_offset,
            minute_offset=minute_offset, hour_offset=hour_offset, day_offset=day_offset,
        )  # fmt: skip


__all__ = [
    "DailyPartitionsDefinition",
    "HourlyPartitionsDefinition",
    "MonthlyPartitionsDefinition",
    "TimeWindow",
    "TimeWindowPartitionsDefinition",
    "WeeklyPartitionsDefinition",
]
