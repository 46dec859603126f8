"""What a task of a partitioned run sees: its partition key, time window and the instance.

``context.partition_key`` is the run's key (None when the DAG is not
partitioned), ``context.partition_time_window`` its window when the
partitions are time windows (of the time dimension of a multi-partition
key), ``context.asset_partition_key_range`` the key as a one-key range, and
``context.instance`` adds and deletes the keys of dynamic partitions
definitions (``context.instance.add_dynamic_partitions("files", [...])``).

The design decision: the instance a task gets is a narrow view of the
store's dynamic partitions, not the store: user code can change partition
keys (definitions data, as a sensor does) but never a run's records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from partita.definitions.partitions import (
    DynamicPartitionsStore,
    MultiPartitionsDefinition,
    PartitionKeyRange,
    PartitionsDefinition,
)
from partita.definitions.time_partitions import TimeWindow, TimeWindowPartitionsDefinition
from partita.storage.base import DynamicPartitionStore


class PartitionsInstance:
    """``context.instance``: the dynamic partitions of the run's metadata store."""

    def __init__(self, store: DynamicPartitionStore) -> None:
        self._store = store

    def add_dynamic_partitions(
        self, partitions_def_name: str, partition_keys: Sequence[str]
    ) -> list[str]:
        """Add keys to dynamic partitions definition ``partitions_def_name``; the new ones."""
        return self._store.add_partitions(partitions_def_name, partition_keys)

    def delete_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        """Delete one key; False when it was not there."""
        return bool(self._store.delete_partitions(partitions_def_name, [partition_key]))

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        return self._store.get_dynamic_partitions(partitions_def_name)

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        return self._store.has_dynamic_partition(partitions_def_name, partition_key)

    def __repr__(self) -> str:
        return f"<PartitionsInstance of {type(self._store).__name__}>"


def time_window_of(definition: PartitionsDefinition | None, key: str | None) -> TimeWindow | None:
    """The time window of ``key`` (of its time dimension for a multi-partition key), or None."""
    if definition is None or key is None:
        return None
    if isinstance(definition, TimeWindowPartitionsDefinition):
        return definition.time_window_for_partition_key(key)
    if isinstance(definition, MultiPartitionsDefinition):
        parts = definition.get_partition_key_from_str(key).keys_by_dimension
        for name, dimension in definition.partitions_defs.items():
            if isinstance(dimension, TimeWindowPartitionsDefinition):
                return dimension.time_window_for_partition_key(parts[name])
    return None


def partition_context(
    partition_key: str | None, dag: Any, store: DynamicPartitionsStore | None
) -> dict[str, Any]:
    """The partition keys of a run's context (added to every task's)."""
    definition = getattr(dag, "partitions_def", None)
    return {
        "partition_key": partition_key,
        "has_partition_key": partition_key is not None,
        "partition_time_window": time_window_of(definition, partition_key),
        "asset_partition_key_range": (
            None if partition_key is None else PartitionKeyRange(partition_key, partition_key)
        ),
        "partitions_def": definition,
        "instance": PartitionsInstance(store) if isinstance(store, DynamicPartitionStore) else None,
    }


__all__ = ["PartitionsInstance", "partition_context", "time_window_of"]
