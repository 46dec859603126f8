"""The shape every timetable has: ``Timetable``, the runs it asks for, what restricts them.

Airflow 3's interface: ``next_dagrun_info(last_automated, restriction)``
gives the next run as a ``DagRunInfo`` (logical date and data interval),
``infer_manual_data_interval`` the interval of a run started by hand. The
design decision: a timetable is pure and serializable. It reads no clock
unless asked (``now=``), and ``serialize`` / ``deserialize_timetable``
write it into, and read it back from, a DAG's serialized form by its
``kind``; the concrete timetables are in ``definitions/timetables.py``.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, ClassVar

from partita.definitions.timezones import make_aware


@dataclass(frozen=True)
class DagRunInfo:
    """A run a timetable asks for: its logical date and data interval (all aware)."""

    logical_date: datetime
    data_interval_start: datetime
    data_interval_end: datetime

    @property
    def run_after(self) -> datetime:
        """The earliest time the run may be created: the end of its data interval."""
        return self.data_interval_end

    @classmethod
    def exact(cls, at: datetime) -> DagRunInfo:
        """A run at one instant, with an empty data interval."""
        return cls(at, at, at)

    @classmethod
    def interval(cls, start: datetime, end: datetime) -> DagRunInfo:
        """A run over ``[start, end]``; its logical date is ``start``."""
        return cls(start, start, end)


@dataclass(frozen=True)
class TimeRestriction:
    """What limits a DAG's automated runs: ``start_date``, ``end_date`` (inclusive), catchup."""

    earliest: datetime | None
    latest: datetime | None
    catchup: bool


class Timetable(ABC):
    """When runs happen. Subclasses set ``kind`` (their name in a serialized DAG)."""

    kind: ClassVar[str] = ""
    #: False for timetables that never repeat (``None``, ``@once``).
    periodic: ClassVar[bool] = True
    _registry: ClassVar[dict[str, type[Timetable]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            Timetable._registry[cls.kind] = cls

    #: The zone naive datetimes given to this timetable are read in.
    timezone: tzinfo = UTC

    @abstractmethod
    def next_dagrun_info(
        self,
        last_automated: DagRunInfo | None,
        restriction: TimeRestriction,
        *,
        now: datetime | None = None,
    ) -> DagRunInfo | None:
        """The next automated run after ``last_automated``; None when there is none.

        ``now`` (default: the clock) matters only when ``restriction.catchup`` is False.
        """

    @abstractmethod
    def infer_manual_data_interval(self, run_after: datetime) -> tuple[datetime, datetime]:
        """The data interval of a run started by hand at ``run_after``."""

    @property
    @abstractmethod
    def summary(self) -> str:
        """A short label: the cron string, the delta, ``@once``..."""

    @property
    def description(self) -> str:
        """A sentence saying when runs happen."""
        return self.summary

    def runs_between(self, start: datetime, end: datetime) -> list[DagRunInfo]:
        """The runs a catchup from ``start`` creates, up to (not including) ``end``.

        ``start`` and ``end`` bound what ``TimeRestriction`` bounds: the fire
        time of a trigger timetable, the interval start of a data-interval one
        (both are the logical date unless a trigger timetable has an ``interval``).
        """
        start, end = self._aware(start), self._aware(end)
        restriction = TimeRestriction(earliest=start, latest=end, catchup=True)
        runs: list[DagRunInfo] = []
        info = self.next_dagrun_info(None, restriction)
        while info is not None and self._restricted_instant(info) < end:
            runs.append(info)
            info = self.next_dagrun_info(info, restriction)
        return runs

    def _restricted_instant(self, info: DagRunInfo) -> datetime:
        """The instant of a run that ``TimeRestriction`` bounds."""
        return info.logical_date

    def serialize(self) -> dict[str, Any]:
        """A JSON-compatible form that ``deserialize_timetable`` reads back."""
        return {"type": self.kind, **self._fields()}

    def _fields(self) -> dict[str, Any]:
        return {}

    @classmethod
    def _from_fields(cls, fields: dict[str, Any]) -> Timetable:
        return cls()

    def _aware(self, value: datetime) -> datetime:
        return make_aware(value, self.timezone).astimezone(UTC)

    def _now(self, now: datetime | None) -> datetime:
        return datetime.now(UTC) if now is None else self._aware(now)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timetable):
            return NotImplemented
        return type(self) is type(other) and self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash(repr(sorted(self.serialize().items())))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.summary!r})"


#: Timetable kinds defined in modules that are imported only when used.
_LAZY_KINDS = {"asset_or_time": "partita.definitions.asset_or_time"}


def deserialize_timetable(data: dict[str, Any]) -> Timetable:
    """The timetable ``Timetable.serialize`` described."""
    kind = data.get("type")
    if str(kind) in _LAZY_KINDS and str(kind) not in Timetable._registry:
        importlib.import_module(_LAZY_KINDS[str(kind)])
    cls = Timetable._registry.get(str(kind))
    if cls is None:
        known = ", ".join(sorted(Timetable._registry))
        raise ValueError(f"unknown timetable type {kind!r}; known types: {known}")
    return cls._from_fields({k: v for k, v in data.items() if k != "type"})


__all__ = ["DagRunInfo", "TimeRestriction", "Timetable", "deserialize_timetable"]
