"""Task outputs of one run as the in-process executor sees them: store once, read from memory.

Values are encoded through the storage's ``OutputStore`` (so they persist
with the run when the store does) and also kept in a per-run cache, so a
downstream task in the same process never waits for a flush or unpickles
what is still in memory. Outputs of tasks from an earlier process are loaded
from the store.
"""

from __future__ import annotations

from typing import Any

from partita.storage.base import Storage
from partita.storage.records import OutputRecord


class StoreOutputAccess:
    """``OutputAccess`` backed by a ``Storage`` plus an in-memory cache of this run's values."""

    def __init__(self, storage: Storage, run_id: str) -> None:
        self._storage = storage
        self._run_id = run_id
        self._cache: dict[tuple[str, int, str], Any] = {}

    def push(self, task_id: str, map_index: int, key: str, value: Any) -> OutputRecord:
        record = self._storage.outputs.encode(self._run_id, task_id, map_index, key, value)
        self._cache[(task_id, map_index, key)] = value
        return record

    def pull(self, task_id: str, map_index: int, key: str) -> tuple[bool, Any]:
        cache_key = (task_id, map_index, key)
        if cache_key in self._cache:
            return True, self._cache[cache_key]
        record = self._storage.outputs.get_record(self._run_id, task_id, map_index, key)
        if record is None:
            return False, None
        value = self._storage.outputs.load(record)
        self._cache[cache_key] = value
        return True, value


__all__ = ["StoreOutputAccess"]
