"""The API on live and varied data: a running task's log followed while other requests are
answered, the asset catalog and lineage, import errors, cookies over HTTPS."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from server_helpers import PASSWORD, ApiWorld

from partita import asset, materialize
from partita.definitions.states import TaskState
from partita.storage.auth import Role
from partita.storage.dag_records import DagParse
from partita.storage.records import LogLineRecord, TaskInstanceRecord, WriteBatch

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _line(run_id: str, seq: int) -> LogLineRecord:
    return LogLineRecord(run_id, "extract", -1, 2, seq, NOW, "INFO", f"live {seq}")


def test_a_running_tasks_log_is_followed_live_without_blocking_the_server(
    sqlite_world: ApiWorld,
) -> None:
    storage, run_id = sqlite_world.storage, sqlite_world.etl_run
    running = TaskInstanceRecord(run_id, "extract", -1, 2, 2, TaskState.RUNNING)
    storage.write(WriteBatch(task_instances=[running], log_lines=[_line(run_id, 0)]))
    client = sqlite_world.client(Role.VIEWER)
    url = f"/api/v1/runs/{run_id}/tasks/extract/logs/stream"
    received: list[str] = []
    first_line = threading.Event()

    def follow() -> None:
        with client.stream("GET", url) as response:
            for text in response.iter_lines():
                received.append(text)
                if text.startswith("data:") and "live 0" in text:
                    first_line.set()

    follower = threading.Thread(target=follow)
    follower.start()
    assert first_line.wait(30)
    # The stream is open and waiting for lines: the server still answers at once.
    assert client.get("/api/v1/health").status_code == 200
    page = client.get(f"/api/v1/runs/{run_id}/tasks/extract/logs").json()
    assert page["finished"] is False and [ln["message"] for ln in page["lines"]] == ["live 0"]
    storage.write(WriteBatch(log_lines=[_line(run_id, 1), _line(run_id, 2)]))
    done = running.finished(TaskState.SUCCESS, NOW, NOW, 0.1, "host")
    storage.write(WriteBatch(task_instances=[done], log_lines=[_line(run_id, 3)]))
    follower.join(30)
    assert not follower.is_alive()
    data = [text for text in received if text.startswith("data:")]
    assert [f"live {i}" in d for i, d in enumerate(data[:4])] == [True] * 4
    assert data[-1] == 'data: {"state": "success"}'


def test_the_asset_catalog_lists_history_and_lineage(sqlite_world: ApiWorld) -> None:
    @asset
    def raw() -> int:
        return 1

    @asset
    def clean(raw: int) -> int:
        return raw + 1

    @asset
    def report(clean: int) -> str:
        return str(clean)

    for _ in range(2):
        materialize([raw, clean, report], storage=sqlite_world.storage)
    client = sqlite_world.client(Role.VIEWER)
    catalog = client.get("/api/v1/assets").json()
    assert catalog["total"] == 3
    assert [a["asset_key"] for a in catalog["assets"]] == ["clean", "raw", "report"]
    assert all(a["last_materialization"]["run_id"] for a in catalog["assets"])
    assert [a["upstream"] for a in catalog["assets"]] == [["raw"], [], ["clean"]]
    history = client.get("/api/v1/assets/clean/materializations").json()
    assert len(history) == 2 and history[0]["timestamp"] >= history[1]["timestamp"]
    lineage = client.get("/api/v1/assets/clean/lineage").json()
    assert (lineage["upstream"], lineage["downstream"]) == (["raw"], ["report"])
    edges = {(e["upstream"], e["downstream"]) for e in lineage["edges"]}
    assert edges == {("raw", "clean"), ("clean", "report")}


def test_import_errors_are_listed(sqlite_world: ApiWorld) -> None:
    sqlite_world.storage.registry.record_parse(
        DagParse("/elsewhere", [], {"/elsewhere/bad.py": "SyntaxError: oops"}, NOW)
    )
    errors = sqlite_world.client(Role.VIEWER).get("/api/v1/import-errors").json()
    assert [(e["fileloc"], e["error"]) for e in errors] == [
        ("/elsewhere/bad.py", "SyntaxError: oops")
    ]


def test_cookies_are_secure_over_https(sqlite_world: ApiWorld, tmp_path: Path) -> None:
    client = sqlite_world.client(None)
    response = client.post(
        "https://testserver/api/v1/auth/login",
        json={"username": "viewer", "password": PASSWORD},
    )
    session = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("partita_session=")
    )
    assert "Secure" in session and "HttpOnly" in session
