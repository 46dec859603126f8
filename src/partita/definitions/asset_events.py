"""Airflow 3 style assets: ``Asset``, the conditions ``AssetAll`` / ``AssetAny``, their timetable.

A task with ``outlets=[Asset("s3://bucket/orders")]`` records an asset event
when it succeeds; a DAG with ``schedule=[orders]`` (all of them) or a
condition such as ``(orders & customers) | refunds`` runs when the assets
of its condition got events since its last asset-triggered run::

    orders = Asset("s3://bucket/orders")

    with DAG("consumer", schedule=[orders]):
        ...

The design decision: an asset event is a row of the asset catalog, like a
Dagster-style materialization (``Asset.key`` is its catalog key), so both
styles share one history and a DAG may be scheduled on an ``@asset`` too.
A condition is pure data: ``evaluate(updated_keys)`` says whether a set of
updated keys satisfies it; the scheduler (``scheduler/asset_triggers.py``)
keeps the per-DAG cursor of events already consumed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from partita.definitions.asset_access import AssetAccessControl
from partita.definitions.asset_key import AssetKey
from partita.definitions.timetable_base import Timetable
from partita.definitions.timetables import NullTimetable
from partita.exceptions import DefinitionError

_NOT_IN_SEGMENT = re.compile(r"[^A-Za-z0-9_\-]+")


def _key_of(name: str) -> AssetKey:
    """The catalog key of an asset name or URI: ``s3://bucket/x.csv`` -> ``s3/bucket/x_csv``."""
    segments = [_NOT_IN_SEGMENT.sub("_", s)[:120] for s in name.replace("://", "/").split("/")]
    return AssetKey([s for s in segments if s.strip("_")] or ["_"])


class AssetCondition:
    """What a DAG's ``schedule=`` may wait for: one asset, or ``&`` / ``|`` of conditions."""

    def evaluate(self, updated: Iterable[AssetKey]) -> bool:
        """True when the keys in ``updated`` (those with new events) satisfy this condition."""
        raise NotImplementedError

    def iter_assets(self) -> Iterator[Asset]:
        """Every asset the condition names, once each, in order."""
        raise NotImplementedError

    def iter_aliases(self) -> Iterator[AssetAlias]:
        """Every asset alias the condition names, once each, in order."""
        return iter(())

    def serialize(self) -> Any:
        """A JSON-compatible form (``condition_from_data`` reads it back)."""
        raise NotImplementedError

    def __and__(self, other: AssetCondition) -> AssetAll:
        return AssetAll(self, other)

    def __or__(self, other: AssetCondition) -> AssetAny:
        return AssetAny(self, other)


@dataclass(frozen=True, eq=False)
class Asset(AssetCondition):
    """A piece of data a task updates (``outlets=``) and a DAG may wait for (``schedule=``).

    ``name`` defaults to ``uri`` and ``uri`` to ``name``; two assets are the
    same when their names are. ``extra`` is free JSON-compatible data.
    """

    name: str = ""
    uri: str = ""
    group: str = "asset"
    extra: dict[str, Any] = field(default_factory=dict)
    #: Which teams may produce / consume its events (kept; partita has no teams).
    access_control: AssetAccessControl | None = None

    def __init__(
        self,
        name: str | None = None,
        uri: str | None = None,
        *,
        group: str = "asset",
        extra: Mapping[str, Any] | None = None,
        access_control: AssetAccessControl | None = None,
    ) -> None:
        if name is None and uri is None:
            raise DefinitionError("Asset needs a name or a uri, e.g. Asset('s3://bucket/orders')")
        for what, value in (("name", name), ("uri", uri)):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise DefinitionError(f"Asset {what} must be a non-empty string, got {value!r}")
        object.__setattr__(self, "name", name if name is not None else uri)
        object.__setattr__(self, "uri", uri if uri is not None else name)
        object.__setattr__(self, "group", group)
        object.__setattr__(self, "extra", dict(extra or {}))
        if access_control is not None and not isinstance(access_control, AssetAccessControl):
            raise DefinitionError(
                f"Asset access_control must be an AssetAccessControl(...), got {access_control!r}"
            )
        object.__setattr__(self, "access_control", access_control)

    @property
    def key(self) -> AssetKey:
        """The key of this asset's events in the asset catalog."""
        return _key_of(self.name)

    def evaluate(self, updated: Iterable[AssetKey]) -> bool:
        return self.key in set(updated)

    def iter_assets(self) -> Iterator[Asset]:
        yield self

    def serialize(self) -> Any:
        return {"asset": self.name, "uri": self.uri}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Asset) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("Asset", self.name))

    def __repr__(self) -> str:
        if self.uri == self.name:
            return f"Asset({self.name!r})"
        return f"Asset(name={self.name!r}, uri={self.uri!r})"


#: The metadata key of an event added through aliases: the aliases, the asset's name and URI.
ALIAS_METADATA_KEY = "__asset_alias__"


def alias_key(name: str) -> AssetKey:
    """The key an alias stands for while a condition is evaluated (never stored)."""
    return AssetKey(["__alias__", *_key_of(name).path])


@dataclass(frozen=True, eq=False)
class AssetAlias(AssetCondition):
    """A name a task adds asset events through, when it learns the asset only as it runs.

    ``outlets=[AssetAlias("x")]`` lets the task call
    ``outlet_events[AssetAlias("x")].add(Asset("s3://..."))``: an event of that
    asset, recorded as added through ``x``. A DAG with ``schedule=AssetAlias("x")``
    (alone or in ``&`` / ``|``) runs on the events added through ``x``.
    """

    name: str
    group: str = "asset"

    def __init__(self, name: str, group: str = "asset") -> None:
        if not isinstance(name, str) or not name.strip():
            raise DefinitionError(f"AssetAlias needs a non-empty name, got {name!r}")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "group", group)

    @property
    def key(self) -> AssetKey:
        return alias_key(self.name)

    def evaluate(self, updated: Iterable[AssetKey]) -> bool:
        return self.key in set(updated)

    def iter_assets(self) -> Iterator[Asset]:
        return iter(())

    def iter_aliases(self) -> Iterator[AssetAlias]:
        yield self

    def serialize(self) -> Any:
        return {"alias": self.name}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssetAlias) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("AssetAlias", self.name))

    def __repr__(self) -> str:
        return f"AssetAlias({self.name!r})"


class _Group(AssetCondition):
    operator = ""

    def __init__(self, *objects: AssetCondition) -> None:
        if not objects:
            raise DefinitionError(f"{type(self).__name__} needs at least one asset or condition")
        for item in objects:
            if not isinstance(item, AssetCondition):
                raise DefinitionError(
                    f"{type(self).__name__} takes Asset(...) values or conditions made of them, "
                    f"got {item!r}"
                )
        self.objects: tuple[AssetCondition, ...] = objects

    def iter_assets(self) -> Iterator[Asset]:
        seen: set[Asset] = set()
        for item in self.objects:
            for one in item.iter_assets():
                if one not in seen:
                    seen.add(one)
                    yield one

    def iter_aliases(self) -> Iterator[AssetAlias]:
        yield from dict.fromkeys(a for item in self.objects for a in item.iter_aliases())

    def serialize(self) -> Any:
        return {self.operator: [o.serialize() for o in self.objects]}

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _Group)
            and type(other) is type(self)
            and other.objects == self.objects
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.objects))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self.objects))})"


class AssetAll(_Group):
    """True when every one of its assets / conditions is (``a & b``)."""

    operator = "all"

    def evaluate(self, updated: Iterable[AssetKey]) -> bool:
        keys = set(updated)
        return all(o.evaluate(keys) for o in self.objects)


class AssetAny(_Group):
    """True when any one of its assets / conditions is (``a | b``)."""

    operator = "any"

    def evaluate(self, updated: Iterable[AssetKey]) -> bool:
        keys = set(updated)
        return any(o.evaluate(keys) for o in self.objects)


def condition_from_data(data: Any) -> AssetCondition:
    """The condition ``AssetCondition.serialize`` wrote."""
    if "asset" in data:
        return Asset(data["asset"], data.get("uri"))
    if "alias" in data:
        return AssetAlias(data["alias"])
    if "all" in data:
        return AssetAll(*(condition_from_data(d) for d in data["all"]))
    return AssetAny(*(condition_from_data(d) for d in data["any"]))


def as_asset_condition(dag_id: str, schedule: Any) -> AssetCondition | None:
    """The condition ``schedule=`` means when it names assets (None when it does not).

    A list of assets means all of them (as in Airflow); an empty list is refused.
    """
    if isinstance(schedule, AssetCondition):
        return schedule
    if isinstance(schedule, (list, tuple)):
        if not schedule or not all(isinstance(s, AssetCondition) for s in schedule):
            raise DefinitionError(
                f"DAG {dag_id!r}: a list schedule must hold Asset(...) values (at least one), "
                f"got {schedule!r}"
            )
        return schedule[0] if len(schedule) == 1 else AssetAll(*schedule)
    return None


class AssetTriggeredTimetable(NullTimetable):
    """``schedule=[Asset(...)]``: no runs on a clock; the scheduler runs it on asset events."""

    kind = "asset"

    def __init__(self, condition: AssetCondition) -> None:
        self.condition = condition

    @property
    def summary(self) -> str:
        return "Asset"

    @property
    def description(self) -> str:
        return f"On asset events: {self.condition!r}"

    def _fields(self) -> dict[str, Any]:
        return {"condition": self.condition.serialize()}

    @classmethod
    def _from_fields(cls, fields: dict[str, Any]) -> Timetable:
        return cls(condition_from_data(fields["condition"]))


@dataclass(frozen=True)
class AssetEvent:
    """One event of an asset, as a consumer sees it (``triggering_asset_events``)."""

    asset: Asset
    timestamp: datetime
    extra: dict[str, Any]
    source_dag_id: str | None
    source_run_id: str
    source_task_id: str
    source_map_index: int
    id: int | None = None
    #: The aliases the event was added through (``outlet_events[AssetAlias(...)]``).
    source_aliases: tuple[str, ...] = ()

    def to_data(self) -> dict[str, Any]:
        """A JSON-compatible form (kept in the triggered run's conf)."""
        return {
            "asset": self.asset.name, "uri": self.asset.uri, "id": self.id,
            "timestamp": self.timestamp.isoformat(), "extra": self.extra,
            "source_dag_id": self.source_dag_id, "source_run_id": self.source_run_id,
            "source_task_id": self.source_task_id, "source_map_index": self.source_map_index,
            "source_aliases": list(self.source_aliases),
        }  # fmt: skip

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> AssetEvent:
        return cls(
            Asset(data["asset"], data.get("uri")), datetime.fromisoformat(data["timestamp"]),
            dict(data.get("extra") or {}), data.get("source_dag_id"), data["source_run_id"],
            data["source_task_id"], data.get("source_map_index", -1), data.get("id"),
            tuple(data.get("source_aliases") or ()),
        )  # fmt: skip

    @property
    def keys(self) -> list[AssetKey]:
        """The keys a condition sees updated by this event: its asset's, and its aliases'."""
        return [self.asset.key, *(alias_key(name) for name in self.source_aliases)]


#: The run conf key that carries an asset-triggered run's events.
TRIGGERING_EVENTS_KEY = "triggering_asset_events"


class TriggeringAssetEvents(Mapping[Any, Sequence[AssetEvent]]):
    """``context["triggering_asset_events"]``: the events that triggered the run, per asset.

    Indexed by an ``Asset``, its name / URI, or its ``AssetKey``.
    """

    def __init__(self, events: Sequence[AssetEvent]) -> None:
        self._by_key: dict[AssetKey, list[AssetEvent]] = {}
        self._assets: dict[AssetKey, Asset] = {}
        for event in events:
            self._by_key.setdefault(event.asset.key, []).append(event)
            self._assets.setdefault(event.asset.key, event.asset)

    @staticmethod
    def _key(item: Any) -> AssetKey:
        if isinstance(item, Asset):
            return item.key
        if isinstance(item, AssetKey):
            return item
        if isinstance(item, str):
            return _key_of(item)
        raise KeyError(item)

    def __getitem__(self, item: Any) -> Sequence[AssetEvent]:
        return self._by_key[self._key(item)]

    def __iter__(self) -> Iterator[Asset]:
        return iter(self._assets.values())

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, item: object) -> bool:
        try:
            return self._key(item) in self._by_key
        except KeyError:
            return False


@dataclass
class OutletEvent:
    """``context["outlet_events"][asset]``: what the task adds to the event it records."""

    asset: Asset
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class OutletAliasEvent:
    """``context["outlet_events"][AssetAlias("x")]``: the events the task adds through ``x``."""

    alias: AssetAlias
    added: list[tuple[Asset, dict[str, Any]]] = field(default_factory=list)

    def add(self, asset: Asset, extra: Mapping[str, Any] | None = None) -> None:
        """Record an event of ``asset`` (with ``extra``) through this alias when the task ends."""
        if not isinstance(asset, Asset):
            raise DefinitionError(
                f"{self.alias!r}: add(...) takes an Asset(...), got {asset!r}; e.g. "
                "outlet_events[AssetAlias('x')].add(Asset('s3://bucket/orders'))"
            )
        self.added.append((asset, {**asset.extra, **dict(extra or {})}))


class OutletEvents(Mapping[Any, Any]):
    """``context["outlet_events"]``: one ``OutletEvent`` per outlet asset of the task, and
    one ``OutletAliasEvent`` per outlet alias."""

    def __init__(self, outlets: Sequence[Asset | AssetAlias]) -> None:
        self._events: dict[Asset | AssetAlias, OutletEvent | OutletAliasEvent] = {
            item: OutletAliasEvent(item) if isinstance(item, AssetAlias)
            else OutletEvent(item, dict(item.extra))
            for item in outlets
        }  # fmt: skip

    def __getitem__(self, asset: Any) -> Any:
        try:
            return self._events[asset]
        except KeyError:
            names = ", ".join(a.name for a in self._events) or "none"
            raise KeyError(
                f"{asset!r} is not an outlet of this task (its outlets: {names}); add it to "
                "outlets=[...]"
            ) from None

    def __iter__(self) -> Iterator[Any]:
        return iter(self._events)

    def __len__(self) -> int:
        return len(self._events)

    def materializations(self) -> Iterator[tuple[AssetKey, dict[str, Any]]]:
        """The events the task records when it ends: (asset key, metadata) each."""
        for event in self._events.values():
            if isinstance(event, OutletEvent):
                yield event.asset.key, dict(event.extra)
                continue
            for asset, extra in event.added:
                through = {"aliases": [event.alias.name], "asset": asset.name, "uri": asset.uri}
                yield asset.key, {**extra, ALIAS_METADATA_KEY: through}


def outlet_assets(where: str, outlets: Any) -> tuple[Asset | AssetAlias, ...]:
    """A task's ``outlets=`` checked: ``Asset`` or ``AssetAlias`` values (one or a list)."""
    if outlets is None:
        return ()
    items = [outlets] if isinstance(outlets, Asset | AssetAlias) else list(outlets)
    for item in items:
        if not isinstance(item, Asset | AssetAlias):
            raise DefinitionError(
                f"{where}: outlets must be Asset(...) or AssetAlias(...) values, got {item!r}; "
                "e.g. outlets=[Asset('s3://bucket/orders')]"
            )
    return tuple(dict.fromkeys(items))


__all__ = [
    "ALIAS_METADATA_KEY",
    "TRIGGERING_EVENTS_KEY",
    "Asset",
    "AssetAlias",
    "AssetAll",
    "AssetAny",
    "AssetCondition",
    "AssetEvent",
    "AssetTriggeredTimetable",
    "OutletAliasEvent",
    "OutletEvent",
    "OutletEvents",
    "TriggeringAssetEvents",
    "alias_key",
    "as_asset_condition",
    "condition_from_data",
    "outlet_assets",
]
