"""Partitions: the slices (a day, a region, a customer) an asset or a DAG is run for.

A partitions definition lists its partition keys, in order:
``StaticPartitionsDefinition(["eu", "us"])``, a time-window definition
(``DailyPartitionsDefinition(start_date="2024-01-01")`` and its kin, in
``time_partitions.py``), ``DynamicPartitionsDefinition(name="files")`` whose
keys are added and deleted at run time, and ``MultiPartitionsDefinition``,
the product of several. A run of a partitioned asset or DAG carries one key
(``context.partition_key``).

The design decision: every question about keys (is this a key, which keys lie
between two keys, which valid keys are nearest a wrong one) is answered by the
definition from its ordered keys, so the engine, the scheduler, backfills and
the CLI refuse a bad key with the same message. A dynamic definition reads its
keys from a ``DynamicPartitionsStore`` passed in (the metadata store's
``partitions``), never from a global.
"""

from __future__ import annotations

import difflib
import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from partita.exceptions import DefinitionError, PartitionKeyError

#: How many valid keys an error about a wrong key names.
NEAREST_KEYS = 3
#: What separates the dimension keys of a multi-partition key (``2024-01-01|eu``).
MULTI_KEY_SEPARATOR = "|"
#: What separates the ends of a range of keys on the command line (``FIRST...LAST``).
RANGE_SEPARATOR = "..."

#: Where a key stands among a definition's keys: an index, or a window's start.
_Position = TypeVar("_Position", int, datetime)


class DynamicPartitionsStore(Protocol):
    """Where the keys of dynamic partitions definitions live (``storage.partitions``)."""

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]: ...

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool: ...


@dataclass(frozen=True)
class PartitionKeyRange:
    """The keys from ``start`` to ``end``, both included, in the definition's order."""

    start: str
    end: str

    @classmethod
    def parse(cls, text: str) -> PartitionKeyRange:
        """``"FIRST...LAST"`` (as ``--partitions`` takes it) as a range; a single key alone."""
        first, separator, last = text.partition(RANGE_SEPARATOR)
        if not separator:
            first = last = text
        first, last = first.strip(), last.strip()
        if not first or not last or RANGE_SEPARATOR in last:
            raise PartitionKeyError(
                f"partition range {text!r} is not FIRST...LAST; write e.g. "
                "2024-01-01...2024-03-31 (both ends included), or one key"
            )
        return cls(first, last)


class PartitionsDefinition(ABC):
    """The ordered partition keys of an asset or DAG; subclasses say how they are made."""

    @abstractmethod
    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        """Every partition key, in order, as of ``current_time`` (now when None)."""

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> bool:
        """True when ``partition_key`` is one of the keys."""
        return partition_key in self.get_partition_keys(current_time, dynamic_partitions_store)

    def get_partition_keys_in_range(
        self,
        partition_key_range: PartitionKeyRange,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        """The keys from ``range.start`` to ``range.end`` (both included, both must be keys).

        What a backfill over ``FIRST...LAST`` runs; a wrong end is refused with
        the nearest valid keys named, and so is a start after the end.
        """
        keys = self.get_partition_keys(current_time, dynamic_partitions_store)
        positions = {key: index for index, key in enumerate(keys)}
        first, last = self._range_ends(
            partition_key_range, positions.get, current_time, dynamic_partitions_store
        )
        return keys[first : last + 1]

    def _range_ends(
        self,
        partition_key_range: PartitionKeyRange,
        position_of: Callable[[str], _Position | None],
        current_time: datetime | None,
        dynamic_partitions_store: DynamicPartitionsStore | None,
    ) -> tuple[_Position, _Position]:
        """Where the range's two ends stand (``position_of``: None for no key), in order.

        A wrong end is refused with the nearest valid keys named, and so is a
        start after the end.
        """
        ends = []
        for key in (partition_key_range.start, partition_key_range.end):
            position = position_of(key)
            if position is None:
                raise PartitionKeyError(
                    self._missing_key_message(key, current_time, dynamic_partitions_store)
                )
            ends.append(position)
        first, last = ends
        if first > last:
            raise PartitionKeyError(
                f"partition range {partition_key_range.start}...{partition_key_range.end} of "
                f"{self!r} is backwards: {partition_key_range.start!r} comes after "
                f"{partition_key_range.end!r}; swap them"
            )
        return first, last

    def validate_partition_key(
        self,
        partition_key: object,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> str:
        """``partition_key`` if it is a key; else ``PartitionKeyError`` naming the nearest keys."""
        if not isinstance(partition_key, str):
            raise PartitionKeyError(
                f"a partition key is a string, got {type(partition_key).__name__} "
                f"{partition_key!r}; pass e.g. partition_key='...'"
            )
        if self.has_partition_key(partition_key, current_time, dynamic_partitions_store):
            return partition_key
        raise PartitionKeyError(
            self._missing_key_message(partition_key, current_time, dynamic_partitions_store)
        )

    def _missing_key_message(
        self,
        partition_key: str,
        current_time: datetime | None,
        dynamic_partitions_store: DynamicPartitionsStore | None,
    ) -> str:
        """The error for ``partition_key``, which is no key as of ``current_time``."""
        keys = self.get_partition_keys(current_time, dynamic_partitions_store)
        return self.unknown_key_message(partition_key, keys)

    def nearest_partition_keys(self, partition_key: str, keys: Sequence[str]) -> list[str]:
        """The valid keys most like ``partition_key`` (by spelling, case aside), best first."""
        if partition_key in keys:
            return [partition_key]
        by_lower: dict[str, str] = {}
        for key in keys:
            by_lower.setdefault(key.lower(), key)
        wanted = partition_key.lower()
        close = difflib.get_close_matches(wanted, list(by_lower), n=NEAREST_KEYS, cutoff=0.0)
        if wanted in by_lower:
            close = [wanted, *(c for c in close if c != wanted)][:NEAREST_KEYS]
        return [by_lower[c] for c in close]

    def unknown_key_message(self, partition_key: str, keys: Sequence[str]) -> str:
        """The error for a key that is not one of ``keys``, naming the nearest valid ones."""
        if not keys:
            return (
                f"partition key {partition_key!r} is not a partition of {self!r}, which has no "
                "partitions yet"
            )
        nearest = self.nearest_partition_keys(partition_key, keys)
        return (
            f"partition key {partition_key!r} is not a partition of {self!r}; nearest valid "
            f"keys: {', '.join(nearest)} ({len(keys)} keys from {keys[0]} to {keys[-1]})"
        )

    def get_first_partition_key(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> str | None:
        keys = self.get_partition_keys(current_time, dynamic_partitions_store)
        return keys[0] if keys else None

    def get_last_partition_key(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> str | None:
        keys = self.get_partition_keys(current_time, dynamic_partitions_store)
        return keys[-1] if keys else None


class StaticPartitionsDefinition(PartitionsDefinition):
    """A fixed list of keys: ``StaticPartitionsDefinition(["eu", "us", "apac"])``."""

    def __init__(self, partition_keys: Sequence[str]) -> None:
        if isinstance(partition_keys, str) or not isinstance(partition_keys, Sequence):
            raise DefinitionError(
                f"StaticPartitionsDefinition takes a list of keys, got {partition_keys!r}"
            )
        keys = list(partition_keys)
        bad = [k for k in keys if not isinstance(k, str) or not k]
        if bad:
            raise DefinitionError(
                f"StaticPartitionsDefinition: keys must be non-empty strings; fix {bad[0]!r}"
            )
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            raise DefinitionError(
                f"StaticPartitionsDefinition: key(s) {', '.join(map(repr, repeated))} appear "
                "more than once; list each key once"
            )
        self._keys = tuple(keys)
        self._key_set = frozenset(keys)

    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        return list(self._keys)

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> bool:
        return partition_key in self._key_set

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StaticPartitionsDefinition) and other._keys == self._keys

    def __hash__(self) -> int:
        return hash(self._keys)

    def __repr__(self) -> str:
        shown = ", ".join(map(repr, self._keys[:4])) + (", ..." if len(self._keys) > 4 else "")
        return f"StaticPartitionsDefinition([{shown}])"


@dataclass(frozen=True)
class AddDynamicPartitionsRequest:
    """Add ``partition_keys`` to dynamic partitions definition ``partitions_def_name``."""

    partitions_def_name: str
    partition_keys: tuple[str, ...]


@dataclass(frozen=True)
class DeleteDynamicPartitionsRequest:
    """Delete ``partition_keys`` from dynamic partitions definition ``partitions_def_name``."""

    partitions_def_name: str
    partition_keys: tuple[str, ...]


class DynamicPartitionsDefinition(PartitionsDefinition):
    """Keys added and deleted at run time, kept in the metadata store under ``name``.

    Add keys with ``partita partitions add NAME KEY...``, from a task with
    ``context.instance.add_dynamic_partitions(NAME, [...])``, or with
    ``storage.partitions.add_partitions(NAME, [...])``; keys keep the order
    they were added in.
    """

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name.strip():
            raise DefinitionError(
                f"DynamicPartitionsDefinition needs a name (where its keys are kept), got {name!r}"
            )
        self.name = name

    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        return list(self._store(dynamic_partitions_store).get_dynamic_partitions(self.name))

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> bool:
        return self._store(dynamic_partitions_store).has_dynamic_partition(self.name, partition_key)

    def _store(self, store: DynamicPartitionsStore | None) -> DynamicPartitionsStore:
        if store is None:
            raise DefinitionError(
                f"{self!r}: its keys are in the metadata store; pass "
                "dynamic_partitions_store=storage.partitions (or run through partita, which does)"
            )
        return store

    def build_add_request(self, partition_keys: Sequence[str]) -> AddDynamicPartitionsRequest:
        """A request (for a sensor's result) to add ``partition_keys`` to this definition."""
        return AddDynamicPartitionsRequest(self.name, tuple(partition_keys))

    def build_delete_request(self, partition_keys: Sequence[str]) -> DeleteDynamicPartitionsRequest:
        """A request (for a sensor's result) to delete ``partition_keys`` from this definition."""
        return DeleteDynamicPartitionsRequest(self.name, tuple(partition_keys))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DynamicPartitionsDefinition) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("dynamic", self.name))

    def __repr__(self) -> str:
        return f"DynamicPartitionsDefinition(name={self.name!r})"


class MultiPartitionKey(str):
    """A key of a ``MultiPartitionsDefinition``: ``"2024-01-01|eu"``, one key per dimension.

    The dimension keys are joined with ``|`` in the order of the dimension
    names (sorted); ``keys_by_dimension`` gives them back by name.
    """

    keys_by_dimension: dict[str, str]

    def __new__(cls, keys_by_dimension: Mapping[str, str]) -> MultiPartitionKey:
        names = sorted(keys_by_dimension)
        text = MULTI_KEY_SEPARATOR.join(keys_by_dimension[name] for name in names)
        key = super().__new__(cls, text)
        key.keys_by_dimension = {name: keys_by_dimension[name] for name in names}
        return key

    def __getnewargs__(self) -> tuple[dict[str, str]]:  # type: ignore[override]
        return (self.keys_by_dimension,)


class MultiPartitionsDefinition(PartitionsDefinition):
    """The product of two or more definitions: ``{"date": daily, "region": regions}``.

    Its keys are ``MultiPartitionKey``\\ s, ``"2024-01-01|eu"``: one key per
    dimension in the order of the (sorted) dimension names, the first
    dimension varying slowest.
    """

    def __init__(self, partitions_defs: Mapping[str, PartitionsDefinition]) -> None:
        if not isinstance(partitions_defs, Mapping) or len(partitions_defs) < 2:
            raise DefinitionError(
                "MultiPartitionsDefinition takes a dict of two or more dimensions, "
                f"{{'name': PartitionsDefinition, ...}}; got {partitions_defs!r}"
            )
        for name, definition in partitions_defs.items():
            if not isinstance(name, str) or not name or MULTI_KEY_SEPARATOR in name:
                raise DefinitionError(
                    f"MultiPartitionsDefinition: dimension name {name!r} must be a non-empty "
                    "string without '|'"
                )
            if not isinstance(definition, PartitionsDefinition) or isinstance(
                definition, MultiPartitionsDefinition
            ):
                raise DefinitionError(
                    f"MultiPartitionsDefinition: dimension {name!r} must be a static, time-window "
                    f"or dynamic partitions definition, got {definition!r}"
                )
            if isinstance(definition, StaticPartitionsDefinition):
                bad = [k for k in definition.get_partition_keys() if MULTI_KEY_SEPARATOR in k]
                if bad:
                    raise DefinitionError(
                        f"MultiPartitionsDefinition: dimension {name!r} has key {bad[0]!r}; "
                        "keys of a dimension cannot hold '|', which joins them"
                    )
        self.partitions_defs = {name: partitions_defs[name] for name in sorted(partitions_defs)}

    @property
    def partition_dimension_names(self) -> list[str]:
        return list(self.partitions_defs)

    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        names = self.partition_dimension_names
        per_dimension = [
            d.get_partition_keys(current_time, dynamic_partitions_store)
            for d in self.partitions_defs.values()
        ]
        return [
            MultiPartitionKey(dict(zip(names, combination, strict=True)))
            for combination in itertools.product(*per_dimension)
        ]

    def get_partition_key_from_str(self, partition_key: str) -> MultiPartitionKey:
        """The ``MultiPartitionKey`` that ``"a|b"`` stands for."""
        parts = partition_key.split(MULTI_KEY_SEPARATOR)
        names = self.partition_dimension_names
        if len(parts) != len(names):
            raise PartitionKeyError(
                f"partition key {partition_key!r} of {self!r} needs one key per dimension "
                f"({', '.join(names)}) joined by '|', e.g. "
                f"{MULTI_KEY_SEPARATOR.join('<' + n + '>' for n in names)}"
            )
        return MultiPartitionKey(dict(zip(names, parts, strict=True)))

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> bool:
        parts = partition_key.split(MULTI_KEY_SEPARATOR)
        if len(parts) != len(self.partitions_defs):
            return False
        return all(
            d.has_partition_key(part, current_time, dynamic_partitions_store)
            for d, part in zip(self.partitions_defs.values(), parts, strict=True)
        )

    def nearest_partition_keys(self, partition_key: str, keys: Sequence[str]) -> list[str]:
        parts = partition_key.split(MULTI_KEY_SEPARATOR)
        if len(parts) != len(self.partitions_defs):
            return super().nearest_partition_keys(partition_key, keys)
        choices: list[list[str]] = []
        definitions = self.partitions_defs.values()
        for index, (definition, part) in enumerate(zip(definitions, parts, strict=True)):
            dimension = list(dict.fromkeys(k.split(MULTI_KEY_SEPARATOR)[index] for k in keys))
            if part in dimension:
                choices.append([part])
            else:
                choices.append(definition.nearest_partition_keys(part, dimension)[:2])
        combos = [MULTI_KEY_SEPARATOR.join(c) for c in itertools.product(*choices)]
        return combos[:NEAREST_KEYS]

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, MultiPartitionsDefinition)
            and other.partitions_defs == self.partitions_defs
        )

    def __hash__(self) -> int:
        return hash(tuple(self.partitions_defs.items()))

    def __repr__(self) -> str:
        dims = ", ".join(f"{n!r}: {d!r}" for n, d in self.partitions_defs.items())
        return f"MultiPartitionsDefinition({{{dims}}})"


__all__ = [
    "AddDynamicPartitionsRequest",
    "DeleteDynamicPartitionsRequest",
    "DynamicPartitionsDefinition",
    "DynamicPartitionsStore",
    "MultiPartitionKey",
    "MultiPartitionsDefinition",
    "PartitionKeyRange",
    "PartitionsDefinition",
    "StaticPartitionsDefinition",
]
