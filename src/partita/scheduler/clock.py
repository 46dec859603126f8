"""The scheduler's clock: the real one, or a fast one that starts at a given time (for tests).

The design decision: only *scheduling* reads this clock (which runs are due);
heartbeats, timeouts and sleeps between loops use real time, so a fast clock
makes a year of daily runs due in seconds without making live schedulers
look dead. ``PARTITA_SCHEDULER_CLOCK=<ISO start>:<speed>`` (documented as a
testing aid) selects the fast clock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from partita.exceptions import ConfigurationError


class Clock(Protocol):
    """What the scheduler asks the time of."""

    def now(self) -> datetime: ...

    def seconds_until(self, when: datetime) -> float: ...


class SystemClock:
    """The real time, UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def seconds_until(self, when: datetime) -> float:
        """Real seconds until this clock shows ``when`` (negative: past)."""
        return (when - self.now()).total_seconds()


@dataclass
class FastClock:
    """Starts at ``start`` when built and runs ``speed`` times faster than real time."""

    start: datetime
    speed: float = 1.0
    _origin: float = field(default_factory=time.monotonic)

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._origin) * self.speed
        return self.start + timedelta(seconds=elapsed)

    def seconds_until(self, when: datetime) -> float:
        """Real seconds until this clock shows ``when`` (negative: past)."""
        return (when - self.now()).total_seconds() / self.speed


def parse_clock(spec: str | None) -> Clock:
    """The clock a ``PARTITA_SCHEDULER_CLOCK`` value names (the system clock when empty)."""
    if not spec:
        return SystemClock()
    start_text, _, speed_text = spec.strip().rpartition(":")
    try:
        start = datetime.fromisoformat(start_text)
        speed = float(speed_text)
    except ValueError:
        start, speed = None, 0.0
    if start is None or not speed > 0:
        raise ConfigurationError(
            f"environment variable PARTITA_SCHEDULER_CLOCK={spec!r} is not '<ISO start>:<speed>'; "
            "write e.g. 2024-01-01T00:00:00+00:00:3600 (a testing aid) or unset it"
        )
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return FastClock(start, speed)


__all__ = ["Clock", "FastClock", "SystemClock", "parse_clock"]
