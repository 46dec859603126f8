"""The REST API against the app (httpx through FastAPI's TestClient), on SQLite and PostgreSQL:
lists with filters and pages, details, trigger with conf checks, control, logs, outputs,
problem documents for every error."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from server_helpers import ApiWorld

from partita.definitions.states import RunState
from partita.storage.auth import Role
from partita.storage.dag_records import DagParse, ParsedDag


def test_the_dag_list_filters_and_pages(world: ApiWorld) -> None:
    client = world.client(Role.VIEWER)
    body = client.get("/api/v1/dags").json()
    assert (body["total"], [d["dag_id"] for d in body["dags"]]) == (2, ["broken", "etl"])
    assert [d["dag_id"] for d in client.get("/api/v1/dags?tag=team-a").json()["dags"]] == ["etl"]
    assert client.get("/api/v1/dags?dag_id_pattern=bro*").json()["total"] == 1
    page = client.get("/api/v1/dags?limit=1&offset=1").json()
    assert (page["total"], [d["dag_id"] for d in page["dags"]]) == (2, ["etl"])
    assert client.get("/api/v1/dags?paused=true").json()["total"] == 0


def test_a_dag_shows_its_tasks_params_and_source(world: ApiWorld) -> None:
    client = world.client(Role.VIEWER)
    dag = client.get("/api/v1/dags/etl").json()
    assert [t["task_id"] for t in dag["tasks"]] == ["extract", "load"]
    assert dag["tasks"][1]["upstream"] == ["extract"]
    assert dag["params"] == {
        "n": {"required": False, "default": 3, "description": None,
              "json_schema": {"type": "integer", "minimum": 1}}
    }  # fmt: skip
    source = client.get("/api/v1/dags/etl/source").json()
    assert 'DAG(\n    "etl"' in source["source"] and source["truncated"] is False


def test_pausing_is_for_operators_and_stops_triggers(world: ApiWorld) -> None:
    viewer = world.client(Role.VIEWER).patch("/api/v1/dags/etl", json={"is_paused": True})
    assert viewer.status_code == 403
    client = world.client(Role.OPERATOR)
    assert client.patch("/api/v1/dags/etl", json={"is_paused": True}).json()["is_paused"] is True
    refused = client.post("/api/v1/dags/etl/runs", json={})
    assert refused.status_code == 409
    assert "is paused: unpause it" in refused.json()["detail"]


def test_runs_are_listed_newest_first_with_filters_and_a_total(world: ApiWorld) -> None:
    client = world.client(Role.VIEWER)
    body = client.get("/api/v1/runs").json()
    assert body["total"] == 2
    assert [r["run_id"] for r in body["runs"]] == [world.broken_run, world.etl_run]
    failed = client.get("/api/v1/runs?state=failed").json()
    assert [r["run_id"] for r in failed["runs"]] == [world.broken_run]
    assert client.get("/api/v1/runs?dag_id=etl&limit=1&offset=0").json()["total"] == 1
    assert client.get("/api/v1/runs?limit=1&offset=1").json()["runs"][0]["run_id"] == world.etl_run


def test_a_run_has_its_task_instances_and_errors(world: ApiWorld) -> None:
    client = world.client(Role.VIEWER)
    run = client.get(f"/api/v1/runs/{world.broken_run}").json()
    assert run["state"] == "failed"
    states = {ti["task_id"]: (ti["state"], ti["error"]) for ti in run["task_instances"]}
    assert states["fail"][0] == "failed" and "the source is down" in states["fail"][1]
    assert states["after"][0] == "upstream_failed"
    tis = client.get(f"/api/v1/runs/{world.broken_run}/tasks").json()
    assert [ti["task_id"] for ti in tis] == ["after", "fail"]
    detail = client.get(f"/api/v1/runs/{world.broken_run}/tasks/fail").json()
    assert [(t["try_number"], t["state"]) for t in detail["tries"]] == [(1, "failed")]
    assert "the source is down" in detail["tries"][0]["error"]


def test_trigger_checks_the_conf_against_the_params_and_queues(world: ApiWorld) -> None:
    client = world.client(Role.OPERATOR)
    bad = client.post("/api/v1/dags/etl/runs", json={"conf": {"n": 0}})
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"
    assert "param 'n' has the invalid value 0" in bad.json()["detail"]
    assert world.storage.runs.count_runs("etl") == 1  # nothing queued
    made = client.post("/api/v1/dags/etl/runs", json={"conf": {"n": 5}})
    assert made.status_code == 201
    run = world.storage.runs.get_run(made.json()["run_id"])
    assert (run.state, run.conf, run.run_type) == (RunState.QUEUED, {"n": 5}, "manual")


def test_cancel_and_retry_do_what_the_cli_does(world: ApiWorld) -> None:
    client = world.client(Role.OPERATOR)
    done = client.post(f"/api/v1/runs/{world.etl_run}/cancel", json={"grace": 1})
    assert done.status_code == 409 and "already ended success" in done.json()["detail"]
    retried = client.post(f"/api/v1/runs/{world.broken_run}/retry").json()
    assert retried["run_state_after"] == "queued"
    assert sorted(ti["task_id"] for ti in retried["changed"]) == ["after", "fail"]
    queued = client.post("/api/v1/dags/etl/runs", json={}).json()["run_id"]
    cancelled = client.post(f"/api/v1/runs/{queued}/cancel").json()
    assert cancelled["run_state_after"] == "cancelled"


def test_clear_and_mark_change_task_instances(world: ApiWorld) -> None:
    client = world.client(Role.OPERATOR)
    marked = client.post(
        f"/api/v1/runs/{world.broken_run}/tasks/fail/mark", json={"state": "success"}
    ).json()
    assert marked["run_state_after"] == "queued"  # its failed downstream runs again
    bad = client.post(f"/api/v1/runs/{world.etl_run}/tasks/extract/mark", json={"state": "nope"})
    assert bad.status_code == 422 and "body.state" in bad.json()["detail"]
    cleared = client.post(
        f"/api/v1/runs/{world.etl_run}/tasks/extract/clear", json={"downstream": True}
    ).json()
    assert sorted(ti["task_id"] for ti in cleared["changed"]) == ["extract", "load"]


def test_logs_are_read_by_range_and_tail(world: ApiWorld) -> None:
    client = world.client(Role.VIEWER)
    base = f"/api/v1/runs/{world.etl_run}/tasks/extract/logs"
    page = client.get(f"{base}?offset=5&limit=3").json()
    assert [line["message"] for line in page["lines"]] == ["line 5", "line 6", "line 7"]
    assert (page["next_offset"], page["tries"], page["finished"]) == (8, [1], True)
    tail = client.get(f"{base}?tail=2").json()
    assert [line["message"] for line in tail["lines"]] == ["line 28", "line 29"]


def test_a_finished_log_streams_as_server_sent_events_then_ends(world: ApiWorld) -> None:
    client = world.client(Role.VIEWER)
    url = f"/api/v1/runs/{world.etl_run}/tasks/extract/logs/stream?offset=25"
    with client.stream("GET", url) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        text = response.read().decode()
    events = [block for block in text.split("\n\n") if block.startswith("id:") or "event:" in block]
    lines = [json.loads(b.split("data: ", 1)[1])["message"] for b in events if "event: line" in b]
    assert lines == [f"line {i}" for i in range(25, 30)]
    assert 'event: end\ndata: {"state": "success"}' in text


def test_outputs_are_previewed_within_limits(world: ApiWorld) -> None:
    client = world.client(Role.VIEWER)
    outputs = client.get(f"/api/v1/runs/{world.etl_run}/outputs").json()
    assert {(o["task_id"], o["key"]) for o in outputs} == {
        ("extract", "return_value"),
        ("load", "return_value"),
    }
    preview = client.get(f"/api/v1/runs/{world.etl_run}/tasks/load/outputs/return_value").json()
    assert (preview["type"], preview["preview"], preview["truncated"]) == ("int", "6", False)
    missing = client.get(f"/api/v1/runs/{world.etl_run}/tasks/load/outputs/nope")
    assert missing.status_code == 404 and "stored no output 'nope'" in missing.json()["detail"]


def test_unknown_ids_are_404_problems_naming_the_id(world: ApiWorld) -> None:
    client = world.client(Role.VIEWER)
    for url, words in [
        ("/api/v1/runs/nope", "no run with id 'nope'"),
        ("/api/v1/dags/nope", "no DAG 'nope'"),
        (f"/api/v1/runs/{world.etl_run}/tasks/nope", "has no task 'nope'"),
        ("/api/v1/assets/x/y/materializations", "asset 'x/y' was never materialized"),
        ("/api/v1/nothing-here", "no such URL"),
    ]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.headers["content-type"] == "application/problem+json"
        assert words in response.json()["detail"]


def test_bad_query_parameters_are_422_naming_the_field(world: ApiWorld) -> None:
    client = world.client(Role.VIEWER)
    response = client.get("/api/v1/runs?limit=0&state=sideways")
    assert response.status_code == 422
    problem = response.json()
    fields = {e["field"] for e in problem["errors"]}
    assert fields == {"query.limit", "query.state.0"}
    assert "query.limit" in problem["detail"]


def test_health_needs_no_login_and_reports_the_scheduler(world: ApiWorld) -> None:
    body = world.client(None).get("/api/v1/health").json()
    assert body == {
        "status": "ok",
        "database": "ok",
        "scheduler_alive": False,
        "scheduler_heartbeat_age": None,
    }


def test_pools_are_listed_by_viewers_and_set_by_admins(world: ApiWorld) -> None:
    assert world.client(Role.OPERATOR).put("/api/v1/pools/db", json={"slots": 2}).status_code == 403
    admin = world.client(Role.ADMIN)
    assert admin.put("/api/v1/pools/db", json={"slots": 2}).json()["slots"] == 2
    assert world.client(Role.VIEWER).get("/api/v1/pools").json() == [
        {"name": "db", "slots": 2, "description": None}
    ]
    assert world.client(Role.ADMIN).put("/api/v1/pools/db", json={"slots": -1}).status_code == 422


def test_trigger_takes_a_partition_key_checked_against_the_dags_partitions(
    world: ApiWorld, tmp_path: Path
) -> None:
    dag_file = tmp_path / "regions.py"
    dag_file.write_text(
        "from partita import DAG, EmptyOperator, StaticPartitionsDefinition\n"
        "with DAG('regions', schedule=None,\n"
        "         partitions_def=StaticPartitionsDefinition(['north', 'south'])):\n"
        "    EmptyOperator(task_id='go')\n"
    )
    world.storage.registry.record_parse(
        DagParse(str(dag_file), [ParsedDag("regions", str(dag_file))], {}, datetime.now(UTC))
    )
    client = world.client(Role.OPERATOR)
    bad = client.post("/api/v1/dags/regions/runs", json={"partition_key": "nort"})
    assert bad.status_code == 400
    assert "'nort'" in bad.json()["detail"] and "'north'" in bad.json()["detail"]
    missing = client.post("/api/v1/dags/regions/runs", json={})
    assert missing.status_code == 400 and "give the partition" in missing.json()["detail"]
    plain = client.post("/api/v1/dags/etl/runs", json={"partition_key": "north"})
    assert plain.status_code == 400 and "is not partitioned" in plain.json()["detail"]
    made = client.post("/api/v1/dags/regions/runs", json={"partition_key": "south"})
    assert made.status_code == 201 and made.json()["partition_key"] == "south"
    assert world.storage.runs.get_run(made.json()["run_id"]).partition_key == "south"
