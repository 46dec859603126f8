"""The asset, sensor/schedule and backfill pages through the app (TestClient) on SQLite and
PostgreSQL: the catalog with its lineage graph, an asset with metadata charts and its
partition strip, a sensor with its ticks and start/stop, backfills with progress and cancel;
roles and CSRF checked by the pages themselves."""

from __future__ import annotations

import re

from asset_world import FAILED_DAY
from server_helpers import ApiWorld
from test_ui_pages import log_in

from partita.storage.backfills import BackfillStatus
from partita.storage.instigators import InstigatorKind, InstigatorStatus


def test_the_catalog_lists_searches_and_draws_the_lineage(
    assets_world: tuple[ApiWorld, str],
) -> None:
    client = assets_world[0].client(None)
    log_in(client, "viewer")
    page = client.get("/assets")
    assert page.status_code == 200
    assert re.findall(r'class="asset-key" href="/assets/([^"]+)"', page.text) == [
        "daily_events", "orders", "raw_orders"
    ]  # fmt: skip
    assert 'href="/assets"' in page.text and 'class="here"' in page.text  # the nav bar
    graph = page.text[page.text.index('id="lineage"') :]
    assert 'data-asset="orders"' in graph and 'class="as-stale"' in graph
    assert graph.count('class="edge"') == 1  # raw_orders -> orders
    searched = client.get("/assets?q=raw")
    assert re.findall(r'class="asset-key" href="/assets/([^"]+)"', searched.text) == ["raw_orders"]
    grouped = client.get("/assets?group=core")
    assert re.findall(r'class="asset-key" href="/assets/([^"]+)"', grouped.text) == ["orders"]
    assert "<script>" not in page.text
    assert 'href="/assets"' in client.get("/").text  # linked from the home page


def test_an_asset_page_plots_metadata_and_shows_staleness(
    assets_world: tuple[ApiWorld, str],
) -> None:
    client = assets_world[0].client(None)
    log_in(client, "viewer")
    raw = client.get("/assets/raw_orders").text
    chart = raw[raw.index('data-metadata="row_count"') :]
    assert chart.index("<polyline") < chart.index("</figure>")
    assert chart[: chart.index("</figure>")].count('<circle class="dot"') == 4
    assert ">135<" in chart  # the highest value labels the axis
    stale = client.get("/assets/orders").text
    assert "upstream raw_orders was materialized after it" in stale
    assert 'id="asset-state">stale<' in stale
    assert client.get("/assets/nope").status_code == 404


def test_an_asset_page_has_a_partition_strip(assets_world: tuple[ApiWorld, str]) -> None:
    client = assets_world[0].client(None)
    log_in(client, "viewer")
    page = client.get("/assets/daily_events").text
    strip = page[
        page.index('id="partitions"') : page.index("</svg>", page.index('id="partitions"'))
    ]
    assert strip.count("<rect") == 60  # one cell per day (fewer than STRIP_CELLS)
    assert 'class="ps-failed" x="' in strip and f'data-partition="{FAILED_DAY}"' in strip
    assert strip.count('class="ps-materialized"') == 9
    assert "2024-01-01...2024-01-04" in page  # the ranges table


def test_a_sensor_page_shows_ticks_and_stops_for_operators_only(
    assets_world: tuple[ApiWorld, str],
) -> None:
    world = assets_world[0]
    client = world.client(None)
    csrf = log_in(client, "viewer")
    listing = client.get("/sensors").text
    assert 'href="/sensors/new_files"' in listing and "daily_report" in listing
    page = client.get("/sensors/new_files").text
    assert page.count('class="tick-row"') == 25  # one page of the 30
    assert "OSError: the folder is gone" in page and "no new file" in page
    assert 'href="/runs/run-28"' in page
    assert 'id="stop"' not in page  # a viewer has no button...
    refused = client.post(
        "/sensors/new_files/status", data={"csrf_token": csrf, "status": "stopped"}
    )
    assert refused.status_code == 403  # ...and is refused when he posts the form himself
    failed_only = client.get("/sensors/new_files?status=failed").text
    assert re.findall(r'data-status="(\w+)"', failed_only) == ["failed"] * 10
    operator = world.client(None)
    csrf = log_in(operator, "operator")
    assert 'id="stop"' in operator.get("/sensors/new_files").text
    forged = operator.post(
        "/sensors/new_files/status", data={"csrf_token": "x", "status": "stopped"}
    )
    assert forged.status_code == 403
    done = operator.post(
        "/sensors/new_files/status", data={"csrf_token": csrf, "status": "stopped"}
    )
    assert done.status_code == 200 and 'id="start"' in done.text
    state = world.storage.instigators.get_state(InstigatorKind.SENSOR, "new_files")
    assert state is not None and state.status is InstigatorStatus.STOPPED
    assert 'href="/schedules/nightly"' in operator.get("/schedules").text


def test_backfill_pages_show_progress_and_cancel(assets_world: tuple[ApiWorld, str]) -> None:
    world, backfill_id = assets_world
    client = world.client(None)
    csrf = log_in(client, "operator")
    listing = client.get("/backfills").text
    assert f'href="/backfills/{backfill_id}"' in listing and "4/10" in listing
    page = client.get(f"/backfills/{backfill_id}").text
    assert "4/10 finished" in page and "4 to queue" in page
    bar = page[page.index('aria-label="progress"') : page.index("</svg>", page.index("progress"))]
    assert re.findall(r'class="st-(\w+)" x="[^"]+" y="0" width="([^"]+)"', bar) == [
        ("failed", "60.0"), ("success", "180.0"), ("queued", "120.0")
    ]  # fmt: skip
    assert page.count('<tr class="backfill-run">') == 6
    assert 'id="live-reload"' in page
    cancelled = client.post(f"/backfills/{backfill_id}/cancel", data={"csrf_token": csrf})
    assert cancelled.status_code == 200 and 'id="backfill-status">cancelled<' in cancelled.text
    assert world.storage.backfills.get(backfill_id).status is BackfillStatus.CANCELLED
    again = client.post(f"/backfills/{backfill_id}/cancel", data={"csrf_token": csrf})
    assert again.status_code == 409 and "already ended" in again.text
    assert client.get("/backfills/bf-nope").status_code == 404
