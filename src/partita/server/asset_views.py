"""What the asset API and pages show, computed once for both: catalog rows (group,
staleness), the lineage graph, metadata series and the partition summary.

The lineage comes from what runs recorded: each materialization stores the
data versions of the upstream assets it consumed (``engine.asset_lineage``),
so the newest materialization of every key gives the asset graph in one
catalog query, with no code. When the code locations are loaded
(``server.code``) the definitions add groups, code versions, never-materialized
assets, their edges and the partitions definitions, and staleness is the one
``partita assets list`` computes.

The design decision: without code, staleness is what the catalog alone can
tell (an upstream changed or was materialized after); a changed code version
needs the code and is then reported too.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Depends, Request

from partita.definitions.asset_key import AssetKey
from partita.engine.asset_lineage import UPSTREAM_VERSIONS_KEY
from partita.engine.asset_status import asset_statuses, upstream_reason
from partita.engine.partition_status import PartitionSummary, summarize_partitions
from partita.server.code import ServerCode, server_code
from partita.server.state import ServerState, server_state
from partita.storage.base import Storage
from partita.storage.records import AssetMaterializationRecord

#: The group of an asset whose definition is not loaded.
UNKNOWN_GROUP = ""
#: Materializations read to plot an asset's metadata over time.
SERIES_POINTS = 200


@dataclass
class AssetRow:
    """One asset of the catalog: key, group, newest materialization, staleness, parents."""

    key: AssetKey
    group: str
    latest: AssetMaterializationRecord | None
    parents: list[AssetKey] = field(default_factory=list)
    stale_reasons: list[str] = field(default_factory=list)
    code_version: str | None = None
    description: str | None = None
    partitioned: bool = False
    defined: bool = False

    @property
    def name(self) -> str:
        return self.key.to_user_string()


def recorded_parents(record: AssetMaterializationRecord) -> list[AssetKey]:
    """The upstream assets a materialization consumed, as it recorded them."""
    consumed = record.metadata.get(UPSTREAM_VERSIONS_KEY)
    if not isinstance(consumed, dict):
        return []
    return [AssetKey.from_user_string(str(name)) for name in sorted(consumed)]


def _upstream_first(rows: dict[AssetKey, AssetRow]) -> list[AssetKey]:
    """The keys of ``rows``, each after its parents (an iterative depth-first walk; an edge
    that would close a cycle is ignored)."""
    order: list[AssetKey] = []
    state: dict[AssetKey, int] = {}  # 1: being walked, 2: done
    for root in rows:
        if root in state:
            continue
        stack = [(root, iter(rows[root].parents))]
        state[root] = 1
        while stack:
            key, parents = stack[-1]
            for parent in parents:
                if parent in rows and parent not in state:
                    state[parent] = 1
                    stack.append((parent, iter(rows[parent].parents)))
                    break
            else:
                stack.pop()
                state[key] = 2
                order.append(key)
    return order


def _catalog_staleness(rows: dict[AssetKey, AssetRow]) -> None:
    """Staleness from the catalog alone, each asset after its upstream assets."""
    for key in _upstream_first(rows):
        row = rows[key]
        if row.latest is None:
            if not row.stale_reasons:
                row.stale_reasons.append("never materialized")
            continue
        for parent in row.parents:
            upstream = rows.get(parent)
            if upstream is None or upstream.latest is None:
                continue
            reason = upstream_reason(parent, upstream.latest, row.latest)
            if reason is not None:
                row.stale_reasons.append(reason)
            elif upstream.stale_reasons:
                row.stale_reasons.append(f"upstream {parent.to_user_string()} is stale")


def asset_rows(storage: Storage, code: ServerCode) -> dict[AssetKey, AssetRow]:
    """Every asset (materialized or defined), sorted by key, with staleness and parents."""
    latest = storage.assets.latest_materializations()
    rows = {
        key: AssetRow(key, UNKNOWN_GROUP, record, recorded_parents(record))
        for key, record in latest.items()
    }
    graph = code.asset_graph
    if graph is not None:
        for status in asset_statuses(graph, storage.assets):
            spec = graph.spec(status.key)
            definition = graph.definition(status.key)
            row = rows.get(status.key) or AssetRow(status.key, status.group, status.latest)
            row.group = status.group
            row.parents = list(graph.parents.get(status.key, row.parents))
            row.stale_reasons = list(status.stale_reasons)
            row.code_version = status.code_version
            row.description = spec.description if spec is not None else None
            row.partitioned = getattr(definition, "partitions_def", None) is not None
            row.defined = True
            rows[status.key] = row
    undefined = {k: r for k, r in rows.items() if not r.defined}
    if undefined:
        _catalog_staleness(rows if graph is None else undefined)
    return dict(sorted(rows.items(), key=lambda item: item[0].path))


class CatalogCache:
    """The rows of one app's catalog, computed again only when a materialization was
    recorded since (the newest record's id, one indexed read) or the code changed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self._rows: dict[AssetKey, AssetRow] = {}

    def rows(self, storage: Storage, code: ServerCode) -> dict[AssetKey, AssetRow]:
        """The catalog as it is now (the same object while nothing changed: do not modify)."""
        newest = storage.assets.list_materializations(limit=1)
        newest_id = newest[0].id if newest else 0
        if newest_id is None:  # a store that numbers no record: nothing to compare
            return asset_rows(storage, code)
        key = (newest_id, id(code))
        with self._lock:
            if key != self._key:
                self._rows = asset_rows(storage, code)
                self._key = key
            return self._rows


def catalog_rows(
    request: Request,
    server: ServerState = Depends(server_state),
    code: ServerCode = Depends(server_code),
) -> dict[AssetKey, AssetRow]:
    """The catalog of the app answering ``request`` (a FastAPI dependency)."""
    cache: CatalogCache | None = getattr(request.app.state, "partita_catalog", None)
    if cache is None:
        cache = CatalogCache()
        request.app.state.partita_catalog = cache
    return cache.rows(server.storage, code)


def children_of(rows: dict[AssetKey, AssetRow]) -> dict[AssetKey, list[AssetKey]]:
    """Each asset's direct downstream assets."""
    children: dict[AssetKey, list[AssetKey]] = {key: [] for key in rows}
    for key, row in rows.items():
        for parent in row.parents:
            children.setdefault(parent, []).append(key)
    return children


def walk(edges: dict[AssetKey, list[AssetKey]], root: AssetKey) -> set[AssetKey]:
    """Every asset reached from ``root`` along ``edges`` (parents or children), not ``root``."""
    seen: set[AssetKey] = set()
    todo = [root]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen - {root}


def numeric(value: Any) -> float | None:
    """A metadata value as a number to plot (an int, float or typed int/float), else None."""
    if isinstance(value, dict) and set(value) == {"type", "value"}:
        value = value["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def metadata_series(
    records: Iterable[AssetMaterializationRecord],
) -> dict[str, list[tuple[datetime, float]]]:
    """Each numeric metadata entry over time (oldest first), from ``records`` (newest first)."""
    series: dict[str, list[tuple[datetime, float]]] = {}
    for record in reversed(list(records)):
        for name, value in record.metadata.items():
            number = numeric(value)
            if number is not None and name != UPSTREAM_VERSIONS_KEY:
                series.setdefault(name, []).append((record.timestamp, number))
    return dict(sorted(series.items()))


def partition_summary(
    storage: Storage, code: ServerCode, key: AssetKey
) -> tuple[PartitionSummary, list[str], bool] | None:
    """The summary of an asset's partitions, their keys in order, and whether the keys come
    from the definition (else: only those that ran). None when it has no partitions."""
    statuses = storage.assets.partition_statuses(key)
    graph = code.asset_graph
    definition = graph.by_key.get(key) if graph is not None else None
    partitions_def = getattr(definition, "partitions_def", None)
    if partitions_def is not None:
        keys = list(partitions_def.get_partition_keys(dynamic_partitions_store=storage.partitions))
        return summarize_partitions(keys, statuses), keys, True
    if not statuses:
        return None
    return summarize_partitions(None, statuses), sorted(statuses), False


__all__ = [
    "SERIES_POINTS",
    "UNKNOWN_GROUP",
    "AssetRow",
    "CatalogCache",
    "asset_rows",
    "catalog_rows",
    "children_of",
    "metadata_series",
    "numeric",
    "partition_summary",
    "recorded_parents",
    "walk",
]
