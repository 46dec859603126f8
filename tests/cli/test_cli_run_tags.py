"""Run tags from the command line and the REST API: ``partita trigger --tag``, the API's
trigger body, ``runs list --tag``, and ``runs show`` (text and ``--json``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from cli_helpers import Invoke
from fastapi.testclient import TestClient

from partita.server.app import create_app
from partita.server.config import ServerConfig
from partita.settings import load_settings
from partita.storage.base import Storage

DAG_FILE = """
from partita import DAG, EmptyOperator

with DAG("tagged", schedule=None) as dag:
    EmptyOperator(task_id="a")
"""


def test_trigger_tags_are_stored_listed_filtered_and_shown(
    invoke: Invoke, cli_storage: Callable[[], Storage], tmp_path: Path
) -> None:
    path = tmp_path / "tagged.py"
    path.write_text(DAG_FILE)
    first = invoke("trigger", str(path), "tagged", "--tag", "team=data", "--tag", "env=prod")
    assert first.exit_code == 0, first.output
    second = invoke("trigger", str(path), "tagged", "--tag", "team=web")
    assert second.exit_code == 0, second.output
    plain = invoke("trigger", str(path), "tagged")
    assert plain.exit_code == 0, plain.output

    runs = {r.run_id: r.tags for r in cli_storage().runs.list_runs("tagged")}
    assert sorted(runs.values(), key=len) == [{}, {"team": "web"}, {"team": "data", "env": "prod"}]

    listed = invoke("runs", "list", "--tag", "team=data", "--json")
    assert listed.exit_code == 0, listed.output
    [only] = json.loads(listed.stdout)
    assert only["tags"] == {"team": "data", "env": "prod"}
    both = json.loads(invoke("runs", "list", "--dag", "tagged", "--json").stdout)
    assert len(both) == 3 and all("tags" in run for run in both)
    assert json.loads(invoke("runs", "list", "--tag", "team=nobody", "--json").stdout) == []

    shown = invoke("runs", "show", only["run_id"], "--json")
    assert json.loads(shown.stdout)["tags"] == {"team": "data", "env": "prod"}
    text = invoke("runs", "show", only["run_id"])
    assert "env=prod, team=data" in text.stdout

    bad = invoke("trigger", str(path), "tagged", "--tag", "teamdata")
    assert bad.exit_code == 2
    assert "'teamdata' is not KEY=VALUE" in bad.stderr
    assert len(cli_storage().runs.list_runs("tagged")) == 3  # nothing queued


def test_the_rest_trigger_takes_tags_and_run_models_carry_them(
    invoke: Invoke, cli_storage: Callable[[], Storage], tmp_path: Path
) -> None:
    path = tmp_path / "tagged.py"
    path.write_text(DAG_FILE)
    assert invoke("dags", "list", str(path)).exit_code == 0  # the registry knows the DAG
    storage = cli_storage()
    config = ServerConfig(load_settings(), auth=False)
    with TestClient(create_app(storage, config)) as client:
        made = client.post("/api/v1/dags/tagged/runs", json={"tags": {"team": "api"}})
        assert made.status_code == 201, made.text
        assert made.json()["tags"] == {"team": "api"}
        run_id = made.json()["run_id"]
        assert client.get(f"/api/v1/runs/{run_id}").json()["tags"] == {"team": "api"}
        bad = client.post("/api/v1/dags/tagged/runs", json={"tags": {"team": 3}})
        assert bad.status_code == 422
    assert storage.runs.get_run(run_id).tags == {"team": "api"}
    assert len(storage.runs.list_runs("tagged")) == 1
