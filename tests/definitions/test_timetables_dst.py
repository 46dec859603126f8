"""Cron fire times across daylight-saving changes, checked against a minute-by-minute oracle.

The oracle walks every real minute of a window in UTC, reads its wall time
in the zone and applies cron's rule directly: for a wildcard or step hour,
every real minute whose wall time matches fires; for a fixed hour, a wall
time fires at its first occurrence, and wall times skipped by a jump forward
fire once, at the first instant after the jump. The cron strings are generated
together with the sets of values their fields allow, so the oracle does not
use croniter at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partita.definitions.cron import CronSchedule
from partita.definitions.timetables import CronTriggerTimetable

MINUTE = timedelta(minutes=1)

#: Zones, each with days (UTC) around which windows are drawn: its 2024 DST changes, if any.
ZONES = {
    "Europe/Berlin": [datetime(2024, 3, 31), datetime(2024, 10, 27)],
    "America/New_York": [datetime(2024, 3, 10), datetime(2024, 11, 3)],
    "Australia/Lord_Howe": [datetime(2024, 4, 6), datetime(2024, 10, 5)],
    "Asia/Kolkata": [datetime(2024, 3, 31), datetime(2024, 7, 1)],
    "UTC": [datetime(2024, 2, 28), datetime(2024, 12, 31)],
}


@dataclass(frozen=True)
class Cron:
    """A generated cron string and the values each field allows."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    weekdays: frozenset[int]  # cron numbering: 0 = Sunday
    wildcard_hour: bool

    def matches(self, wall: datetime) -> bool:
        weekday = (wall.weekday() + 1) % 7
        return wall.minute in self.minutes and wall.hour in self.hours and weekday in self.weekdays


def _field(draw: st.DrawFn, low: int, high: int) -> tuple[str, frozenset[int], bool]:
    """One field: a fixed value, a list, a range, a step, or '*' (text, values, wildcard?)."""
    kind = draw(st.sampled_from(["fixed", "list", "range", "step", "star"]))
    if kind == "fixed":
        value = draw(st.integers(low, high))
        return str(value), frozenset({value}), False
    if kind == "list":
        values = draw(st.sets(st.integers(low, high), min_size=2, max_size=4))
        return ",".join(map(str, sorted(values))), frozenset(values), False
    if kind == "range":
        first = draw(st.integers(low, high - 1))
        last = draw(st.integers(first + 1, high))
        return f"{first}-{last}", frozenset(range(first, last + 1)), False
    if kind == "step":
        step = draw(st.integers(2, 7))
        return f"*/{step}", frozenset(range(low, high + 1, step)), True
    return "*", frozenset(range(low, high + 1)), True


@st.composite
def crons(draw: st.DrawFn) -> Cron:
    minute_text, minutes, _ = _field(draw, 0, 59)
    hour_text, hours, wildcard_hour = _field(draw, 0, 23)
    if draw(st.booleans()):
        weekday_text, weekdays = "*", frozenset(range(7))
    else:
        first = draw(st.integers(0, 5))
        last = draw(st.integers(first + 1, 6))
        weekday_text, weekdays = f"{first}-{last}", frozenset(range(first, last + 1))
    text = f"{minute_text} {hour_text} * * {weekday_text}"
    return Cron(text, minutes, hours, weekdays, wildcard_hour)


@st.composite
def windows(draw: st.DrawFn) -> tuple[str, datetime, datetime]:
    """A zone and a window [start, end) of up to 2.5 days near one of its DST changes."""
    zone = draw(st.sampled_from(sorted(ZONES)))
    day = draw(st.sampled_from(ZONES[zone])).replace(tzinfo=UTC)
    start = day + timedelta(minutes=draw(st.integers(-36 * 60, 24 * 60)))
    start += timedelta(seconds=draw(st.sampled_from([0, 0, 1, 30, 59])))
    end = start + timedelta(minutes=draw(st.integers(1, 60 * 60)))
    return zone, start, end


def oracle(cron: Cron, zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The fire times in [start, end) by cron's rule, from every real minute of the window."""
    fires: set[datetime] = set()
    instant = start.replace(second=0, microsecond=0)
    if instant < start:
        instant += MINUTE
    previous_wall = (instant - MINUTE).astimezone(zone).replace(tzinfo=None)
    while instant < end:
        local = instant.astimezone(zone)
        wall = local.replace(tzinfo=None)
        if cron.matches(wall) and (cron.wildcard_hour or local.fold == 0):
            fires.add(instant)
        skipped = previous_wall + MINUTE
        while not cron.wildcard_hour and skipped < wall:  # wall times the clocks jumped over
            if cron.matches(skipped):
                fires.add(instant)
            skipped += MINUTE
        previous_wall = wall
        instant += MINUTE
    return sorted(fires)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(cron=crons(), window=windows())
def test_fire_times_follow_crons_rule_in_every_zone(
    cron: Cron, window: tuple[str, datetime, datetime]
) -> None:
    zone_name, start, end = window
    zone = ZoneInfo(zone_name)
    fired = list(CronSchedule(cron.text, zone).between(start, end))
    assert fired == oracle(cron, zone, start, end)
    assert all(a < b for a, b in pairwise(fired)), "strictly increasing"
    assert all(t.tzinfo is not None for t in fired)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(cron=crons(), window=windows(), cut=st.floats(0, 1))
def test_runs_between_splits_at_any_instant(
    cron: Cron, window: tuple[str, datetime, datetime], cut: float
) -> None:
    zone_name, start, end = window
    middle = start + (end - start) * cut
    timetable = CronTriggerTimetable(cron.text, timezone=zone_name)
    whole = timetable.runs_between(start, end)
    assert whole == timetable.runs_between(start, middle) + timetable.runs_between(middle, end)
    assert all(run.logical_date == run.data_interval_end for run in whole)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(cron=crons(), window=windows())
def test_previous_and_next_fire_agree_with_the_oracle(
    cron: Cron, window: tuple[str, datetime, datetime]
) -> None:
    zone_name, start, end = window
    zone = ZoneInfo(zone_name)
    schedule = CronSchedule(cron.text, zone)
    expected = oracle(cron, zone, start, end)
    if expected:
        assert schedule.at_or_after(start) == expected[0]
        assert schedule.at_or_before(expected[-1]) == expected[-1]
        assert schedule.before(end) == expected[-1]
        for earlier, later in pairwise(expected[:31]):
            assert schedule.next_after(earlier) == later
            assert schedule.before(later) == earlier
    else:
        assert schedule.at_or_after(start) >= end
        assert schedule.before(end) < start
