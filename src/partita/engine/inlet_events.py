"""``context["inlet_events"]``: the asset events of a task's inlets, read from the catalog.

Airflow 3's accessor: ``inlet_events[asset]`` (an ``Asset`` or ``AssetAlias``
among the task's ``inlets``, or an inlet's position) is the list of that
asset's events, oldest first (``[-1]`` is the newest), each an ``AssetEvent``
with ``extra``, ``timestamp`` and where it came from; an alias gives the events
added through it. ``for_asset(name=..., uri=...)`` and ``for_asset_alias(name=...)``
find an inlet by name or URI. Asking for something that is not an inlet
raises ``KeyError`` naming the inlets.

Design decision: nothing is read until a task asks (the catalog is paged
through then, once per asset per task instance), so a task with inlets that
never reads them costs nothing; a task without inlets gets the run's empty
accessor (built once per run: the in-process hot path does no work for it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from partita.definitions.asset_events import (
    ALIAS_METADATA_KEY,
    Asset,
    AssetAlias,
    AssetEvent,
)
from partita.exceptions import RunNotFoundError
from partita.storage.records import AssetMaterializationRecord

if TYPE_CHECKING:
    from partita.storage.base import Storage

_PAGE = 1000


class InletEvents(Mapping[Any, Sequence[AssetEvent]]):
    """The asset events of a task's inlets (see the module doc)."""

    def __init__(self, inlets: Sequence[Asset | AssetAlias], storage: Storage | None) -> None:
        self._inlets = list(inlets)
        self._storage = storage
        self._read: dict[Asset | AssetAlias, list[AssetEvent]] = {}

    def __getitem__(self, key: Any) -> list[AssetEvent]:
        item = self._inlets[key] if isinstance(key, int) else key
        if item not in self._inlets:
            names = ", ".join(repr(i) for i in self._inlets) or "none"
            raise KeyError(
                f"{item!r} is not an inlet of this task (its inlets: {names}); add it to "
                "inlets=[...]"
            )
        if item not in self._read:
            self._read[item] = self._events_of(item)
        return self._read[item]

    def for_inlets(self, inlets: Sequence[Asset | AssetAlias]) -> InletEvents:
        """The accessor of a task with these inlets (same catalog)."""
        return InletEvents(inlets, self._storage)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._inlets)

    def __len__(self) -> int:
        return len(self._inlets)

    def for_asset(self, *, name: str | None = None, uri: str | None = None) -> list[AssetEvent]:
        """The events of the inlet asset with this name (or URI)."""
        for item in self._inlets:
            if isinstance(item, Asset) and (
                (name is not None and item.name == name) or (uri is not None and item.uri == uri)
            ):
                return self[item]
        raise KeyError(f"no inlet asset with name={name!r} uri={uri!r}")

    def for_asset_alias(self, *, name: str) -> list[AssetEvent]:
        """The events added through the inlet alias ``name``."""
        return self[AssetAlias(name)]

    def _events_of(self, item: Asset | AssetAlias) -> list[AssetEvent]:
        if self._storage is None:
            return []
        catalog = self._storage.assets
        key = item.key if isinstance(item, Asset) else None
        records: list[AssetMaterializationRecord] = []
        offset = 0
        while True:
            page = catalog.list_materializations(key, limit=_PAGE, offset=offset)
            if isinstance(item, AssetAlias):
                page_kept = [r for r in page if item.name in record_aliases(r)]
            else:
                page_kept = page
            records.extend(page_kept)
            if len(page) < _PAGE:
                break
            offset += _PAGE
        return [self._event(r, item) for r in reversed(records)]  # oldest first

    def _event(self, record: AssetMaterializationRecord, item: Asset | AssetAlias) -> AssetEvent:
        asset = item if isinstance(item, Asset) else None
        aliases = record_aliases(record)
        return asset_event(record, asset, aliases, self._dag_of(record.run_id))

    def _dag_of(self, run_id: str) -> str | None:
        assert self._storage is not None
        try:
            return self._storage.runs.get_run(run_id).dag_id
        except RunNotFoundError:
            return None


def record_aliases(record: AssetMaterializationRecord) -> set[str]:
    """The aliases an event was added through (none for most events)."""
    added = record.metadata.get(ALIAS_METADATA_KEY)
    if not isinstance(added, dict):
        return set()
    return {str(name) for name in added.get("aliases", [])}


def asset_event(
    record: AssetMaterializationRecord,
    asset: Asset | None,
    aliases: set[str],
    dag_id: str | None,
) -> AssetEvent:
    """A catalog entry as a consumer sees it; ``asset`` None: the asset an alias event names."""
    extra = dict(record.metadata)
    added = extra.pop(ALIAS_METADATA_KEY, None)
    if asset is None:
        asset = Asset(added["asset"], added.get("uri")) if added else Asset(str(record.asset_key))
    return AssetEvent(
        asset=asset,
        timestamp=record.timestamp,
        extra=extra,
        source_dag_id=dag_id,
        source_run_id=record.run_id,
        source_task_id=record.task_id,
        source_map_index=record.map_index,
        id=record.id,
        source_aliases=tuple(sorted(aliases)),
    )


__all__ = ["InletEvents", "asset_event", "record_aliases"]
