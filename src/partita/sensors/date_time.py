"""``TimeDeltaSensor`` and ``DateTimeSensor``: wait until a moment has passed.

``TimeDeltaSensor(delta=...)`` waits until ``delta`` after the end of the
run's data interval (Airflow's rule: a daily run waits for that long past its
day); ``DateTimeSensor(target_time=...)`` until an absolute moment, given as
an aware datetime or a template string rendered to an ISO 8601 date
(``"{{ data_interval_end }}"``); a naive moment is taken as UTC.

The design decision: the target is known, so neither sensor sleeps past it:
the wait after a poke is the poke interval or the time left, whichever is
shorter, and the pokes themselves cost nothing but a clock read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from partita.definitions.context import Context
from partita.definitions.sensor_operator import BaseSensorOperator
from partita.exceptions import DefinitionError, PartitaError


class _UntilSensor(BaseSensorOperator):
    """A sensor done once ``target(context)`` has passed."""

    def target(self, context: Context) -> datetime:
        raise NotImplementedError

    def poke(self, context: Context) -> bool:
        target = self.target(context)
        log = context.get("log")
        if log is not None:
            log.info("waiting until %s", target.isoformat())
        return datetime.now(UTC) >= target

    def next_poke_interval(self, context: Context, pokes: int) -> float:
        left = (self.target(context) - datetime.now(UTC)).total_seconds()
        return max(min(super().next_poke_interval(context, pokes), left), 0.0)


class TimeDeltaSensor(_UntilSensor):
    """Waits until ``delta`` after the run's data interval ends."""

    def __init__(self, *, delta: timedelta, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(delta, timedelta):
            raise DefinitionError(f"{self._where()}: delta must be a timedelta, got {delta!r}")
        self.delta = delta

    def target(self, context: Context) -> datetime:
        end: datetime = context["data_interval_end"]
        return end + self.delta


class DateTimeSensor(_UntilSensor):
    """Waits until ``target_time`` (an aware datetime, or a template rendered to ISO 8601)."""

    template_fields: ClassVar[Sequence[str]] = ("target_time",)

    def __init__(self, *, target_time: str | datetime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(target_time, datetime):
            target_time = _aware(target_time).isoformat()
        elif not isinstance(target_time, str):
            raise DefinitionError(
                f"{self._where()}: target_time must be a datetime or an ISO 8601 string "
                f"(a template may render it), got {type(target_time).__name__}"
            )
        self.target_time = target_time

    def target(self, context: Context) -> datetime:
        try:
            return _aware(datetime.fromisoformat(self.target_time))
        except ValueError:
            raise PartitaError(
                f"{self._where()}: target_time {self.target_time!r} is not an ISO 8601 date "
                "and time; give e.g. '2025-01-01T06:00:00+00:00' or '{{ data_interval_end }}'"
            ) from None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


__all__ = ["DateTimeSensor", "TimeDeltaSensor"]
