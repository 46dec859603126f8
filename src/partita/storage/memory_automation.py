"""The automation store in memory: the twin of the SQL one, for tests and in-process use.

The design decision: it reads the memory asset catalog's list and writes the
memory run table directly, under the store's lock, so ``advance`` is as
atomic here as its transaction is in SQL.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from partita.definitions.asset_key import AssetKey
from partita.storage.automation import AutomationStore, CursorRecord
from partita.storage.records import AssetMaterializationRecord, DagRunRecord


def _record_id(record: AssetMaterializationRecord) -> int:
    return record.id or 0


class MemoryAutomationStore(AutomationStore):
    """Cursors in a dict; events from the catalog's list (ids are 1, 2, 3... in order)."""

    def __init__(
        self,
        records: list[AssetMaterializationRecord],
        runs: dict[str, DagRunRecord],
        lock: threading.Lock,
    ) -> None:
        self._records = records
        self._runs = runs
        self._lock = lock
        self._cursors: dict[str, CursorRecord] = {}

    def events_after(
        self,
        after_id: int,
        asset_keys: Iterable[AssetKey] | None = None,
        *,
        limit: int = 1000,
    ) -> list[AssetMaterializationRecord]:
        wanted = None if asset_keys is None else set(asset_keys)
        with self._lock:
            start = bisect.bisect_right(self._records, after_id, key=_record_id)
            found: list[AssetMaterializationRecord] = []
            for record in self._records[start:]:
                if len(found) >= limit:
                    break
                if wanted is None or record.asset_key in wanted:
                    found.append(record)
        return found

    def last_event_id(self) -> int:
        with self._lock:
            return _record_id(self._records[-1]) if self._records else 0

    def get_cursor(self, name: str) -> CursorRecord | None:
        with self._lock:
            return self._cursors.get(name)

    def list_cursors(self, prefix: str = "") -> list[CursorRecord]:
        with self._lock:
            return [c for n, c in sorted(self._cursors.items()) if n.startswith(prefix)]

    def advance(
        self,
        name: str,
        seen_version: int | None,
        value: dict[str, Any],
        runs: Sequence[DagRunRecord],
        now: datetime,
    ) -> bool:
        with self._lock:
            stored = self._cursors.get(name)
            if (None if stored is None else stored.version) != seen_version:
                return False
            version = 1 if stored is None else stored.version + 1
            self._cursors[name] = CursorRecord(name, version, dict(value), now)
            for run in runs:
                self._runs.setdefault(run.run_id, run)
            return True


__all__ = ["MemoryAutomationStore"]
