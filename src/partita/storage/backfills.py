"""The backfill store: backfills and the runs each one planned, in order.

A backfill (``partita backfill create``) is planned once: every logical date
of its range becomes a ``PlannedRun`` with an ordinal, and what to do with it
(``create`` a run, ``rerun`` an existing one, ``skip`` an existing one). The
scheduler's ``BackfillRunner`` then works through the planned runs in order,
``max_active_runs`` at a time, and marks each one ``done`` once its run is
queued; the backfill's progress is read by joining the planned runs with the
runs' current states.

The design decision: progress lives in the database, not in the scheduler.
What is done is a column of the planned run, and what is active is a count
of its runs that are queued or running, so a scheduler killed mid-backfill
(or another scheduler) resumes exactly where the backfill was.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import msgspec
from msgspec.structs import replace as _replace

from partita.definitions.states import RunState
from partita.exceptions import BackfillNotFoundError
from partita.storage.records import DagRunRecord


class BackfillStatus(StrEnum):
    """Where a backfill is: ``running`` until every planned run ended, then one of the others."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self is not BackfillStatus.RUNNING


class Reprocess(StrEnum):
    """What a backfill does with a run that already exists for one of its logical dates."""

    NONE = "none"  # keep it as it is
    FAILED = "failed"  # run it again if it failed (or was cancelled)
    ALL = "all"  # run it again whatever it ended with


class PlannedAction(StrEnum):
    """What a backfill does for one logical date."""

    CREATE = "create"  # no run exists: queue a new one
    RERUN = "rerun"  # a finished run exists and is to be cleared and queued again
    SKIP = "skip"  # a run exists and is kept


class BackfillRecord(msgspec.Struct, frozen=True):
    """One backfill: its DAG, range, options, status and when it began and ended."""

    backfill_id: str
    dag_id: str
    from_date: datetime
    to_date: datetime
    status: BackfillStatus
    reprocess: Reprocess
    max_active_runs: int
    #: How many logical dates the range holds (planned runs of any action).
    total: int
    created_at: datetime
    ended_at: datetime | None = None
    #: The run conf of every run the backfill queues.
    conf: dict[str, Any] = msgspec.field(default_factory=dict)
    #: An asset backfill's ``FIRST...LAST`` partition keys (None: a DAG over dates).
    partitions: str | None = None

    def ended(self, status: BackfillStatus, when: datetime) -> BackfillRecord:
        """This backfill, ended in ``status`` at ``when``."""
        return _replace(self, status=status, ended_at=when)


class PlannedRun(msgspec.Struct, frozen=True):
    """One logical date of a backfill: its run (to be made, or existing) and what to do."""

    backfill_id: str
    ordinal: int
    logical_date: datetime
    data_interval_start: datetime
    data_interval_end: datetime
    run_id: str
    action: PlannedAction
    #: True once the run was queued (or, for ``skip``, from the start).
    done: bool = False
    #: The partition its run is for (an asset backfill's; None for dates).
    partition_key: str | None = None


class BackfillProgress(msgspec.Struct, frozen=True):
    """How far a backfill is: planned runs not yet queued, kept as they were, and run states.

    ``states`` counts the runs the backfill queued, by their current state (a run
    deleted since, by ``partita db clean``, is not counted).
    """

    total: int
    pending: int
    skipped: int
    states: dict[RunState, int] = msgspec.field(default_factory=dict)

    @property
    def active(self) -> int:
        """Runs queued or running."""
        return self.states.get(RunState.QUEUED, 0) + self.states.get(RunState.RUNNING, 0)

    @property
    def finished(self) -> int:
        """Planned runs that need nothing more: kept ones and queued ones that ended."""
        return self.skipped + sum(n for state, n in self.states.items() if state.finished)


class BackfillStore(ABC):
    """Backfills and their planned runs."""

    @abstractmethod
    def create(self, backfill: BackfillRecord, planned: Sequence[PlannedRun]) -> None:
        """Store a new backfill with its planned runs, in one transaction."""

    @abstractmethod
    def get(self, backfill_id: str) -> BackfillRecord:
        """The backfill, or ``BackfillNotFoundError`` naming the id."""

    @abstractmethod
    def list_backfills(
        self, *, dag_id: str | None = None, statuses: Iterable[BackfillStatus] | None = None,
        limit: int = 50, offset: int = 0,
    ) -> list[BackfillRecord]:  # fmt: skip
        """Backfills, newest first (by creation time, then id)."""

    @abstractmethod
    def pending(self, backfill_id: str, limit: int) -> list[PlannedRun]:
        """Up to ``limit`` planned runs not yet done, in order of their ordinal."""

    @abstractmethod
    def mark_done(self, backfill_id: str, ordinals: Iterable[int]) -> None:
        """Mark planned runs done (their run is queued, or was kept)."""

    @abstractmethod
    def keep_existing(self, backfill_id: str, kept: Mapping[int, str]) -> None:
        """Planned runs (ordinal -> the run id found) now ``skip``: a run appeared meanwhile."""

    @abstractmethod
    def active_count(self, backfill_id: str) -> int:
        """How many runs the backfill queued are queued or running now."""

    @abstractmethod
    def progress(self, backfill_id: str) -> BackfillProgress:
        """The backfill's progress, from its planned runs and their runs' states."""

    def progress_of(self, backfill_ids: Sequence[str]) -> dict[str, BackfillProgress]:
        """The progress of each of ``backfill_ids`` that exists (a page of the list at once)."""
        found: dict[str, BackfillProgress] = {}
        for backfill_id in backfill_ids:
            try:
                found[backfill_id] = self.progress(backfill_id)
            except BackfillNotFoundError:
                continue
        return found

    @abstractmethod
    def finish(self, backfill_id: str, status: BackfillStatus, when: datetime) -> bool:
        """End a running backfill in ``status``; False (nothing written) if it already ended."""

    @abstractmethod
    def planned_run_ids(self, backfill_id: str, *, done: bool | None = None) -> list[str]:
        """The run ids of the backfill's planned runs (not ``skip``), in order."""

    @abstractmethod
    def runs_for_partitions(
        self, dag_id: str, partition_keys: Sequence[str]
    ) -> dict[str, DagRunRecord]:
        """The runs of ``dag_id`` for these partition keys, by key (of several, the last queued)."""

    @abstractmethod
    def runs_at(self, dag_id: str, first: datetime, last: datetime) -> dict[datetime, DagRunRecord]:
        """The runs of ``dag_id`` whose logical date is in [first, last], by logical date.

        Of several runs at one logical date, the one queued last.
        """


__all__ = [
    "BackfillProgress",
    "BackfillRecord",
    "BackfillStatus",
    "BackfillStore",
    "PlannedAction",
    "PlannedRun",
    "Reprocess",
]
