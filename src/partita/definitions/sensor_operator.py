"""``BaseSensorOperator``: a task that waits for something by poking until it holds (Airflow).

A subclass implements ``poke(context)``, returning a bool or a
``PokeReturnValue(is_done, xcom_value)``. ``execute`` pokes every
``poke_interval`` seconds (doubling, with jitter, under
``exponential_backoff``, at most ``max_wait``) until a poke says done, or
until ``timeout`` seconds have passed: then the sensor fails without
retrying (``SensorTimeout``), or is skipped with ``soft_fail`` (which also
turns a ``FailTask`` raised by ``poke`` into a skip; other errors still fail).
``execution_timeout`` is another limit: it bounds one run of ``execute``
(the whole wait in poke mode, one poke in reschedule mode), and a task that
hits it is retried as any task is.

The design decision: the two modes are one loop. In ``mode="poke"`` the
sensor sleeps between pokes and keeps its worker slot; in
``mode="reschedule"`` it raises ``RescheduleTask`` instead of sleeping, so
the engine records it ``up_for_reschedule``, gives the slot back, and runs
it again at that date as the same try (Airflow's ``deferrable=True``, which
waits in a triggerer without a worker slot, is taken as ``mode="reschedule"``).
What the loop needs of the earlier pokes of the try (when the first began, how
many there were) the engine puts on ``context["ti"]``, so the timeout counts
from the try's first poke.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from partita.definitions.baseoperator import BaseOperator, _to_timedelta
from partita.exceptions import DefinitionError, FailTask, RescheduleTask, SensorTimeout, SkipTask

if TYPE_CHECKING:
    from partita.definitions.context import Context

#: Airflow's default sensor timeout: a week.
DEFAULT_TIMEOUT = timedelta(days=7)
#: The longest single sleep in poke mode, so a cancel or a timeout interrupts it soon.
_SLEEP_SLICE = 1.0


@dataclass(frozen=True)
class PokeReturnValue:
    """What ``poke`` may return instead of a bool: whether it is done, and the task's output."""

    is_done: bool
    xcom_value: Any = None

    def __bool__(self) -> bool:
        return bool(self.is_done)


class BaseSensorOperator(BaseOperator):
    """A task that pokes until a condition holds. Subclasses implement ``poke(context)``."""

    ui_color = "#e6f1f2"
    valid_modes: ClassVar[tuple[str, ...]] = ("poke", "reschedule")

    def __init__(
        self,
        *,
        poke_interval: timedelta | float = 60.0,
        timeout: timedelta | float = DEFAULT_TIMEOUT,
        soft_fail: bool = False,
        mode: str = "poke",
        exponential_backoff: bool = False,
        max_wait: timedelta | float | None = None,
        deferrable: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        where = self._where()
        if deferrable:  # Airflow's triggerer wait: here the worker slot is given back the same way
            mode = "reschedule"
        if mode not in self.valid_modes:
            raise DefinitionError(
                f"{where}: mode must be 'poke' (keep the worker slot while waiting) or "
                f"'reschedule' (give it back between pokes), got {mode!r}"
            )
        self.mode = mode
        self.poke_interval = _seconds(poke_interval, "poke_interval", where)
        self.timeout = _seconds(timeout, "timeout", where)
        wait = _to_timedelta(max_wait, "max_wait", where, allow_none=True)
        self.max_wait = None if wait is None else wait.total_seconds()
        self.soft_fail = bool(soft_fail)
        self.exponential_backoff = bool(exponential_backoff)

    @property
    def reschedule(self) -> bool:
        """Whether the sensor gives its worker slot back between pokes."""
        return self.mode == "reschedule"

    # -- what a subclass implements -------------------------------------------------
    def poke(self, context: Context) -> bool | PokeReturnValue:
        """Check the condition once: True (or ``PokeReturnValue(True, value)``) when it holds."""
        raise NotImplementedError(f"{type(self).__name__} must implement poke(context)")

    # -- the loop -------------------------------------------------------------------------
    def execute(self, context: Context) -> Any:
        ti = context["ti"]
        started = getattr(ti, "first_reschedule_date", None) or datetime.now(UTC)
        pokes = getattr(ti, "task_reschedule_count", 0)
        log = context.get("log")
        while True:
            pokes += 1
            result = self._poke(context)
            if result:
                if log is not None:
                    log.info("sensor %s: condition met on poke %d", self.task_id, pokes)
                return result.xcom_value if isinstance(result, PokeReturnValue) else None
            elapsed = (datetime.now(UTC) - started).total_seconds()
            if elapsed >= self.timeout:
                self.fail_or_skip(
                    f"sensor {self.task_id!r} timed out: its condition was not met in "
                    f"{elapsed:.1f}s ({pokes} pokes; timeout={self.timeout:g}s); raise its "
                    "timeout, or set soft_fail=True to skip it instead of failing",
                    timeout=True,
                )
            wait = min(self.next_poke_interval(context, pokes), self.timeout - elapsed)
            if self.reschedule:
                raise RescheduleTask(datetime.now(UTC) + timedelta(seconds=wait))
            _sleep(wait)

    def _poke(self, context: Context) -> bool | PokeReturnValue:
        """One poke; a ``FailTask`` it raises (its own verdict) is a skip with ``soft_fail``."""
        try:
            return self.poke(context)
        except FailTask as exc:
            if self.soft_fail:
                raise SkipTask(f"{exc} (soft_fail: skipped instead of failed)") from exc
            raise

    def next_poke_interval(self, context: Context, pokes: int) -> float:
        """Seconds to wait after the ``pokes``-th poke of the try.

        With ``exponential_backoff`` the wait doubles at each poke, times a
        jitter between 0.5 and 1 that is the same for the same task instance,
        try and poke in any process; ``max_wait`` caps it.
        """
        if not self.exponential_backoff:
            return self.poke_interval
        ti = context["ti"]
        seed = f"{ti.dag_id}|{self.task_id}|{ti.run_id}|{ti.map_index}|{ti.try_number}|{pokes}"
        jitter = 0.5 + (zlib.crc32(seed.encode()) % 1000) / 2000
        wait = self.poke_interval * 2 ** min(pokes - 1, 40) * jitter
        return wait if self.max_wait is None else min(wait, self.max_wait)

    def fail_or_skip(self, message: str, *, timeout: bool = False) -> None:
        """End the sensor: skipped with ``soft_fail``, else failed without retrying."""
        if self.soft_fail:
            raise SkipTask(message)
        raise SensorTimeout(message) if timeout else FailTask(message)


def _seconds(value: Any, what: str, where: str) -> float:
    delta = _to_timedelta(value, what, where, allow_none=False)
    return 0.0 if delta is None else delta.total_seconds()


def _sleep(seconds: float) -> None:
    """Sleep in short slices, so a timeout or a cancel raised in this thread stops it soon."""
    deadline = time.monotonic() + max(seconds, 0.0)
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, _SLEEP_SLICE))


__all__ = ["DEFAULT_TIMEOUT", "BaseSensorOperator", "PokeReturnValue"]
