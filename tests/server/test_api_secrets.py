"""``/api/v1/connections`` and ``/api/v1/variables`` (admin only, secrets never returned), and
the server's masking end to end: a secret stored as a connection or a variable never comes
out of the API, whether a task printed it, raised it, returned it or a template spelled it
out, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from server_helpers import ApiWorld

from partita.definitions.connection import Connection
from partita.loader import load_dags
from partita.storage.auth import Role
from partita.storage.dag_records import DagParse, ParsedDag
from partita.storage.secrets import VariableRecord


def test_connections_are_admin_only_and_never_show_their_secrets(world: ApiWorld) -> None:
    secret = f"Pw-{uuid.uuid4().hex[:10]}"
    for role in (Role.VIEWER, Role.OPERATOR):
        client = world.client(role)
        assert client.get("/api/v1/connections").status_code == 403
        refused = client.post("/api/v1/connections", json={"conn_id": "x", "conn_type": "http"})
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
    admin = world.client(Role.ADMIN)
    created = admin.post(
        "/api/v1/connections",
        json={"conn_id": "warehouse", "conn_type": "postgres", "host": "db.example.com",
              "login": "etl", "password": secret, "port": 5432, "schema": "dw",
              "extra": {"sslmode": "require", "api_key": f"key-{secret}"}},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.json()["password"] == "***"
    assert created.json()["extra"] == {"sslmode": "require", "api_key": "***"}
    again = admin.post("/api/v1/connections", json={"conn_id": "warehouse", "conn_type": "http"})
    assert again.status_code == 409 and "PUT" in again.json()["detail"]
    listed = admin.get("/api/v1/connections")
    one = admin.get("/api/v1/connections/warehouse")
    assert [c["conn_id"] for c in listed.json()] == ["warehouse"]
    assert one.json()["host"] == "db.example.com" and one.json()["schema"] == "dw"
    for answer in (created, listed, one):
        assert secret not in answer.text
    # Sending back what was shown (``***``) keeps the stored secrets.
    shown = {k: v for k, v in one.json().items() if k not in ("conn_id", "source")}
    changed = admin.put("/api/v1/connections/warehouse", json={**shown, "host": "db2.example.com"})
    assert changed.status_code == 200, changed.text
    stored = world.storage.connections.get_connection("warehouse")
    assert stored is not None and stored.host == "db2.example.com"
    assert stored.password == secret
    assert stored.extra_dejson == {"sslmode": "require", "api_key": f"key-{secret}"}
    admin.put("/api/v1/connections/warehouse", json={"conn_type": "postgres", "password": None})
    cleared = world.storage.connections.get_connection("warehouse")
    assert cleared is not None and cleared.password is None and cleared.host is None
    by_uri = admin.put("/api/v1/connections/api", json={"uri": f"http://u:{secret}@api.example"})
    assert by_uri.status_code == 200 and secret not in by_uri.text
    assert admin.delete("/api/v1/connections/api").status_code == 204
    assert admin.delete("/api/v1/connections/api").status_code == 404
    assert admin.get("/api/v1/connections/api").status_code == 404


def test_bad_connections_are_refused_naming_the_part_and_hiding_the_password(
    world: ApiWorld,
) -> None:
    admin = world.client(Role.ADMIN)
    bad_port = admin.put(
        "/api/v1/connections/c", json={"uri": "postgres://u:Hidden-Pw-9@h:99999/d"}
    )
    assert bad_port.status_code == 400
    assert bad_port.headers["content-type"] == "application/problem+json"
    assert "port" in bad_port.json()["detail"] and "Hidden-Pw-9" not in bad_port.text
    both = admin.put("/api/v1/connections/c", json={"uri": "http://h", "host": "h"})
    assert both.status_code == 400 and "either uri or the fields (host)" in both.json()["detail"]
    nothing = admin.put("/api/v1/connections/c", json={"host": "h"})
    assert nothing.status_code == 400 and "conn_type" in nothing.json()["detail"]
    bad_id = admin.post("/api/v1/connections", json={"conn_id": "a b", "conn_type": "http"})
    assert bad_id.status_code == 422 and "conn_id" in bad_id.json()["detail"]
    unknown = admin.put("/api/v1/connections/c", json={"conn_type": "http", "hots": "x"})
    assert unknown.status_code == 422 and "hots" in unknown.json()["detail"]
    masked_new = admin.post(
        "/api/v1/connections", json={"conn_id": "n", "conn_type": "http", "password": "***"}
    )
    assert masked_new.status_code == 400 and "is not a password" in masked_new.json()["detail"]


def test_a_connection_is_tested_from_the_server(world: ApiWorld) -> None:
    admin = world.client(Role.ADMIN)
    admin.put("/api/v1/connections/closed", json={"conn_type": "ftp", "host": "127.0.0.1",
                                                    "port": 1})  # fmt: skip
    answer = admin.post("/api/v1/connections/closed/test")
    assert answer.status_code == 200
    assert answer.json()["ok"] is False and answer.json()["message"]
    assert admin.post("/api/v1/connections/none/test").status_code == 404
    assert world.client(Role.OPERATOR).post("/api/v1/connections/closed/test").status_code == 403


def test_variables_are_admin_only_and_secret_ones_show_stars(world: ApiWorld) -> None:
    secret = f"tok-{uuid.uuid4().hex[:10]}"
    assert world.client(Role.OPERATOR).get("/api/v1/variables").status_code == 403
    admin = world.client(Role.ADMIN)
    assert admin.put("/api/v1/variables/api_token", json={"value": secret}).status_code == 200
    doc = {"bucket": "b1", "limit": 3}
    answer = admin.put("/api/v1/variables/settings", json={"value": doc, "description": "d"})
    assert answer.json() == {"key": "settings", "value": doc, "description": "d",
                             "source": "metadata"}  # fmt: skip
    stored = world.storage.variables.get_variable("settings")
    assert stored is not None and json.loads(stored.value) == doc
    admin.put("/api/v1/variables/note", json={"value": f"uses {secret} daily"})
    listed = admin.get("/api/v1/variables").json()
    assert {v["key"]: v["value"] for v in listed} == {
        "api_token": "***", "note": "uses *** daily", "settings": doc,
    }  # fmt: skip
    assert admin.get("/api/v1/variables/api_token").json()["value"] == "***"
    kept = admin.put("/api/v1/variables/api_token", json={"value": "***", "description": "x"})
    assert kept.status_code == 200
    token = world.storage.variables.get_variable("api_token")
    assert token is not None and token.value == secret and token.description == "x"
    assert admin.delete("/api/v1/variables/api_token").status_code == 204
    assert admin.get("/api/v1/variables/api_token").status_code == 404
    assert admin.delete("/api/v1/variables/api_token").status_code == 404


LEAKY_DAG = """
from partita import DAG, BashOperator, task

SECRET = "{secret}"
TOKEN = "{token}"

with DAG("leaky", schedule=None) as dag:

    @task
    def leak():
        print("the password is", SECRET, "and again:" + SECRET, "token", TOKEN)
        return {{"note": "stored " + SECRET}}

    @task
    def boom():
        raise RuntimeError("refused with " + SECRET)

    shout = BashOperator(task_id="shout", bash_command="echo pw=" + SECRET)
    leak() >> boom()
"""


def test_a_stored_secret_never_comes_out_of_the_api(world: ApiWorld) -> None:
    """The task neither reads the connection nor masks anything: its log, error and output
    hold the secret in clear; the server masks it in every answer."""
    secret = f"Srv-{uuid.uuid4().hex[:12]}"
    world.storage.connections.set_connection(
        Connection("leaky_db", "postgres", "db.example.com", "etl", secret)
    )
    token = f"Tok-{uuid.uuid4().hex[:12]}"
    world.storage.variables.set_variable(VariableRecord("slack_api_token", token))
    dag_file = world.dag_file.parent / "leaky.py"
    dag_file.write_text(LEAKY_DAG.format(secret=secret, token=token))
    dag = load_dags(dag_file).dags["leaky"]
    run_id = dag.test(storage=world.storage, verbose=False).run_id
    world.storage.registry.record_parse(
        DagParse(str(dag_file), [ParsedDag("leaky", str(dag_file))], {}, datetime.now(UTC))
    )
    raw = world.storage.logs.read_lines(run_id, "leak", -1, 1, start=0, limit=100)
    assert any(secret in line.message for line in raw)  # stored in clear: the server masks
    client = world.client(Role.VIEWER)
    base = f"/api/v1/runs/{run_id}"
    answers = {
        "log": client.get(f"{base}/tasks/leak/logs"),
        "tail": client.get(f"{base}/tasks/leak/logs?tail=5"),
        "run": client.get(base),
        "instances": client.get(f"{base}/tasks"),
        "instance": client.get(f"{base}/tasks/boom"),
        "boom log": client.get(f"{base}/tasks/boom/logs"),
        "output": client.get(f"{base}/tasks/leak/outputs/return_value"),
        "rendered": client.get("/api/v1/dags/leaky/tasks/shout/rendered"),
        "source": client.get("/api/v1/dags/leaky/source"),
        "problem": client.get(f"/api/v1/runs/{secret}"),
    }
    with client.stream("GET", f"{base}/tasks/leak/logs/stream") as response:
        stream = response.read().decode()
    assert "the password is *** and again:*** token ***" in stream
    assert "the password is *** and again:*** token ***" in answers["log"].text
    assert answers["instance"].json()["error"] == "RuntimeError: refused with ***"
    assert "RuntimeError: refused with ***" in answers["run"].text
    assert "stored ***" in answers["output"].json()["preview"]
    assert answers["rendered"].json()["fields"]["bash_command"] == "echo pw=***"
    assert 'SECRET = "***"' in answers["source"].json()["source"]
    assert answers["problem"].status_code == 404
    assert "***" in answers["problem"].json()["detail"]
    for name, answer in answers.items():
        assert answer.status_code in (200, 404), (name, answer.text)
        assert secret not in answer.text and token not in answer.text, name
    assert secret not in stream and token not in stream
    # The run page shows the same log and error masked.
    page_client = world.client(None)
    from test_ui_pages import log_in

    log_in(page_client, "viewer")
    for task_id in ("leak", "boom"):
        page = page_client.get(f"/runs/{run_id}?task={task_id}")
        assert page.status_code == 200
        assert "***" in page.text and secret not in page.text and token not in page.text
