"""Partition mappings: which partitions of an upstream asset a partition of its downstream reads.

``@asset(partitions_def=daily, ins={"events": AssetIn(partition_mapping=
TimeWindowPartitionMapping(start_offset=-1))})`` gives the asset, for the
partition of a day, yesterday's and today's partitions of ``events``. With no
mapping the default applies: the same key (``IdentityPartitionMapping``),
overlapping windows between two time-window definitions, every partition of
a partitioned upstream for an unpartitioned downstream.

The design decision: a mapping answers one question,
``get_upstream_partition_keys(downstream key, downstream definition, upstream
definition)``, and names the upstream keys that do not exist in its error, so
loading an input is "ask the mapping, load each key"; the IO manager never
needs to know about mappings.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from partita.definitions.partitions import DynamicPartitionsStore, PartitionsDefinition
from partita.definitions.time_partitions import TimeWindowPartitionsDefinition
from partita.exceptions import DefinitionError, PartitionKeyError


class PartitionMapping(ABC):
    """How the partitions of a downstream asset map to those of an upstream one."""

    @abstractmethod
    def get_upstream_partition_keys(
        self,
        downstream_partition_key: str | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        """The upstream keys the downstream partition reads (in upstream order)."""


class _UpstreamQuery(NamedTuple):
    """One ``get_upstream_partition_keys`` call's arguments, as the built-in mappings get them."""

    key: str | None
    downstream: PartitionsDefinition | None
    upstream: PartitionsDefinition
    current_time: datetime | None
    store: DynamicPartitionsStore | None


class _BuiltinMapping(PartitionMapping):
    """The built-in mappings: one ``get_upstream_partition_keys``, each answering ``_upstream``."""

    def get_upstream_partition_keys(
        self,
        downstream_partition_key: str | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        return self._upstream(
            _UpstreamQuery(
                downstream_partition_key,
                downstream_partitions_def,
                upstream_partitions_def,
                current_time,
                dynamic_partitions_store,
            )
        )

    @abstractmethod
    def _upstream(self, query: _UpstreamQuery) -> list[str]:
        """The upstream keys ``query``'s downstream partition reads (in upstream order)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class IdentityPartitionMapping(_BuiltinMapping):
    """The upstream partition with the same key (the default between equal definitions)."""

    def _upstream(self, query: _UpstreamQuery) -> list[str]:
        key = query.key
        if key is None:
            raise PartitionKeyError(
                "IdentityPartitionMapping needs a partitioned downstream; use "
                "AllPartitionMapping() for an unpartitioned one"
            )
        if not query.upstream.has_partition_key(key, query.current_time, query.store):
            raise PartitionKeyError(
                f"the upstream has no partition {key!r} "
                f"({query.upstream!r}); give the input a partition_mapping that "
                "says which upstream partitions it reads"
            )
        return [key]


class AllPartitionMapping(_BuiltinMapping):
    """Every partition of the upstream (the default for an unpartitioned downstream)."""

    def _upstream(self, query: _UpstreamQuery) -> list[str]:
        return query.upstream.get_partition_keys(query.current_time, query.store)


class LastPartitionMapping(_BuiltinMapping):
    """The last partition of the upstream."""

    def _upstream(self, query: _UpstreamQuery) -> list[str]:
        last = query.upstream.get_last_partition_key(query.current_time, query.store)
        return [] if last is None else [last]


class TimeWindowPartitionMapping(_BuiltinMapping):
    """The upstream windows overlapping the downstream window, shifted by whole windows.

    ``start_offset=-1`` also reads the window before (yesterday with today);
    ``start_offset=-1, end_offset=-1`` reads only the window before. Upstream
    windows that are not partitions (before the upstream's start) are an error
    unless ``allow_nonexistent_upstream_partitions`` drops them.
    """

    def __init__(
        self,
        start_offset: int = 0,
        end_offset: int = 0,
        allow_nonexistent_upstream_partitions: bool = False,
    ) -> None:
        for name, value in (("start_offset", start_offset), ("end_offset", end_offset)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise DefinitionError(
                    f"TimeWindowPartitionMapping: {name} must be an integer, got {value!r}"
                )
        self.start_offset = start_offset
        self.end_offset = end_offset
        self.allow_nonexistent_upstream_partitions = allow_nonexistent_upstream_partitions

    def _upstream(self, query: _UpstreamQuery) -> list[str]:
        down, up = query.downstream, query.upstream
        if not isinstance(down, TimeWindowPartitionsDefinition) or not isinstance(
            up, TimeWindowPartitionsDefinition
        ):
            raise DefinitionError(
                f"{self!r} maps time windows to time windows; here the downstream is "
                f"{down!r} and the upstream {up!r}"
            )
        if query.key is None:
            raise PartitionKeyError(f"{self!r} needs the downstream's partition key")
        window = down.time_window_for_partition_key(query.key)
        start = down.shifted(window.start, self.start_offset)
        end = down.shifted(window.end, self.end_offset)
        found, missing = up.keys_overlapping(start, end, query.current_time)
        if missing and not self.allow_nonexistent_upstream_partitions:
            raise PartitionKeyError(
                f"partition {query.key!r} reads upstream window(s) "
                f"{', '.join(missing)} through {self!r}, which are not partitions of {up!r}; "
                "pass allow_nonexistent_upstream_partitions=True to read only those that exist"
            )
        return found

    def __repr__(self) -> str:
        return (
            f"TimeWindowPartitionMapping(start_offset={self.start_offset}, "
            f"end_offset={self.end_offset})"
        )


class StaticPartitionMapping(_BuiltinMapping):
    """An explicit map: ``{"upstream key": "downstream key" or {"downstream", "keys"}}``."""

    def __init__(
        self,
        downstream_partition_keys_by_upstream_partition_key: Mapping[str, str | Collection[str]],
    ) -> None:
        if not isinstance(downstream_partition_keys_by_upstream_partition_key, Mapping):
            raise DefinitionError(
                "StaticPartitionMapping takes a dict {upstream key: downstream key(s)}, got "
                f"{downstream_partition_keys_by_upstream_partition_key!r}"
            )
        self.mapping: dict[str, frozenset[str]] = {}
        for upstream, downstream in downstream_partition_keys_by_upstream_partition_key.items():
            keys = {downstream} if isinstance(downstream, str) else set(downstream)
            self.mapping[upstream] = frozenset(keys)

    def _upstream(self, query: _UpstreamQuery) -> list[str]:
        return [
            upstream for upstream, downstream in self.mapping.items() if query.key in downstream
        ]

    def __repr__(self) -> str:
        return f"StaticPartitionMapping({ {k: sorted(v) for k, v in self.mapping.items()} })"


def default_partition_mapping(
    upstream: PartitionsDefinition | None, downstream: PartitionsDefinition | None
) -> PartitionMapping | None:
    """The mapping used when an input names none (None: the upstream is not partitioned)."""
    if upstream is None:
        return None
    if downstream is None:
        return AllPartitionMapping()
    if isinstance(upstream, TimeWindowPartitionsDefinition) and isinstance(
        downstream, TimeWindowPartitionsDefinition
    ):
        return TimeWindowPartitionMapping()
    return IdentityPartitionMapping()


def check_partition_mapping(where: str, mapping: Any) -> PartitionMapping | None:
    """``mapping`` if it is a ``PartitionMapping`` (or None); a clear error otherwise."""
    if mapping is None or isinstance(mapping, PartitionMapping):
        return mapping
    raise DefinitionError(
        f"{where}: partition_mapping must be a PartitionMapping (e.g. "
        f"TimeWindowPartitionMapping(start_offset=-1)), got {mapping!r}"
    )


__all__ = [
    "AllPartitionMapping",
    "IdentityPartitionMapping",
    "LastPartitionMapping",
    "PartitionMapping",
    "StaticPartitionMapping",
    "TimeWindowPartitionMapping",
    "check_partition_mapping",
    "default_partition_mapping",
]
