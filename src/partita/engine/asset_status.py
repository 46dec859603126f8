"""Is an asset up to date? Its last materialization, and why it is stale if it is.

An asset is stale when it was never materialized, when its ``code_version``
differs from the one its last materialization recorded, when the data
version of one of its upstream assets changed since it was materialized, or
when an upstream asset, however far up, is stale itself.

Each asset's checks are listed with their newest evaluation (passed, failed
or not run).

The design decision: staleness is computed from the catalog's newest record
of each key and the asset graph, in one catalog query. Each materialization
records the upstream data versions it consumed (``asset_lineage.py``); an
upstream re-materialized with the same data changes nothing. Where no data
version is known (an unpicklable value, an old record), "materialized after"
decides, comparing the catalog's record ids, which every store assigns in
write order, so clocks of different machines never decide it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from partita.definitions.asset_graph import AssetGraph
from partita.definitions.asset_key import AssetKey
from partita.engine.asset_lineage import UPSTREAM_VERSIONS_KEY
from partita.storage.base import AssetCatalog
from partita.storage.records import AssetCheckEvaluationRecord, AssetMaterializationRecord


@dataclass(frozen=True)
class CheckStatus:
    """One asset check and its newest evaluation (None: it never ran).

    A check runs in the run that materializes its asset, so an evaluation of
    another run than the asset's last materialization is of an earlier one:
    the check has ``not run`` on the current data.
    """

    name: str
    blocking: bool
    latest: AssetCheckEvaluationRecord | None
    #: The run of the asset's last materialization (None: never materialized).
    materialized_in: str | None = None

    @property
    def current(self) -> bool:
        """True when the newest evaluation is of the asset's last materialization."""
        return self.latest is not None and self.latest.run_id == self.materialized_in

    @property
    def state(self) -> str:
        """``passed``, ``failed`` or ``not run`` (on the asset's last materialization)."""
        if self.latest is None or not self.current:
            return "not run"
        return "passed" if self.latest.passed else "failed"


@dataclass
class AssetStatus:
    """One asset's last materialization, staleness and checks."""

    key: AssetKey
    group: str
    code_version: str | None
    latest: AssetMaterializationRecord | None
    stale_reasons: list[str] = field(default_factory=list)
    checks: list[CheckStatus] = field(default_factory=list)

    @property
    def stale(self) -> bool:
        return bool(self.stale_reasons)


def _newer(a: AssetMaterializationRecord, b: AssetMaterializationRecord) -> bool:
    if a.id is not None and b.id is not None:
        return a.id > b.id
    return a.timestamp > b.timestamp


def upstream_reason(
    parent: AssetKey,
    upstream: AssetMaterializationRecord,
    record: AssetMaterializationRecord,
) -> str | None:
    """Why ``record`` is out of date with respect to ``upstream`` (None when it is not)."""
    name = parent.to_user_string()
    consumed = record.metadata.get(UPSTREAM_VERSIONS_KEY)
    if isinstance(consumed, dict) and name in consumed and upstream.data_version is not None:
        before = consumed[name]
        if before == upstream.data_version:
            return None
        now = upstream.data_version
        return f"upstream {name} changed (data version {before or 'none'} -> {now})"
    if _newer(upstream, record):
        return f"upstream {name} was materialized after it"
    return None


def _check_statuses(
    graph: AssetGraph,
    catalog: AssetCatalog,
    latest: dict[AssetKey, AssetMaterializationRecord],
) -> dict[AssetKey, list[CheckStatus]]:
    """The checks of each asset with their newest evaluations, in one catalog query."""
    specs = {key: graph.check_specs_of(key) for key in graph.defined_keys}
    specs = {key: found for key, found in specs.items() if found}
    if not specs:
        return {}
    evaluations = catalog.latest_check_evaluations(list(specs))
    statuses: dict[AssetKey, list[CheckStatus]] = {}
    for key, found in specs.items():
        run_id = latest[key].run_id if key in latest else None
        statuses[key] = [
            CheckStatus(s.name, s.blocking, evaluations.get((key, s.name)), run_id) for s in found
        ]
    return statuses


def asset_statuses(graph: AssetGraph, catalog: AssetCatalog) -> list[AssetStatus]:
    """The status of every asset the graph defines, upstream before downstream."""
    latest = catalog.latest_materializations(graph.keys)
    checks = _check_statuses(graph, catalog, latest)
    statuses: list[AssetStatus] = []
    stale: set[AssetKey] = set()
    for key in graph.defined_keys:
        spec = graph.definition(key).spec(key)
        record = latest.get(key)
        status = AssetStatus(key, spec.group_name, spec.code_version, record)
        status.checks = checks.get(key, [])
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
                reason = None if upstream is None else upstream_reason(parent, upstream, record)
                if reason is not None:
                    status.stale_reasons.append(reason)
                elif parent in stale:
                    status.stale_reasons.append(f"upstream {parent.to_user_string()} is stale")
        if status.stale:
            stale.add(key)
        statuses.append(status)
    return statuses


__all__ = ["AssetStatus", "CheckStatus", "asset_statuses", "upstream_reason"]
