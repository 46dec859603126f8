"""Where the partitions of an asset stand: materialized, failed or missing, in key ranges.

``partita assets partitions PATH KEY`` prints, for each status, how many
partitions have it and the ranges of consecutive keys:
``materialized 91 2024-01-01...2024-03-31``.

The design decision: the summary is a pure function of the definition's
ordered keys and the catalog's latest status per partition (one indexed read
of ``asset_partition``), so it costs one pass over the keys however long the
history; statuses of keys the definition no longer has (a deleted dynamic
key) are left out, and without the definition only what ran is known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from partita.storage.records import AssetPartitionStatus, AssetPartitionStatusRecord


@dataclass(frozen=True)
class KeyRange:
    """Consecutive keys with one status: ``first...last`` (``count`` keys)."""

    first: str
    last: str
    count: int

    def __str__(self) -> str:
        return self.first if self.count == 1 else f"{self.first}...{self.last}"


@dataclass
class PartitionSummary:
    """Per status: how many partitions, and their ranges of consecutive keys in key order."""

    total: int
    counts: dict[AssetPartitionStatus, int] = field(default_factory=dict)
    ranges: dict[AssetPartitionStatus, list[KeyRange]] = field(default_factory=dict)


def summarize_partitions(
    keys: Sequence[str] | None, statuses: Mapping[str, AssetPartitionStatusRecord]
) -> PartitionSummary:
    """The summary of ``keys`` (in order) given the latest status of those that ran.

    ``keys`` None (the definition is not known): the keys that ran, sorted.
    """
    ordered = list(keys) if keys is not None else sorted(statuses)
    summary = PartitionSummary(total=len(ordered))
    current: AssetPartitionStatus | None = None
    first = last = ""
    count = 0
    for key in ordered:
        record = statuses.get(key)
        status = record.status if record is not None else AssetPartitionStatus.MISSING
        summary.counts[status] = summary.counts.get(status, 0) + 1
        if status is current:
            last, count = key, count + 1
            continue
        if current is not None:
            summary.ranges.setdefault(current, []).append(KeyRange(first, last, count))
        current, first, last, count = status, key, key, 1
    if current is not None:
        summary.ranges.setdefault(current, []).append(KeyRange(first, last, count))
    return summary


__all__ = ["KeyRange", "PartitionSummary", "summarize_partitions"]
