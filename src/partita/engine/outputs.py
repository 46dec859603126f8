"""Task outputs of one run as the in-process executor sees them: store once, read from memory.

Values are encoded through the storage's ``OutputStore`` (so they persist
with the run when the store does) and also kept in a per-run cache, so a
downstream task in the same process never waits for a flush or unpickles
what is still in memory. Outputs of tasks from an earlier process are loaded
from the store.
"""

from __future__ import annotations

from typing import Any

from partita.engine.mapping import LazyOutputs
from partita.storage.base import RunStore, Storage
from partita.storage.records import OutputRecord


class StoreOutputAccess:
    """``OutputAccess`` backed by a ``Storage`` plus an in-memory cache of this run's values."""

    def __init__(self, storage: Storage, run_id: str) -> None:
        self._storage = storage
        #: The store the run's outputs go to (its dynamic partitions too).
        self.storage = storage
        self._run_id = run_id
        self._cache: dict[tuple[str, int, str], Any] = {}
        #: task id -> number of instances, for mapped tasks that expanded (set by the driver)
        self.map_lengths: dict[str, int] = {}

    @property
    def run_store(self) -> RunStore:
        """The store's runs, read by tasks that wait for other DAGs (``engine.external_runs``)."""
        return self._storage.runs

    def push(self, task_id: str, map_index: int, key: str, value: Any) -> OutputRecord:
        record = self._storage.outputs.encode(self._run_id, task_id, map_index, key, value)
        self._cache[(task_id, map_index, key)] = value
        return record

    def pull(self, task_id: str, map_index: int, key: str) -> tuple[bool, Any]:
        if map_index == -1 and task_id in self.map_lengths:
            return True, self.all_instances(task_id, key)
        cache_key = (task_id, map_index, key)
        if cache_key in self._cache:
            return True, self._cache[cache_key]
        record = self._storage.outputs.get_record(self._run_id, task_id, map_index, key)
        if record is None:
            return False, None
        value = self._storage.outputs.load(record)
        self._cache[cache_key] = value
        return True, value

    def all_instances(self, task_id: str, key: str) -> LazyOutputs:
        """Every instance's output ``key`` of a mapped task, loaded lazily, in order."""

        def load(index: int) -> Any:
            return self.pull(task_id, index, key)[1]

        return LazyOutputs(load, self.map_lengths[task_id], task_id)


__all__ = ["StoreOutputAccess"]
