"""The run queue: queued runs waiting for a scheduler, who drives which run, who is alive.

Runs are queued (``enqueue``) by the schedule ticker and by ``partita trigger``;
a scheduler takes some of them with ``claim_queued_runs`` and starts those
its limits allow, in the claim's transaction. A started run is *claimed* by
that scheduler until it ends; when a scheduler dies, another (or the same,
restarted) adopts its runs (``adopt_orphaned_runs``) and resumes them.
Each scheduler writes a heartbeat row (``beat``) so that others, and
``partita trigger --wait``, can tell whether one is alive.

The design decision: claims are row locks held for one short transaction
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock on SQLite), so
several schedulers can share one database without ever starting a run twice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from partita.storage.records import DagRunRecord


@dataclass(frozen=True, slots=True)
class SchedulerRecord:
    """One scheduler process, as its heartbeat row says."""

    scheduler_id: str
    hostname: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime


@dataclass(frozen=True, slots=True)
class PoolRecord:
    """A pool of task slots: at most ``slots`` slots of its task instances run at once."""

    name: str
    slots: int
    description: str | None = None


@dataclass(frozen=True, slots=True)
class SlotLease:
    """``slots`` slots of ``pool`` held by one task instance while it runs."""

    run_id: str
    task_id: str
    map_index: int
    pool: str
    slots: int


class SlotClaim(ABC):
    """The slot counts of some pools, locked until the claim ends (see ``claim_slots``)."""

    #: Slots in use per pool, over every scheduler not known dead.
    used: dict[str, int]

    @abstractmethod
    def take(self, leases: Sequence[SlotLease]) -> None:
        """Hold these slots for the claiming scheduler (a task instance's older lease,
        of a dead scheduler, is replaced)."""


class PoolStore(ABC):
    """The pools task instances share (``partita pools set``); ``default_pool`` is implicit.

    On a database several schedulers share (``shares_slots``), the slots in use
    are counted here too: each scheduler takes leases under the pools' locks.
    """

    #: Whether schedulers count pool slots here (True on PostgreSQL), rather than each
    #: in its memory (SQLite and memory: one scheduler per database).
    shares_slots: bool = False

    @abstractmethod
    def set_pool(self, pool: PoolRecord) -> None:
        """Create or resize a pool."""

    @abstractmethod
    def list_pools(self) -> list[PoolRecord]:
        """The pools set, sorted by name."""

    @abstractmethod
    def delete_pool(self, name: str) -> bool:
        """Delete a pool (its tasks then use ``default_pool``); False when there was none."""

    @abstractmethod
    def claim_slots(
        self,
        scheduler_id: str,
        pools: Collection[str],
        *,
        dead: Collection[str] = (),
        release: Sequence[tuple[str, str, int]] = (),
    ) -> AbstractContextManager[SlotClaim]:
        """Lock ``pools`` (in name order) until the ``with`` block ends, first deleting the
        leases of the (run id, task id, map index) in ``release``; the claim's ``used``
        counts the leases of every scheduler but those in ``dead``."""

    @abstractmethod
    def release_slots(self, keys: Sequence[tuple[str, str, int]]) -> None:
        """Delete the leases of these (run id, task id, map index)."""

    @abstractmethod
    def release_run_slots(self, run_id: str) -> None:
        """Delete every lease of a run (it ended)."""


class RunClaim(ABC):
    """Queued runs held by one scheduler until the claim ends, with the counts limits need.

    Oldest first means by ``queued_at``, then logical date (a run without one
    last), then run id, across DAGs.
    """

    #: The queued runs claimed, oldest first.
    queued: list[DagRunRecord]
    #: How many runs of each DAG are running now (for ``max_active_runs``).
    running: dict[str, int]

    @abstractmethod
    def more(self, limit: int) -> list[DagRunRecord]:
        """Claim up to ``limit`` more queued runs, the next ones in order after ``queued``
        (appended to it); for when limits held back the runs claimed so far."""

    @abstractmethod
    def start(self, run: DagRunRecord, now: datetime) -> DagRunRecord | None:
        """Mark a claimed run running, driven by the claiming scheduler (written at the end).

        Returns the run as it is now (running), or None when it was not started
        (another scheduler started it first).
        """


class RunQueue(ABC):
    """Queued runs, their claims by schedulers, and the schedulers' heartbeats."""

    @abstractmethod
    def enqueue(self, runs: Sequence[DagRunRecord]) -> list[str]:
        """Insert queued runs; a run id already stored is left alone. Returns the ids inserted."""

    @abstractmethod
    def has_queued(self) -> bool:
        """Whether any run is queued (a read, without the claim's locks)."""

    @abstractmethod
    def claim_queued_runs(self, scheduler_id: str, limit: int) -> AbstractContextManager[RunClaim]:
        """Up to ``limit`` queued runs, oldest first, held until the ``with`` block ends."""

    @abstractmethod
    def claimed_runs(self, scheduler_id: str) -> list[str]:
        """The ids of the running runs ``scheduler_id`` drives."""

    @abstractmethod
    def owners(self, run_ids: Collection[str]) -> dict[str, str]:
        """Run id -> the scheduler driving it, for those of ``run_ids`` that one claimed."""

    @abstractmethod
    def adopt_orphaned_runs(self, scheduler_id: str, live: Collection[str]) -> list[DagRunRecord]:
        """Claim for ``scheduler_id`` the running runs whose scheduler is not in ``live``."""

    @abstractmethod
    def release(self, run_id: str) -> None:
        """Forget the claim on a run that ended."""

    @abstractmethod
    def beat(self, record: SchedulerRecord) -> None:
        """Write (or refresh) a scheduler's heartbeat row."""

    @abstractmethod
    def list_schedulers(self) -> list[SchedulerRecord]:
        """Every heartbeat row, newest heartbeat first."""

    @abstractmethod
    def remove_scheduler(self, scheduler_id: str) -> None:
        """Delete a scheduler's heartbeat row (it stopped cleanly)."""


__all__ = [
    "PoolRecord",
    "PoolStore",
    "RunClaim",
    "RunQueue",
    "SchedulerRecord",
    "SlotClaim",
    "SlotLease",
]
