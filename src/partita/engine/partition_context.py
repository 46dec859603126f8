"""What a task of a partitioned run sees: its partition key, time window and the instance.

``context.partition_key`` is the run's key (None when the DAG is not
partitioned), ``context.partition_time_window`` its window when the
partitions are time windows (of the time dimension of a multi-partition
key), ``context.asset_partition_key_range`` / ``partition_key_range`` the key
as a one-key range, ``context.partition_keys`` the key in a list, and
``context.instance`` adds and deletes the keys of dynamic partitions
definitions (``context.instance.add_dynamic_partitions("files", [...])``).

A run of a range of partitions (a backfill of assets with a
``BackfillPolicy``, its partition key ``FIRST...LAST``) has no
``partition_key`` (None) but ``has_partition_key_range``, the range in
``partition_key_range``, every key in ``partition_keys`` and a
``partition_time_window`` from its first window's start to its last's end,
as Dagster's single-run backfills.

The design decision: the instance a task gets is a narrow view of the
store's dynamic partitions, not the store: user code can change partition
keys (definitions data, as a sensor does) but never a run's records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from partita.definitions.partition_range import RANGE_SEPARATOR, partition_keys_in_range
from partita.definitions.partitions import (
    DynamicPartitionsStore,
    MultiPartitionsDefinition,
    PartitionKeyRange,
    PartitionsDefinition,
)
from partita.definitions.time_partitions import TimeWindow, TimeWindowPartitionsDefinition
from partita.exceptions import PartitaError
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


def range_of_key(
    definition: PartitionsDefinition | None, key: str | None, store: Any = None
) -> tuple[str, str] | None:
    """``(FIRST, LAST)`` when ``key`` is a range run's ``FIRST...LAST``, else None.

    A key that is itself a partition of ``definition`` is never a range.
    """
    if definition is None or key is None or RANGE_SEPARATOR not in key:
        return None
    try:
        definition.validate_partition_key(key, dynamic_partitions_store=store)
    except PartitaError:
        first, _, last = key.partition(RANGE_SEPARATOR)
        return first, last
    return None


def keys_of_range(
    definition: PartitionsDefinition, first: str, last: str, store: Any = None
) -> list[str]:
    """The keys from ``first`` to ``last`` (both included, in order) of ``definition``."""
    if isinstance(definition, TimeWindowPartitionsDefinition):
        return [definition.key_of(w.start) for w in definition.time_windows_between(first, last)]
    return partition_keys_in_range(definition, first, last, dynamic_partitions_store=store)


def partition_keys_of_run(
    definition: PartitionsDefinition | None, key: str | None, store: Any = None
) -> list[str]:
    """The partitions a run with partition key ``key`` is for: its range's, its own, or none."""
    if key is None:
        return []
    span = range_of_key(definition, key, store)
    if span is None or definition is None:
        return [key]
    return keys_of_range(definition, *span, store)


def partition_context(
    partition_key: str | None, dag: Any, store: DynamicPartitionsStore | None
) -> dict[str, Any]:
    """The partition keys of a run's context (added to every task's)."""
    definition = getattr(dag, "partitions_def", None)
    instance = PartitionsInstance(store) if isinstance(store, DynamicPartitionStore) else None
    span = range_of_key(definition, partition_key, store) if partition_key else None
    if span is not None:
        return _range_context(definition, span, store, instance)
    key_range = None if partition_key is None else PartitionKeyRange(partition_key, partition_key)
    return {
        "partition_key": partition_key,
        "has_partition_key": partition_key is not None,
        "has_partition_key_range": False,
        "partition_time_window": time_window_of(definition, partition_key),
        "asset_partition_key_range": key_range,
        "partition_key_range": key_range,
        "partition_keys": None if partition_key is None else [partition_key],
        "partitions_def": definition,
        "instance": instance,
    }


def _range_context(
    definition: Any, span: tuple[str, str], store: Any, instance: PartitionsInstance | None
) -> dict[str, Any]:
    first, last = span
    begin, end = time_window_of(definition, first), time_window_of(definition, last)
    key_range = PartitionKeyRange(first, last)
    return {
        "partition_key": None,
        "has_partition_key": False,
        "has_partition_key_range": True,
        "partition_time_window": TimeWindow(begin.start, end.end) if begin and end else None,
        "asset_partition_key_range": key_range,
        "partition_key_range": key_range,
        "partition_keys": keys_of_range(definition, first, last, store),
        "partitions_def": definition,
        "instance": instance,
    }


__all__ = [
    "PartitionsInstance",
    "keys_of_range",
    "partition_context",
    "partition_keys_of_run",
    "range_of_key",
    "time_window_of",
]
