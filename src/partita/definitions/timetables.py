"""Timetables: when a DAG's runs happen and which data interval each run covers.

One object owns the interval math of a schedule: the scheduler asks it for
the next run (``next_dagrun_info``), a manual run asks it for its data
interval (``infer_manual_data_interval``), ``LatestOnlyOperator`` asks it for
the run after this one. The semantics are Airflow 3's, class for class:

- ``CronTriggerTimetable`` (a cron string): a run at each fire time; its
  data interval is ``[fire - interval, fire]`` (by default empty) and its
  logical date that interval's start (by default the fire time);
- ``DeltaTriggerTimetable`` (a ``timedelta``): the same, every ``delta``;
- ``CronDataIntervalTimetable`` / ``DeltaDataIntervalTimetable``: a run per
  interval between consecutive fire times, created when the interval ends;
  its logical date is the interval's start;
- ``OnceTimetable`` (``@once``) and ``NullTimetable`` (``schedule=None``).

The design decision: timetables are pure. They read no clock unless asked
(``next_dagrun_info(..., now=...)`` takes the time to decide at), no settings
and no storage, and every datetime they return is aware. The base class and
``DagRunInfo`` are in ``definitions/timetable_base.py``; cron fire times, with
cron's daylight-saving rule, come from ``definitions/cron.py``.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from partita.definitions.cron import CronSchedule
from partita.definitions.timetable_base import (
    DagRunInfo,
    TimeRestriction,
    Timetable,
    deserialize_timetable,
)
from partita.definitions.timezones import parse_timezone, timezone_name

_NO_INTERVAL = timedelta(0)


class NullTimetable(Timetable):
    """``schedule=None``: runs only when started by hand."""

    kind = "none"
    periodic = False

    def next_dagrun_info(
        self,
        last_automated: DagRunInfo | None,
        restriction: TimeRestriction,
        *,
        now: datetime | None = None,
    ) -> DagRunInfo | None:
        return None

    def infer_manual_data_interval(self, run_after: datetime) -> tuple[datetime, datetime]:
        run_after = self._aware(run_after)
        return run_after, run_after

    @property
    def summary(self) -> str:
        return "None"

    @property
    def description(self) -> str:
        return "Never, external triggers only"


class OnceTimetable(NullTimetable):
    """``@once``: one run, at the DAG's ``start_date``."""

    kind = "once"

    def next_dagrun_info(
        self,
        last_automated: DagRunInfo | None,
        restriction: TimeRestriction,
        *,
        now: datetime | None = None,
    ) -> DagRunInfo | None:
        if last_automated is not None or restriction.earliest is None:
            return None
        earliest = self._aware(restriction.earliest)
        if restriction.latest is not None and earliest > self._aware(restriction.latest):
            return None
        return DagRunInfo.exact(earliest)

    @property
    def summary(self) -> str:
        return "@once"

    @property
    def description(self) -> str:
        return "Once, as soon as possible"


class _Alignment(Timetable):
    """The four steps both kinds of periodic timetables are built from."""

    @abstractmethod
    def _get_next(self, current: datetime) -> datetime:
        """The first scheduled time after ``current``."""

    @abstractmethod
    def _get_prev(self, current: datetime) -> datetime:
        """The last scheduled time before ``current``."""

    @abstractmethod
    def _align_to_next(self, current: datetime) -> datetime:
        """``current`` if it is a scheduled time (or the schedule has no grid), else the next."""

    @abstractmethod
    def _align_to_prev(self, current: datetime) -> datetime:
        """``current`` if it is a scheduled time (or the schedule has no grid), else the last."""


class _CronAlignment(_Alignment):
    """A grid of cron fire times in a zone."""

    def __init__(self, cron: str, *, timezone: str | tzinfo = "UTC") -> None:
        self.timezone = parse_timezone(timezone)
        self._schedule = CronSchedule(cron, self.timezone)
        self._given = cron.strip()

    @property
    def expression(self) -> str:
        """The five cron fields (a preset expanded)."""
        return self._schedule.expression

    @property
    def summary(self) -> str:
        return self._given

    @property
    def description(self) -> str:
        return f"cron {self.expression!r} in {timezone_name(self.timezone)}"

    def _get_next(self, current: datetime) -> datetime:
        return self._schedule.next_after(current)

    def _get_prev(self, current: datetime) -> datetime:
        return self._schedule.before(current)

    def _align_to_next(self, current: datetime) -> datetime:
        return self._schedule.at_or_after(current)

    def _align_to_prev(self, current: datetime) -> datetime:
        return self._schedule.at_or_before(current)

    def _fields(self) -> dict[str, Any]:
        return {"expression": self._given, "timezone": timezone_name(self.timezone)}


class _DeltaAlignment(_Alignment):
    """Steps of a fixed length, with no grid to align to."""

    def __init__(self, delta: timedelta) -> None:
        if not isinstance(delta, timedelta) or delta <= _NO_INTERVAL:
            raise ValueError(f"a schedule delta must be a positive timedelta, got {delta!r}")
        self.delta = delta

    @property
    def summary(self) -> str:
        return str(self.delta)

    @property
    def description(self) -> str:
        return f"every {self.delta}"

    def _get_next(self, current: datetime) -> datetime:
        return current + self.delta

    def _get_prev(self, current: datetime) -> datetime:
        return current - self.delta

    def _align_to_next(self, current: datetime) -> datetime:
        return current

    def _align_to_prev(self, current: datetime) -> datetime:
        return current

    def _fields(self) -> dict[str, Any]:
        return {"delta": self.delta.total_seconds()}


class _TriggerTimetable(_Alignment):
    """Runs at the scheduled times themselves; the data interval ends at the run."""

    interval: timedelta = _NO_INTERVAL

    def next_dagrun_info(
        self,
        last_automated: DagRunInfo | None,
        restriction: TimeRestriction,
        *,
        now: datetime | None = None,
    ) -> DagRunInfo | None:
        earliest = None if restriction.earliest is None else self._aware(restriction.earliest)
        if restriction.catchup:
            if last_automated is not None:
                fire = self._get_next(last_automated.data_interval_end)
            elif earliest is None:
                fire = self._calc_first_run(self._now(now))
            else:
                fire = self._align_to_next(earliest)
        else:
            current = self._now(now)
            candidates = [self._align_to_prev(current)]
            if last_automated is not None:
                candidates.append(self._get_next(last_automated.data_interval_end))
            elif earliest is None:
                candidates.append(self._calc_first_run(current))
            if earliest is not None:
                candidates.append(self._align_to_next(earliest))
            fire = max(candidates)
        if restriction.latest is not None and self._aware(restriction.latest) < fire:
            return None
        return DagRunInfo.interval(fire - self.interval, fire)

    def _calc_first_run(self, now: datetime) -> datetime:
        return self._align_to_prev(now)

    def _restricted_instant(self, info: DagRunInfo) -> datetime:
        return info.data_interval_end

    def infer_manual_data_interval(self, run_after: datetime) -> tuple[datetime, datetime]:
        run_after = self._aware(run_after)
        return run_after - self.interval, run_after


class _DataIntervalTimetable(_Alignment):
    """Runs once per interval between scheduled times, when the interval has ended."""

    def next_dagrun_info(
        self,
        last_automated: DagRunInfo | None,
        restriction: TimeRestriction,
        *,
        now: datetime | None = None,
    ) -> DagRunInfo | None:
        earliest = None if restriction.earliest is None else self._aware(restriction.earliest)
        if not restriction.catchup:
            earliest = self._skip_to_latest(earliest, self._now(now))
        elif earliest is not None:
            earliest = self._align_to_next(earliest)
        if last_automated is None:
            if earliest is None:
                return None
            start = earliest
        else:
            start = self._align_to_prev(last_automated.data_interval_end)
            if earliest is not None:
                start = max(start, earliest)
        if restriction.latest is not None and start > self._aware(restriction.latest):
            return None
        return DagRunInfo.interval(start, self._get_next(start))

    @abstractmethod
    def _skip_to_latest(self, earliest: datetime | None, now: datetime) -> datetime:
        """Without catchup: the start of the latest interval that has ended by ``now``."""

    def infer_manual_data_interval(self, run_after: datetime) -> tuple[datetime, datetime]:
        end = self._align_to_prev(self._aware(run_after))
        return self._get_prev(end), end


class CronTriggerTimetable(_CronAlignment, _TriggerTimetable):
    """A run at each fire time of ``cron`` in ``timezone`` (what a cron ``schedule=`` means).

    ``interval`` makes each run's data interval ``[fire - interval, fire]``.
    ``run_immediately`` decides the first run of a DAG with no ``start_date``:
    True runs the latest past fire time, False waits for the next, a
    ``timedelta`` runs the past one if it is at most that long ago.
    """

    kind = "cron_trigger"

    def __init__(
        self,
        cron: str,
        *,
        timezone: str | tzinfo = "UTC",
        interval: timedelta = _NO_INTERVAL,
        run_immediately: bool | timedelta = False,
    ) -> None:
        super().__init__(cron, timezone=timezone)
        self.interval = interval
        self.run_immediately = run_immediately

    def _calc_first_run(self, now: datetime) -> datetime:
        past, upcoming = self._align_to_prev(now), self._align_to_next(now)
        if self.run_immediately is True:
            return past
        if isinstance(self.run_immediately, timedelta):
            buffer = self.run_immediately
        else:  # Airflow's rule for False: within 10% of the period, at least 5 minutes
            buffer = max((upcoming - past) / 10, timedelta(minutes=5))
        return past if now - past <= buffer else upcoming

    def _fields(self) -> dict[str, Any]:
        run_immediately = self.run_immediately
        return {
            **super()._fields(),
            "interval": self.interval.total_seconds(),
            "run_immediately": (
                run_immediately.total_seconds()
                if isinstance(run_immediately, timedelta)
                else run_immediately
            ),
        }

    @classmethod
    def _from_fields(cls, fields: dict[str, Any]) -> Timetable:
        run_immediately = fields.get("run_immediately", False)
        if not isinstance(run_immediately, bool):
            run_immediately = timedelta(seconds=run_immediately)
        return cls(
            fields["expression"],
            timezone=fields["timezone"],
            interval=timedelta(seconds=fields.get("interval", 0)),
            run_immediately=run_immediately,
        )


class CronDataIntervalTimetable(_CronAlignment, _DataIntervalTimetable):
    """A run per interval between consecutive fire times of ``cron`` (Airflow 2's cron meaning)."""

    kind = "cron_data_interval"

    def _skip_to_latest(self, earliest: datetime | None, now: datetime) -> datetime:
        last_start = self._get_prev(now)
        if self._get_next(last_start) == now:  # now is on a boundary
            latest_start = last_start
        else:
            latest_start = self._get_prev(last_start)
        if earliest is None:
            return latest_start
        return max(latest_start, self._align_to_next(earliest))

    @classmethod
    def _from_fields(cls, fields: dict[str, Any]) -> Timetable:
        return cls(fields["expression"], timezone=fields["timezone"])


class DeltaTriggerTimetable(_DeltaAlignment, _TriggerTimetable):
    """A run every ``delta`` (what a ``timedelta`` ``schedule=`` means); data interval as given."""

    kind = "delta_trigger"

    def __init__(self, delta: timedelta, *, interval: timedelta = _NO_INTERVAL) -> None:
        super().__init__(delta)
        self.interval = interval

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "interval": self.interval.total_seconds()}

    @classmethod
    def _from_fields(cls, fields: dict[str, Any]) -> Timetable:
        return cls(
            timedelta(seconds=fields["delta"]),
            interval=timedelta(seconds=fields.get("interval", 0)),
        )


class DeltaDataIntervalTimetable(_DeltaAlignment, _DataIntervalTimetable):
    """A run per ``delta``-long interval, created when the interval ends."""

    kind = "delta_data_interval"

    def _skip_to_latest(self, earliest: datetime | None, now: datetime) -> datetime:
        seconds = self.delta.total_seconds()
        rounded = datetime.fromtimestamp(now.timestamp() - now.timestamp() % seconds, tz=UTC)
        latest_start = self._get_prev(rounded)
        return latest_start if earliest is None else max(latest_start, earliest)

    @classmethod
    def _from_fields(cls, fields: dict[str, Any]) -> Timetable:
        return cls(timedelta(seconds=fields["delta"]))


__all__ = [
    "CronDataIntervalTimetable",
    "CronTriggerTimetable",
    "DagRunInfo",
    "DeltaDataIntervalTimetable",
    "DeltaTriggerTimetable",
    "NullTimetable",
    "OnceTimetable",
    "TimeRestriction",
    "Timetable",
    "deserialize_timetable",
]
