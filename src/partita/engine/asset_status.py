"""Is an asset up to date? Its last materialization, and why it is stale if it is.

An asset is stale when it was never materialized, when its ``code_version``
differs from the one its last materialization recorded, or when one of its
upstream assets was materialized after it (its data may be out of date).

The design decision: staleness is computed from the catalog's newest record
of each key and the asset graph, in one catalog query; "after" compares the
catalog's record ids, which every store assigns in write order, so clocks of
different machines never decide it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from partita.definitions.asset_graph import AssetGraph
from partita.definitions.asset_key import AssetKey
from partita.storage.base import AssetCatalog
from partita.storage.records import AssetMaterializationRecord


@dataclass
class AssetStatus:
    """One asset's last materialization and staleness."""

    key: AssetKey
    group: str
    code_version: str | None
    latest: AssetMaterializationRecord | None
    stale_reasons: list[str] = field(default_factory=list)

    @property
    def stale(self) -> bool:
        return bool(self.stale_reasons)


def _newer(a: AssetMaterializationRecord, b: AssetMaterializationRecord) -> bool:
    if a.id is not None and b.id is not None:
        return a.id > b.id
    return a.timestamp > b.timestamp


def asset_statuses(graph: AssetGraph, catalog: AssetCatalog) -> list[AssetStatus]:
    """The status of every asset the graph defines, upstream before downstream."""
    latest = catalog.latest_materializations(graph.keys)
    statuses: list[AssetStatus] = []
    for key in graph.defined_keys:
        spec = graph.definition(key).spec(key)
        record = latest.get(key)
        status = AssetStatus(key, spec.group_name, spec.code_version, record)
        if record is None:
            status.stale_reasons.append("never materialized")
        else:
            if spec.code_version != record.code_version:
                status.stale_reasons.append(
                    f"code version changed ({record.code_version or 'none'} -> "
                    f"{spec.code_version or 'none'})"
                )
            for parent in graph.parents.get(key, ()):
                upstream = latest.get(parent)
                if upstream is not None and _newer(upstream, record):
                    status.stale_reasons.append(
                        f"upstream {parent.to_user_string()} was materialized after it"
                    )
        statuses.append(status)
    return statuses


__all__ = ["AssetStatus", "asset_statuses"]
