"""The asset, sensor/schedule, backfill and partition endpoints of the REST API on SQLite and
PostgreSQL: catalog pages and filters, detail with staleness and metadata series, lineage,
partition statuses, ticks, start/stop by role, backfill create (dry run, checks) and cancel."""

from __future__ import annotations

from asset_world import CODE, FAILED_DAY
from server_helpers import ApiWorld

from partita import materialize
from partita.loader import load_dags
from partita.storage.auth import Role
from partita.storage.instigators import InstigatorKind, InstigatorStatus


def test_the_catalog_has_groups_staleness_search_and_pages(
    assets_world: tuple[ApiWorld, str],
) -> None:
    client = assets_world[0].client(Role.VIEWER)
    body = client.get("/api/v1/assets").json()
    assert [a["asset_key"] for a in body["assets"]] == ["daily_events", "orders", "raw_orders"]
    assert body["groups"] == ["core", "ingest"]
    by_key = {a["asset_key"]: a for a in body["assets"]}
    assert by_key["orders"]["stale"] is True
    assert by_key["orders"]["stale_reasons"] == ["upstream raw_orders was materialized after it"]
    assert by_key["raw_orders"]["stale"] is False and by_key["daily_events"]["partitioned"]
    assert by_key["orders"]["upstream"] == ["raw_orders"]
    ingest = client.get("/api/v1/assets?group=ingest").json()
    assert [a["asset_key"] for a in ingest["assets"]] == ["daily_events", "raw_orders"]
    assert client.get("/api/v1/assets?search=ORD").json()["total"] == 2
    page = client.get("/api/v1/assets?limit=1&offset=1").json()
    assert (page["total"], [a["asset_key"] for a in page["assets"]]) == (3, ["orders"])


def test_an_asset_has_its_metadata_series_history_and_lineage(
    assets_world: tuple[ApiWorld, str],
) -> None:
    client = assets_world[0].client(Role.VIEWER)
    detail = client.get("/api/v1/assets/raw_orders").json()
    assert [p["value"] for p in detail["metadata_series"]["row_count"]] == [100, 120, 135, 100]
    assert "source" not in detail["metadata_series"]  # not a number
    assert (detail["group"], detail["downstream"]) == ("ingest", ["orders"])
    assert detail["description"] == "orders as the shop exports them"
    history = client.get("/api/v1/assets/raw_orders/materializations?limit=2&offset=1").json()
    assert [m["metadata"]["row_count"] for m in history] == [135, 120]
    lineage = client.get("/api/v1/assets/orders/lineage").json()
    assert (lineage["upstream"], lineage["downstream"]) == (["raw_orders"], [])
    assert lineage["edges"] == [{"upstream": "raw_orders", "downstream": "orders"}]
    whole = client.get("/api/v1/lineage").json()
    assert {n["asset_key"]: n["stale"] for n in whole["nodes"]} == {
        "daily_events": False, "orders": True, "raw_orders": False
    }  # fmt: skip
    missing = client.get("/api/v1/assets/nope/lineage")
    assert missing.status_code == 404 and "GET /api/v1/assets" in missing.json()["detail"]


def test_partitions_are_counted_in_ranges_and_paged(assets_world: tuple[ApiWorld, str]) -> None:
    client = assets_world[0].client(Role.VIEWER)
    body = client.get("/api/v1/assets/daily_events/partitions?limit=3").json()
    assert body["from_definition"] is True and body["total"] == 60
    assert body["counts"] == {"materialized": 9, "failed": 1, "missing": 50}
    assert body["ranges"]["failed"] == [{"first": FAILED_DAY, "last": FAILED_DAY, "count": 1}]
    assert body["ranges"]["materialized"][0] == {
        "first": "2024-01-01", "last": "2024-01-04", "count": 4
    }  # fmt: skip
    assert [p["partition_key"] for p in body["partitions"]] == [
        "2024-01-01", "2024-01-02", "2024-01-03"
    ]  # fmt: skip
    failed = client.get("/api/v1/assets/daily_events/partitions?status=failed").json()
    assert [p["partition_key"] for p in failed["partitions"]] == [FAILED_DAY]
    assert failed["partitions"][0]["run_id"]
    unpartitioned = client.get("/api/v1/assets/orders/partitions")
    assert unpartitioned.status_code == 404


def test_dynamic_partitions_are_added_and_deleted_by_operators(
    assets_world: tuple[ApiWorld, str],
) -> None:
    world = assets_world[0]
    body = {"partition_keys": ["a", "b"]}
    assert world.client(Role.VIEWER).post("/api/v1/partitions/files", json=body).status_code == 403
    operator = world.client(Role.OPERATOR)
    added = operator.post("/api/v1/partitions/files", json=body).json()
    assert (added["partition_keys"], added["changed"]) == (["a", "b"], ["a", "b"])
    again = operator.post("/api/v1/partitions/files", json={"partition_keys": ["b", "c"]}).json()
    assert (again["partition_keys"], again["changed"]) == (["a", "b", "c"], ["c"])
    deleted = operator.post("/api/v1/partitions/files/delete", json={"partition_keys": ["a"]})
    assert deleted.json()["partition_keys"] == ["b", "c"]
    assert operator.get("/api/v1/partitions").json() == {"files": 2}
    bad = operator.post("/api/v1/partitions/files", json={"partition_keys": [" x"]})
    assert bad.status_code == 422 and "leading or trailing space" in bad.json()["detail"]


def test_sensors_and_schedules_are_listed_with_state_and_ticks(
    assets_world: tuple[ApiWorld, str],
) -> None:
    client = assets_world[0].client(Role.VIEWER)
    sensors = client.get("/api/v1/sensors").json()
    [found] = sensors["instigators"]
    assert (found["name"], found["job"], found["interval"], found["loaded"]) == (
        "new_files", "daily_report", "30s", True
    )  # fmt: skip
    assert found["last_tick"]["status"] == "failed"
    schedules = client.get("/api/v1/schedules").json()["instigators"]
    assert [(s["name"], s["status"]) for s in schedules] == [("nightly", "stopped")]
    ticks = client.get("/api/v1/sensors/new_files/ticks?limit=5&offset=5").json()
    assert [t["timestamp"][11:16] for t in ticks["ticks"]] == [
        "00:24", "00:23", "00:22", "00:21", "00:20"
    ]  # fmt: skip
    assert ticks["has_more"] is True
    requested = client.get("/api/v1/sensors/new_files/ticks?status=requested&limit=100").json()
    assert len(requested["ticks"]) == 10 and not requested["has_more"]
    assert all(t["run_ids"] for t in requested["ticks"])
    assert client.get("/api/v1/sensors/nope").status_code == 404
    assert client.get("/api/v1/sensors/new_files/ticks?status=bogus").status_code == 422


def test_starting_and_stopping_needs_an_operator(assets_world: tuple[ApiWorld, str]) -> None:
    world = assets_world[0]
    refused = world.client(Role.VIEWER).post("/api/v1/sensors/new_files/stop")
    assert refused.status_code == 403
    operator = world.client(Role.OPERATOR)
    stopped = operator.post("/api/v1/sensors/new_files/stop").json()
    assert (stopped["status"], stopped["status_set_by_hand"]) == ("stopped", True)
    state = world.storage.instigators.get_state(InstigatorKind.SENSOR, "new_files")
    assert state is not None and state.status is InstigatorStatus.STOPPED
    assert operator.post("/api/v1/schedules/nightly/start").json()["status"] == "running"
    running = operator.get("/api/v1/schedules?status=running").json()["instigators"]
    assert [s["name"] for s in running] == ["nightly"]
    assert operator.post("/api/v1/schedules/nope/start").status_code == 404


def test_backfills_are_listed_with_progress_and_cancelled(
    assets_world: tuple[ApiWorld, str],
) -> None:
    world, backfill_id = assets_world
    client = world.client(Role.VIEWER)
    listed = client.get("/api/v1/backfills").json()
    assert [b["backfill_id"] for b in listed["backfills"]] == [backfill_id]
    progress = listed["backfills"][0]["progress"]
    assert (progress["pending"], progress["finished"], progress["active"]) == (4, 4, 2)
    assert progress["states"] == {"success": 3, "failed": 1, "queued": 2}
    detail = client.get(f"/api/v1/backfills/{backfill_id}?limit=4&offset=2").json()
    assert (detail["backfill"]["dag_id"], detail["runs_total"]) == ("daily_report", 6)
    assert [r["logical_date"][:10] for r in detail["runs"]] == [
        "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06"
    ]  # fmt: skip
    assert [r["state"] for r in detail["runs"]] == ["success", "success", "queued", "queued"]
    assert client.post(f"/api/v1/backfills/{backfill_id}/cancel").status_code == 403
    operator = world.client(Role.OPERATOR)
    cancelled = operator.post(f"/api/v1/backfills/{backfill_id}/cancel").json()
    assert cancelled["backfill"]["status"] == "cancelled"
    assert len(cancelled["cancelled_runs"]) == 2  # the queued ones
    again = operator.post(f"/api/v1/backfills/{backfill_id}/cancel")
    assert again.status_code == 409 and "already ended" in again.json()["detail"]
    assert client.get("/api/v1/backfills?status=running").json()["backfills"] == []
    assert client.get("/api/v1/backfills/bf-nope").status_code == 404


def test_a_backfill_is_created_after_the_clis_checks(assets_world: tuple[ApiWorld, str]) -> None:
    world = assets_world[0]
    operator = world.client(Role.OPERATOR)
    body = {"dag_id": "daily_report", "from_date": "2024-02-01", "to_date": "2024-02-03"}
    dry = operator.post("/api/v1/backfills", json={**body, "dry_run": True})
    assert dry.status_code == 201
    plan = dry.json()
    assert plan["dry_run"] and [p["logical_date"][:10] for p in plan["planned"]] == [
        "2024-02-01", "2024-02-02", "2024-02-03"
    ]  # fmt: skip
    assert len(world.storage.backfills.list_backfills()) == 1  # the world's own only
    made = operator.post("/api/v1/backfills", json={**body, "max_active_runs": 1}).json()
    assert (made["backfill"]["progress"]["total"], made["backfill"]["max_active_runs"]) == (3, 1)
    assert len(world.storage.backfills.list_backfills()) == 2
    swapped = operator.post(
        "/api/v1/backfills", json={**body, "from_date": "2024-03-01", "to_date": "2024-02-01"}
    )
    assert swapped.status_code == 422 and "swap them" in swapped.json()["detail"]
    empty = operator.post(
        "/api/v1/backfills",
        json={**body, "from_date": "2024-02-01T01:00", "to_date": "2024-02-01T02:00"},
    )
    assert empty.status_code == 400 and "nothing to backfill" in empty.json()["detail"]
    unknown = operator.post("/api/v1/backfills", json={**body, "dag_id": "nope"})
    assert unknown.status_code == 404
    viewer = world.client(Role.VIEWER).post("/api/v1/backfills", json=body)
    assert viewer.status_code == 403


def test_the_catalog_follows_new_materializations(assets_world: tuple[ApiWorld, str]) -> None:
    world = assets_world[0]
    client = world.client(Role.VIEWER)
    assert client.get("/api/v1/assets/orders").json()["stale"] is True
    [defs] = load_dags(str(CODE), import_timeout=60).definitions.values()
    orders = [a for a in defs.assets if a.key.to_user_string() == "orders"]  # type: ignore[attr-defined]
    materialize(orders, storage=world.storage)
    fresh = client.get("/api/v1/assets/orders").json()
    assert (fresh["stale"], fresh["stale_reasons"]) == (False, [])
    assert len(client.get("/api/v1/assets/orders/materializations").json()) == 4


def test_a_partitioned_dags_keys_have_their_newest_runs_state(
    assets_world: tuple[ApiWorld, str],
) -> None:
    client = assets_world[0].client(Role.VIEWER)
    body = client.get("/api/v1/dags/by_region/partitions").json()
    assert body["total"] == 3
    assert [(p["partition_key"], p["status"]) for p in body["partitions"]] == [
        ("eu", "success"), ("us", "failed"), ("asia", "missing")
    ]  # fmt: skip
    assert body["partitions"][0]["run_id"] and body["partitions"][2]["run_id"] is None
    page = client.get("/api/v1/dags/by_region/partitions?limit=1&offset=2").json()
    assert [p["partition_key"] for p in page["partitions"]] == ["asia"]
    assert client.get("/api/v1/dags/daily_report/partitions").status_code == 404
