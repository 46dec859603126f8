"""The asset catalog (search, groups, pages, lineage graph) and one asset's page
(staleness, lineage, metadata plotted over time, partition strip, materialization history).

The design decision: the pages read what the API reads (``server.asset_views``)
and draw with ``ui.charts``; the catalog's graph shows the assets of the page
with their direct neighbours, so it stays readable with thousands of assets.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from partita.definitions.asset_key import AssetKey
from partita.server.api.assets import filter_rows
from partita.server.asset_views import (
    SERIES_POINTS,
    AssetRow,
    catalog_rows,
    children_of,
    metadata_series,
    partition_summary,
    walk,
)
from partita.server.code import ServerCode, server_code
from partita.server.state import ServerState, server_state
from partita.server.ui.charts import asset_href, line_chart, lineage, partition_strip
from partita.server.ui.render import PageRefused, render, signed_in

router = APIRouter()
PAGE_SIZE = 25
#: Materializations per page of an asset's history.
HISTORY_PAGE = 20
#: The most assets a lineage graph draws.
GRAPH_LIMIT = 150


def asset_state(row: AssetRow) -> str:
    """How the graph colours an asset: fresh, stale or missing (never materialized)."""
    if row.latest is None:
        return "missing"
    return "stale" if row.stale_reasons else "fresh"


def graph_of(rows: dict[AssetKey, AssetRow], shown: set[AssetKey], focus: str | None) -> str:
    """The lineage picture of ``shown`` (at most ``GRAPH_LIMIT`` assets)."""
    chosen = sorted(shown & rows.keys(), key=lambda k: k.path)[:GRAPH_LIMIT]
    names = {k: rows[k].name for k in chosen}
    parents = {names[k]: [names[p] for p in rows[k].parents if p in names] for k in chosen}
    return lineage(parents, {names[k]: asset_state(rows[k]) for k in chosen}, focus)


@router.get("/assets", response_class=HTMLResponse)
def catalog_page(
    request: Request,
    q: str = Query("", max_length=250),
    group: str = Query("", max_length=250),
    page: int = Query(1, ge=1, le=1_000_000),
    state: ServerState = Depends(server_state),
    code: ServerCode = Depends(server_code),
    rows: dict[AssetKey, AssetRow] = Depends(catalog_rows),
) -> HTMLResponse:
    """The asset catalog: search, group filter, pages, and a lineage graph of the page."""
    viewer = signed_in(request, state)
    matching = filter_rows(rows, q, group)
    chosen = matching[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    shown = {r.key for r in chosen}
    children = children_of(rows)
    for row in chosen:
        shown.update(row.parents)
        shown.update(children.get(row.key, []))

    def page_url(number: int) -> str:
        return "/assets?" + urlencode({"q": q, "group": group, "page": number})

    return render(
        request,
        "assets.html",
        viewer,
        assets=chosen,
        total=len(matching),
        q=q,
        group=group,
        groups=sorted({r.group for r in rows.values() if r.group}),
        page=page,
        pages=max(1, -(-len(matching) // PAGE_SIZE)),
        page_url=page_url,
        graph=graph_of(rows, shown, None),
        asset_href=asset_href,
        code_errors=code.errors,
    )


@router.get("/assets/{asset_key:path}", response_class=HTMLResponse)
def asset_page(
    asset_key: str,
    request: Request,
    page: int = Query(1, ge=1, le=1_000_000),
    state: ServerState = Depends(server_state),
    code: ServerCode = Depends(server_code),
    rows: dict[AssetKey, AssetRow] = Depends(catalog_rows),
) -> HTMLResponse:
    """One asset: staleness, lineage, metadata charts, partitions, materialization history."""
    viewer = signed_in(request, state)
    row = rows.get(AssetKey.from_user_string(asset_key))
    if row is None:
        raise PageRefused(
            404, f"no asset {asset_key!r} in the catalog or the loaded code; /assets lists them"
        )
    storage = state.storage
    history = storage.assets.list_materializations(
        row.key, limit=HISTORY_PAGE + 1, offset=(page - 1) * HISTORY_PAGE
    )
    series = metadata_series(storage.assets.list_materializations(row.key, limit=SERIES_POINTS))
    near = walk({k: r.parents for k, r in rows.items()}, row.key)
    near |= walk(children_of(rows), row.key)
    partitions = partition_summary(storage, code, row.key)
    strip = None
    if partitions is not None:
        summary, keys, from_definition = partitions
        statuses = storage.assets.partition_statuses(row.key)
        strip = {
            "svg": partition_strip(keys, {k: str(s.status) for k, s in statuses.items()}),
            "summary": summary,
            "from_definition": from_definition,
            "first": keys[0] if keys else "",
            "last": keys[-1] if keys else "",
        }
    return render(
        request,
        "asset.html",
        viewer,
        asset=row,
        state=asset_state(row),
        downstream=sorted(children_of(rows).get(row.key, []), key=lambda k: k.path),
        graph=graph_of(rows, near | {row.key}, row.name),
        charts={name: line_chart(name, points) for name, points in series.items()},
        strip=strip,
        history=history[:HISTORY_PAGE],
        page=page,
        more=len(history) > HISTORY_PAGE,
        asset_href=asset_href,
    )


__all__ = ["asset_state", "router"]
