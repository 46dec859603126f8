"""Custom timetables written against Airflow's interface, run by partita's scheduler.

An Airflow timetable (``airflow.timetables.base.Timetable``) implements
``next_dagrun_info(*, last_automated_data_interval, restriction)`` and
``infer_manual_data_interval(*, run_after)`` with ``DataInterval`` values and
(usually) pendulum datetimes; partita's ``Timetable`` takes the last run's
``DagRunInfo`` and returns plain aware datetimes. ``AirflowTimetable`` is
the base class a DAG file gets for Airflow's: when a subclass defines those
two methods (and, optionally, ``serialize`` / ``deserialize``), they are kept
under other names and partita's methods call them, converting both ways.

Design decision: a subclass is registered as the timetable kind
``airflow:<module>.<qualname>`` when it is defined, which is how a DAG's
serialized form finds it again (in Airflow a plugin registers it; see
``plugins.py``). ``summary`` defaults to the class name, as in Airflow.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

from partita.definitions.timetable_base import DagRunInfo, TimeRestriction, Timetable


class DataInterval(NamedTuple):
    """Airflow's ``DataInterval``: the start and end of the data a run covers."""

    start: datetime
    end: datetime

    @classmethod
    def exact(cls, at: datetime) -> DataInterval:
        """An empty interval at one instant."""
        return cls(at, at)


def _theirs(value: datetime | None) -> Any:
    """A datetime as Airflow gives it to a timetable: pendulum's when installed."""
    if value is None:
        return None
    try:
        import pendulum
    except ImportError:  # pendulum is in the partita[airflow] extra
        return value
    return pendulum.instance(value)


def _ours(value: datetime) -> datetime:
    """A datetime a timetable returned, as partita keeps it: a plain aware UTC datetime."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return datetime(
        value.year, value.month, value.day, value.hour, value.minute, value.second,
        value.microsecond, tzinfo=UTC,
    )  # fmt: skip


class AirflowTimetable(Timetable):
    """Base class of timetables written for Airflow (``airflow.timetables.base.Timetable``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        for name in ("next_dagrun_info", "infer_manual_data_interval", "serialize"):
            own = cls.__dict__.get(name)
            if own is not None:
                setattr(cls, f"_airflow_{name}", own)
                delattr(cls, name)
        cls.kind = f"airflow:{cls.__module__}.{cls.__qualname__}"
        super().__init_subclass__(**kwargs)

    def _airflow_next_dagrun_info(self, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} must implement next_dagrun_info("
            "*, last_automated_data_interval, restriction)"
        )

    def _airflow_infer_manual_data_interval(self, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} must implement infer_manual_data_interval(*, run_after)"
        )

    def _airflow_serialize(self) -> dict[str, Any]:
        return {}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> AirflowTimetable:
        """Airflow's hook: the timetable ``serialize`` described (default: ``cls()``)."""
        return cls()

    def next_dagrun_info(
        self,
        last_automated: DagRunInfo | None,
        restriction: TimeRestriction,
        *,
        now: datetime | None = None,
    ) -> DagRunInfo | None:
        last = None
        if last_automated is not None:
            last = DataInterval(
                _theirs(last_automated.data_interval_start),
                _theirs(last_automated.data_interval_end),
            )
        theirs = TimeRestriction(
            _theirs(restriction.earliest), _theirs(restriction.latest), restriction.catchup
        )
        info = self._airflow_next_dagrun_info(last_automated_data_interval=last, restriction=theirs)
        if info is None:
            return None
        return DagRunInfo(
            _ours(info.logical_date),
            _ours(info.data_interval_start),
            _ours(info.data_interval_end),
        )

    def infer_manual_data_interval(self, run_after: datetime) -> tuple[datetime, datetime]:
        start, end = self._airflow_infer_manual_data_interval(run_after=_theirs(run_after))
        return _ours(start), _ours(end)

    @property
    def summary(self) -> str:
        return type(self).__name__

    def _fields(self) -> dict[str, Any]:
        return {"data": self._airflow_serialize()}

    @classmethod
    def _from_fields(cls, fields: dict[str, Any]) -> Timetable:
        return cls.deserialize(dict(fields.get("data") or {}))


__all__ = ["AirflowTimetable", "DataInterval"]
