"""The instigator store: the stored state and tick history of sensors and schedules, and run keys.

An *instigator* (Dagster's word) is what creates runs by itself: a sensor or
a Dagster-style schedule. Its state row says whether someone started or
stopped it (``status``; None means "as declared in code"), the cursor a
sensor keeps, and when it last ticked. Every evaluation is a tick: skipped
(with its reason), requested (with its run ids and run keys) or failed
(with its error). A sensor's run keys are remembered per sensor, so a key
already used never makes a second run, across restarts.

The design decision: ``record_ticks`` writes everything some evaluations
decided in one transaction: the runs they queue, their run keys, the ticks
and the new cursors. A crash therefore never leaves a run queued without its
key (a second run later) nor a key without its run (a run lost). Runs made
from a run key have ids derived from it, and both inserts are "unless
present", so two schedulers evaluating the same sensor at once queue one run.
The scheduler records all the ticks of one pass together, so 1,000 sensors
cost a few transactions, not a thousand. Before evaluating, a scheduler claims
its due sensors in one batch (``claim_due``), so of several schedulers one
evaluates each sensor per interval.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import msgspec
from msgspec.structs import replace as _replace

from partita.storage.records import DagRunRecord


class InstigatorKind(StrEnum):
    """Which kind of thing a state row or tick is about."""

    SENSOR = "sensor"
    SCHEDULE = "schedule"


class InstigatorStatus(StrEnum):
    """Whether a sensor or schedule is evaluated (``running``) or not (``stopped``)."""

    RUNNING = "running"
    STOPPED = "stopped"


class TickStatus(StrEnum):
    """What one evaluation came to."""

    SKIPPED = "skipped"
    REQUESTED = "requested"
    FAILED = "failed"


class InstigatorState(msgspec.Struct, frozen=True):
    """The stored state of one sensor or schedule (by kind and name)."""

    kind: InstigatorKind
    name: str
    #: Set by ``partita sensors|schedules start|stop``; None: as declared in code.
    status: InstigatorStatus | None = None
    #: The sensor's cursor (``context.update_cursor``), or None.
    cursor: str | None = None
    last_tick_at: datetime | None = None
    updated_at: datetime | None = None

    def resolved_status(self, running_by_default: bool) -> InstigatorStatus:
        """The status in force: the one set by hand, else the declared default."""
        if self.status is not None:
            return self.status
        return InstigatorStatus.RUNNING if running_by_default else InstigatorStatus.STOPPED


class TickRecord(msgspec.Struct, frozen=True):
    """One evaluation of a sensor or schedule. ``id`` is given by the store, in order."""

    kind: InstigatorKind
    name: str
    status: TickStatus
    timestamp: datetime
    run_ids: list[str] = msgspec.field(default_factory=list)
    #: The run keys of the runs requested (a key already used is not requested again).
    run_keys: list[str] = msgspec.field(default_factory=list)
    skip_reason: str | None = None
    error: str | None = None
    #: The cursor after this evaluation (sensors).
    cursor: str | None = None
    #: Seconds the evaluation took.
    duration: float | None = None
    id: int | None = None

    def with_id(self, tick_id: int) -> TickRecord:
        return _replace(self, id=tick_id)


@dataclass(frozen=True)
class TickWrite:
    """What one evaluation writes: its tick, the runs it queues, their run keys (key -> run id)."""

    tick: TickRecord
    runs: Sequence[DagRunRecord] = ()
    run_keys: Mapping[str, str] = field(default_factory=dict)


def run_key_digest(run_key: str) -> str:
    """The fixed-size key run keys are indexed by (any length of run key fits)."""
    return hashlib.sha256(run_key.encode()).hexdigest()[:40]


class InstigatorStore(ABC):
    """Sensor and schedule state, ticks and sensor run keys."""

    @abstractmethod
    def get_state(self, kind: InstigatorKind, name: str) -> InstigatorState | None:
        """The stored state, or None when nothing was ever stored for it."""

    @abstractmethod
    def list_states(self, kind: InstigatorKind) -> list[InstigatorState]:
        """Every stored state of ``kind``, sorted by name."""

    @abstractmethod
    def set_status(
        self, kind: InstigatorKind, name: str, status: InstigatorStatus | None, at: datetime
    ) -> InstigatorState:
        """Start or stop (None: back to the declared default); the cursor is kept."""

    @abstractmethod
    def set_cursor(self, kind: InstigatorKind, name: str, cursor: str | None, at: datetime) -> None:
        """Replace the cursor by hand (``partita sensors cursor``)."""

    @abstractmethod
    def claim_due(
        self, kind: InstigatorKind, due_if_before: Mapping[str, datetime], now: datetime
    ) -> dict[str, InstigatorState]:
        """Claim the evaluation at ``now`` of those of the named instigators that are due.

        ``due_if_before`` maps a name to the time its last tick must be at or before
        for it to be due (``now`` minus its interval). The claimed ones get
        ``last_tick_at = now`` in the claim's transaction, so of several schedulers
        claiming at once one gets each, and the others see it ticked. Rows locked by
        another claim are skipped (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), not
        waited for. Returns the claimed ones' states as they were before the claim.
        """

    @abstractmethod
    def used_run_keys(self, sensor: str, run_keys: Sequence[str]) -> set[str]:
        """Those of ``run_keys`` that already made a run of ``sensor`` (one indexed lookup)."""

    @abstractmethod
    def record_ticks(self, writes: Sequence[TickWrite]) -> list[TickRecord]:
        """Write evaluations in one transaction; their ticks with their ids, in order.

        For each: queues its ``runs`` (a run id already stored is left alone),
        stores its ``run_keys`` (a key already stored is left alone), appends
        its tick and sets the state's cursor to ``tick.cursor`` and its last
        tick to ``tick.timestamp`` (a state row is created when missing).
        Several ticks of one instigator in one call are applied in order.
        """

    def record_tick(
        self,
        tick: TickRecord,
        runs: Sequence[DagRunRecord] = (),
        run_keys: Mapping[str, str] | None = None,
    ) -> TickRecord:
        """``record_ticks`` of one evaluation."""
        return self.record_ticks([TickWrite(tick, runs, dict(run_keys or {}))])[0]

    @abstractmethod
    def list_ticks(
        self,
        kind: InstigatorKind,
        name: str,
        *,
        statuses: Sequence[TickStatus] | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[TickRecord]:
        """The ticks of one sensor or schedule, newest first (``offset`` skipped first)."""


__all__ = [
    "InstigatorKind",
    "InstigatorState",
    "InstigatorStatus",
    "InstigatorStore",
    "TickRecord",
    "TickStatus",
    "TickWrite",
    "run_key_digest",
]
