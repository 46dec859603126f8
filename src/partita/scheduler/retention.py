"""``RetentionService``: the scheduler runs ``partita db clean`` every ``retention.every``.

Configured by ``retention:`` in ``partita.yaml`` (``older_than``, ``keep_last``,
``every``, ``tables``). A sweep starts when ``every`` has passed since the
last one ended; it deletes one batch per table per pass of the scheduler
and ends when a pass finds nothing left.

The design decision: one batch per pass, never a whole sweep at once, so a
sweep through millions of old rows never makes one scheduler pass long,
and the scheduler keeps starting and driving runs between batches.
"""

from __future__ import annotations

import logging
from datetime import datetime

from partita.settings import RetentionSettings
from partita.storage.base import Storage
from partita.storage.retention import DEFAULT_BATCH_SIZE, RETENTION_TABLES, RetentionPolicy

logger = logging.getLogger("partita.scheduler")


class RetentionService:
    """Deletes what ``retention`` calls old, a batch per table per pass, every ``every``."""

    def __init__(
        self, storage: Storage, retention: RetentionSettings, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> None:
        self.storage = storage
        self.retention = retention
        self.batch_size = batch_size
        self._next_sweep: datetime | None = None
        self._sweep: RetentionPolicy | None = None
        self._deleted: dict[str, int] = {}

    def run_once(self, now: datetime) -> dict[str, int]:
        """Delete one batch of each table if a sweep is on (or due); return what was deleted."""
        if self._sweep is None:
            if self._next_sweep is not None and now < self._next_sweep:
                return {}
            tables = frozenset(self.retention.tables or RETENTION_TABLES)
            cutoff = now - self.retention.older_than
            self._sweep = RetentionPolicy(cutoff, self.retention.keep_last, tables, now=now)
            self._deleted = {}
        deleted = {
            table: self.storage.retention.delete_batch(self._sweep, table, self.batch_size)
            for table in RETENTION_TABLES
            if table in self._sweep.tables
        }
        for table, count in deleted.items():
            self._deleted[table] = self._deleted.get(table, 0) + count
        if not any(deleted.values()):
            if any(self._deleted.values()):
                logger.info("retention deleted %s", self._deleted)
            self._sweep, self._next_sweep = None, now + self.retention.every
        return {table: count for table, count in deleted.items() if count}


__all__ = ["RetentionService"]
