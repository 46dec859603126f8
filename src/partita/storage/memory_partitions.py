"""The memory twin of the dynamic partitions store: keys per definition name, in a dict.

The design decision: a dict per name keeps insertion order, which is the
order of the keys (as the SQL store's ids give it), and makes "is this a
key" one lookup.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from partita.exceptions import StorageError
from partita.storage.base import DynamicPartitionStore
from partita.storage.values import UnstorableValueError, check_id, check_partition_key


def checked_keys(partitions_def_name: str, partition_keys: Sequence[str]) -> list[str]:
    """The keys, each once, if a store can hold them; ``StorageError`` naming the bad one."""
    if isinstance(partition_keys, str):
        raise StorageError(
            f"dynamic partitions {partitions_def_name!r}: give a list of keys, not the string "
            f"{partition_keys!r}"
        )
    try:
        check_id(partitions_def_name, "dynamic partitions definition name")
        if not partitions_def_name:
            raise UnstorableValueError("a dynamic partitions definition needs a non-empty name")
        return list(dict.fromkeys(check_partition_key(k) for k in partition_keys))
    except UnstorableValueError as exc:
        raise StorageError(f"dynamic partitions {partitions_def_name!r}: {exc}") from None


class MemoryDynamicPartitions(DynamicPartitionStore):
    def __init__(self) -> None:
        self._keys: dict[str, dict[str, None]] = {}
        self._lock = threading.Lock()

    def add_partitions(self, partitions_def_name: str, partition_keys: Sequence[str]) -> list[str]:
        keys = checked_keys(partitions_def_name, partition_keys)
        with self._lock:
            known = self._keys.setdefault(partitions_def_name, {})
            added = [k for k in keys if k not in known]
            known.update(dict.fromkeys(added))
        return added

    def delete_partitions(
        self, partitions_def_name: str, partition_keys: Sequence[str]
    ) -> list[str]:
        keys = checked_keys(partitions_def_name, partition_keys)
        with self._lock:
            known = self._keys.get(partitions_def_name, {})
            deleted = [k for k in keys if known.pop(k, 0) is None]
            if not known:
                self._keys.pop(partitions_def_name, None)
        return deleted

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        with self._lock:
            return list(self._keys.get(partitions_def_name, ()))

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        with self._lock:
            return partition_key in self._keys.get(partitions_def_name, ())

    def partitions_def_names(self) -> dict[str, int]:
        with self._lock:
            return {name: len(self._keys[name]) for name in sorted(self._keys)}


__all__ = ["MemoryDynamicPartitions", "checked_keys"]
