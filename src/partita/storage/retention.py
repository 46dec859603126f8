"""Retention: deleting what is old, in small batches, so a running scheduler is never held up.

``RetentionPolicy`` says what is old: finished runs that ended before the
cutoff (with their task instances, events, log lines, outputs and output
files), except the ``keep_last`` newest runs of each DAG and the runs of
running backfills (whose progress counts them); finished backfills
(with their planned runs); heartbeat rows of schedulers silent since before
the cutoff; sensor and schedule ticks recorded before the cutoff, except the
``keep_last`` newest of each; asset materializations recorded before the
cutoff, except the newest ``max(1, keep_last)`` of each asset partition (so
the catalog's latest state, and what automation reads, never goes); web
sessions that expired (before ``now``, else before the cutoff). Queued and
running runs are never touched. Sensor run keys are never deleted: a key
outlives its run, so a sensor never requests a deleted run's key again.

The design decision: a store deletes one batch (``delete_batch``) per short
transaction, and ``clean`` repeats batches until none is left; each batch
holds the write lock only for as long as a few hundred rows take, so a
scheduler writing at the same time waits milliseconds, not the whole clean.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from partita.exceptions import PartitaError

#: What ``partita db clean --tables`` may name, in the order they are cleaned.
RETENTION_TABLES = ("runs", "backfills", "schedulers", "ticks", "asset_events", "sessions")
#: What each name deletes, for messages.
TABLE_DESCRIPTIONS = {
    "runs": "finished runs (with their task instances, events, log lines and outputs)",
    "backfills": "finished backfills (with their planned runs)",
    "schedulers": "heartbeat rows of stopped schedulers",
    "ticks": "sensor and schedule ticks",
    "asset_events": "asset materializations (the newest of each asset partition kept)",
    "sessions": "expired web sessions",
}
#: Runs (or backfills, heartbeat rows) one batch deletes.
DEFAULT_BATCH_SIZE = 200


def check_tables(names: Iterable[str]) -> frozenset[str]:
    """The table names, checked; ``PartitaError`` naming the known ones for an unknown name."""
    chosen = frozenset(n.strip() for n in names if n.strip())
    unknown = sorted(chosen - set(RETENTION_TABLES))
    if unknown:
        raise PartitaError(
            f"unknown table {', '.join(map(repr, unknown))} to clean; "
            f"choose among: {', '.join(RETENTION_TABLES)}"
        )
    return chosen or frozenset(RETENTION_TABLES)


@dataclass(frozen=True)
class RetentionPolicy:
    """What is old: ended before ``cutoff``, beyond the ``keep_last`` newest runs of each DAG."""

    cutoff: datetime
    keep_last: int = 0
    tables: frozenset[str] = field(default_factory=lambda: frozenset(RETENTION_TABLES))
    #: When the clean runs: web sessions that expired before it go (None: the cutoff).
    now: datetime | None = None

    @property
    def sessions_expired_by(self) -> datetime:
        """Web sessions that expired before this time are deleted."""
        return self.now or self.cutoff


class RetentionStore(ABC):
    """Counts and deletes what a ``RetentionPolicy`` calls old."""

    @abstractmethod
    def count(self, policy: RetentionPolicy, table: str) -> int:
        """How many runs, backfills or heartbeat rows of ``table`` the policy would delete."""

    @abstractmethod
    def delete_batch(self, policy: RetentionPolicy, table: str, limit: int) -> int:
        """Delete up to ``limit`` of them in one transaction; return how many were deleted."""


def clean(
    store: RetentionStore,
    policy: RetentionPolicy,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Delete everything old, batch after batch; return how many were deleted per table."""
    deleted: dict[str, int] = {}
    for table in RETENTION_TABLES:
        if table not in policy.tables:
            continue
        deleted[table] = 0
        while count := store.delete_batch(policy, table, batch_size):
            deleted[table] += count
            if on_batch is not None:
                on_batch(table, count)
    return deleted


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "RETENTION_TABLES",
    "TABLE_DESCRIPTIONS",
    "RetentionPolicy",
    "RetentionStore",
    "check_tables",
    "clean",
]
