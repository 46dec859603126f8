"""``/api/v1/assets`` and ``/api/v1/lineage``: the asset catalog (search, group, pages), one
asset (staleness, metadata over time, what it reads and feeds), its materializations and
partitions, the lineage graph, and the keys of dynamic partitions.

The design decision: everything comes from what runs recorded (each
materialization names the upstream data versions it consumed, so the lineage
needs no code); when ``code_locations`` are configured the loaded definitions
add groups, code versions and partitions definitions (``server.asset_views``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from partita.definitions.asset_key import AssetKey
from partita.schemas import MaterializationModel
from partita.server.api.asset_models import (
    AssetDetailModel,
    AssetLineageDetailModel,
    AssetPageModel,
    AssetSummaryModel,
    DynamicPartitionsChange,
    DynamicPartitionsChangedModel,
    DynamicPartitionsModel,
    KeyRangeModel,
    LineageEdgeModel,
    LineageGraphModel,
    LineageNodeModel,
    MetadataPointModel,
    PartitionKeyModel,
    PartitionsModel,
)
from partita.server.api.params import PageParams, page_params
from partita.server.asset_views import (
    SERIES_POINTS,
    AssetRow,
    catalog_rows,
    children_of,
    metadata_series,
    partition_summary,
    walk,
)
from partita.server.auth.deps import require
from partita.server.code import ServerCode, server_code
from partita.server.problems import ApiProblem
from partita.server.state import ServerState, server_state
from partita.storage.auth import Role
from partita.storage.records import AssetPartitionStatus

#: The longest dynamic partitions name or key the API accepts.
MAX_KEY = 250
router = APIRouter(tags=["assets"], dependencies=[Depends(require(Role.VIEWER))])


def find_asset(rows: dict[AssetKey, AssetRow], text: str) -> AssetRow:
    """The row of the asset written ``text`` (``schema/table``), or 404."""
    row = rows.get(AssetKey.from_user_string(text))
    if row is None:
        raise ApiProblem(
            404,
            "Not found",
            f"asset {text!r} was never materialized and is not defined in the loaded code; "
            "GET /api/v1/assets lists the catalog",
        )
    return row


def summary_model(row: AssetRow) -> AssetSummaryModel:
    """The catalog's view of one asset."""
    latest = row.latest
    return AssetSummaryModel(
        asset_key=row.name,
        group=row.group,
        last_materialization=MaterializationModel.from_record(latest) if latest else None,
        stale=bool(row.stale_reasons),
        stale_reasons=row.stale_reasons,
        partitioned=row.partitioned,
        upstream=[p.to_user_string() for p in row.parents],
    )


def filter_rows(rows: dict[AssetKey, AssetRow], search: str, group: str) -> list[AssetRow]:
    """The assets whose key contains ``search`` (case-insensitive) and in ``group`` if given."""
    needle = search.lower()
    return [
        row
        for row in rows.values()
        if needle in row.name.lower() and (not group or row.group == group)
    ]


def lineage_graph(rows: dict[AssetKey, AssetRow], keys: set[AssetKey]) -> LineageGraphModel:
    """The nodes ``keys`` and the edges between them."""
    chosen = sorted(keys & rows.keys(), key=lambda k: k.path)
    return LineageGraphModel(
        nodes=[
            LineageNodeModel(
                asset_key=rows[k].name, group=rows[k].group, stale=bool(rows[k].stale_reasons),
                materialized=rows[k].latest is not None,
            )
            for k in chosen
        ],
        edges=[
            LineageEdgeModel(upstream=p.to_user_string(), downstream=rows[k].name)
            for k in chosen
            for p in rows[k].parents
            if p in keys and p in rows
        ],
    )  # fmt: skip


@router.get("/assets", response_model=AssetPageModel)
def catalog(
    search: str = Query("", max_length=250, description="Only keys containing this text."),
    group: str = Query("", max_length=250, description="Only assets of this group."),
    page: PageParams = Depends(page_params),
    server: ServerState = Depends(server_state),
    rows: dict[AssetKey, AssetRow] = Depends(catalog_rows),
) -> AssetPageModel:
    """The assets (materialized or defined), sorted by key, one page at a time."""
    chosen = filter_rows(rows, search, group)
    return AssetPageModel(
        assets=[summary_model(r) for r in chosen[page.offset : page.offset + page.limit]],
        groups=sorted({r.group for r in rows.values() if r.group}),
        total=len(chosen),
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/lineage", response_model=LineageGraphModel)
def whole_lineage(rows: dict[AssetKey, AssetRow] = Depends(catalog_rows)) -> LineageGraphModel:
    """Every asset and the edges between them."""
    return lineage_graph(rows, set(rows))


@router.get("/assets/{asset_key:path}/materializations", response_model=list[MaterializationModel])
def materializations(
    asset_key: str,
    page: PageParams = Depends(page_params),
    server: ServerState = Depends(server_state),
    rows: dict[AssetKey, AssetRow] = Depends(catalog_rows),
) -> list[MaterializationModel]:
    """One asset's materializations, newest first (``schema/table`` names a key)."""
    row = find_asset(rows, asset_key)
    records = server.storage.assets.list_materializations(
        row.key, limit=page.limit, offset=page.offset
    )
    return [MaterializationModel.from_record(r) for r in records]


@router.get("/assets/{asset_key:path}/lineage", response_model=AssetLineageDetailModel)
def lineage(
    asset_key: str,
    server: ServerState = Depends(server_state),
    rows: dict[AssetKey, AssetRow] = Depends(catalog_rows),
) -> AssetLineageDetailModel:
    """The assets upstream and downstream of one asset, and the graph of them."""
    row = find_asset(rows, asset_key)
    upstream = walk({k: r.parents for k, r in rows.items()}, row.key)
    downstream = walk(children_of(rows), row.key)
    graph = lineage_graph(rows, upstream | downstream | {row.key})
    return AssetLineageDetailModel(
        asset_key=row.name,
        upstream=sorted(k.to_user_string() for k in upstream),
        downstream=sorted(k.to_user_string() for k in downstream),
        nodes=graph.nodes,
        edges=graph.edges,
    )


@router.get("/assets/{asset_key:path}/partitions", response_model=PartitionsModel)
def partitions(
    asset_key: str,
    status: AssetPartitionStatus | None = Query(None, description="Only keys in this status."),
    page: PageParams = Depends(page_params),
    server: ServerState = Depends(server_state),
    code: ServerCode = Depends(server_code),
    rows: dict[AssetKey, AssetRow] = Depends(catalog_rows),
) -> PartitionsModel:
    """A partitioned asset's keys with their status: counts, ranges and one page of keys."""
    row = find_asset(rows, asset_key)
    found = partition_summary(server.storage, code, row.key)
    if found is None:
        raise ApiProblem(
            404,
            "Not found",
            f"asset {asset_key!r} has no partition that ran and no partitions definition in "
            "the loaded code (code_locations: in partita.yaml)",
        )
    summary, keys, from_definition = found
    statuses = server.storage.assets.partition_statuses(row.key)
    listed = [
        PartitionKeyModel(
            partition_key=k,
            status=statuses[k].status if k in statuses else AssetPartitionStatus.MISSING,
            run_id=statuses[k].run_id if k in statuses else None,
        )
        for k in keys
    ]
    if status is not None:
        listed = [p for p in listed if p.status is status]
    return PartitionsModel(
        asset_key=row.name,
        from_definition=from_definition,
        counts=summary.counts,
        ranges={
            s: [KeyRangeModel(first=r.first, last=r.last, count=r.count) for r in ranges]
            for s, ranges in summary.ranges.items()
        },
        partitions=listed[page.offset : page.offset + page.limit],
        total=len(listed),
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/assets/{asset_key:path}", response_model=AssetDetailModel)
def asset_detail(
    asset_key: str,
    server: ServerState = Depends(server_state),
    rows: dict[AssetKey, AssetRow] = Depends(catalog_rows),
) -> AssetDetailModel:
    """One asset: staleness, code version, what it reads and feeds, metadata over time."""
    row = find_asset(rows, asset_key)
    history = server.storage.assets.list_materializations(row.key, limit=SERIES_POINTS)
    series = {
        name: [MetadataPointModel(timestamp=t, value=v) for t, v in points]
        for name, points in metadata_series(history).items()
    }
    return AssetDetailModel(
        **summary_model(row).model_dump(),
        description=row.description,
        code_version=row.code_version,
        downstream=sorted(c.to_user_string() for c in children_of(rows).get(row.key, [])),
        metadata_series=series,
    )


def _dynamic(name: str, server: ServerState) -> list[str]:
    return server.storage.partitions.get_dynamic_partitions(name)


@router.get("/partitions", response_model=dict[str, int])
def dynamic_definitions(server: ServerState = Depends(server_state)) -> dict[str, int]:
    """Every dynamic partitions definition with keys, and how many keys it has."""
    return server.storage.partitions.partitions_def_names()


@router.get("/partitions/{name}", response_model=DynamicPartitionsModel)
def dynamic_keys(name: str, server: ServerState = Depends(server_state)) -> DynamicPartitionsModel:
    """The keys of one dynamic partitions definition, in the order added."""
    return DynamicPartitionsModel(name=name, partition_keys=_dynamic(name, server))


@router.post("/partitions/{name}", response_model=DynamicPartitionsChangedModel)
def add_dynamic(
    name: str,
    body: DynamicPartitionsChange,
    server: ServerState = Depends(server_state),
    _: object = Depends(require(Role.OPERATOR)),
) -> DynamicPartitionsChangedModel:
    """Add keys to a dynamic partitions definition (operator); keys already there are kept."""
    _check_keys([name, *body.partition_keys])
    added = server.storage.partitions.add_partitions(name, body.partition_keys)
    return DynamicPartitionsChangedModel(
        name=name, partition_keys=_dynamic(name, server), changed=added
    )


@router.post("/partitions/{name}/delete", response_model=DynamicPartitionsChangedModel)
def delete_dynamic(
    name: str,
    body: DynamicPartitionsChange,
    server: ServerState = Depends(server_state),
    _: object = Depends(require(Role.OPERATOR)),
) -> DynamicPartitionsChangedModel:
    """Delete keys of a dynamic partitions definition (operator); unknown keys are ignored."""
    _check_keys([name, *body.partition_keys])
    deleted = server.storage.partitions.delete_partitions(name, body.partition_keys)
    return DynamicPartitionsChangedModel(
        name=name, partition_keys=_dynamic(name, server), changed=deleted
    )


def _check_keys(names: list[str]) -> None:
    """Refuse a name or key that is empty, too long, padded, or holds a control character."""
    bad = [
        k
        for k in names
        if not k or len(k) > MAX_KEY or k != k.strip() or any(ord(c) < 32 for c in k)
    ]
    if bad:
        raise ApiProblem(
            422,
            "Invalid parameters",
            f"{bad[0]!r} is not a valid partitions name or key (1 to {MAX_KEY} characters, "
            "no control character, no leading or trailing space)",
        )


__all__ = ["filter_rows", "find_asset", "lineage_graph", "router", "summary_model"]
