"""The partition keys of a range ``FIRST...LAST``: what a partitioned backfill runs.

``partita backfill create --assets SELECTION --partitions FIRST...LAST`` asks
each selected asset's partitions definition for its keys and keeps those
from FIRST to LAST, in the definition's order. The design decision: this
module depends only on the one method every partitions definition has
(``get_partition_keys``, as in Dagster), not on the partition classes, so it
works with whichever definitions the ``partitions_def=`` of an asset holds.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from partita.exceptions import PartitaError

#: How ``--partitions`` separates the first and the last key.
RANGE_SEPARATOR = "..."


class PartitionRangeError(PartitaError):
    """A partition range that cannot be used; the message names the keys and the fix."""


@runtime_checkable
class HasPartitionKeys(Protocol):
    """What a partitions definition offers a backfill: its keys, in order."""

    def get_partition_keys(self, current_time: datetime | None = None) -> Sequence[str]: ...


def split_partition_range(text: str) -> tuple[str, str]:
    """``"2024-01-01...2024-01-31"`` as its first and last key (one key: both)."""
    first, separator, last = text.partition(RANGE_SEPARATOR)
    first, last = first.strip(), last.strip()
    if not separator:
        last = first
    if not first or not last or RANGE_SEPARATOR in last:
        raise PartitionRangeError(
            f"--partitions {text!r} is not a range: write FIRST...LAST (two partition keys "
            f"separated by '{RANGE_SEPARATOR}', e.g. 2024-01-01...2024-01-31) or one key"
        )
    return first, last


def _nearest(key: str, keys: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, list(keys), n=3, cutoff=0.0)
    return ", ".join(close) or "none"


def partition_keys_in_range(
    partitions_def: Any, first: str, last: str, current_time: datetime | None = None,
    dynamic_partitions_store: Any = None,
) -> list[str]:  # fmt: skip
    """The keys of ``partitions_def`` from ``first`` to ``last``, both included, in order."""
    if not isinstance(partitions_def, HasPartitionKeys):
        raise PartitionRangeError(
            f"{partitions_def!r} is not a partitions definition (it has no get_partition_keys)"
        )
    if dynamic_partitions_store is None:
        keys = list(partitions_def.get_partition_keys(current_time))
    else:  # a dynamic definition's keys live in the store
        definition: Any = partitions_def
        keys = list(
            definition.get_partition_keys(
                current_time, dynamic_partitions_store=dynamic_partitions_store
            )
        )
    positions = {key: index for index, key in enumerate(keys)}
    for key in (first, last):
        if key not in positions:
            raise PartitionRangeError(
                f"partition key {key!r} is not one of the {len(keys)} keys of {partitions_def!r}; "
                f"the nearest valid keys are: {_nearest(key, keys)}"
            )
    start, end = positions[first], positions[last]
    if start > end:
        raise PartitionRangeError(
            f"--partitions {first}...{last}: {first!r} comes after {last!r} in "
            f"{partitions_def!r}; write the earlier key first ({last}...{first})"
        )
    return keys[start : end + 1]


__all__ = [
    "RANGE_SEPARATOR",
    "HasPartitionKeys",
    "PartitionRangeError",
    "partition_keys_in_range",
    "split_partition_range",
]
