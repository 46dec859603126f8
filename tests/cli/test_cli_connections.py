"""``partita connections``, ``partita variables`` and ``partita rotate-fernet-key``."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cli_helpers import Invoke, only_line
from click.testing import CliRunner
from cryptography.fernet import Fernet

from partita.cli.main import cli
from partita.masking import MASKER
from partita.storage.base import Storage

SECRET = "Pa55-w0rd-for-cli"
URI = f"postgres://etl:{SECRET}@db.example.com:5432/dw?sslmode=require"


@pytest.fixture(autouse=True)
def forget_secrets() -> Iterator[None]:
    yield
    MASKER.clear()


def test_add_from_a_uri_then_list_get_and_delete(invoke: Invoke) -> None:
    added = invoke("connections", "add", "warehouse", "--uri", URI)
    assert added.exit_code == 0, added.output
    assert SECRET not in added.output
    listed = invoke("connections", "list")
    assert "warehouse" in listed.output and "***" in listed.output
    assert SECRET not in listed.output
    shown = invoke("connections", "get", "warehouse", "--json")
    data = json.loads(shown.output)
    assert (data["host"], data["port"], data["schema"], data["password"]) == (
        "db.example.com", 5432, "dw", "***",
    )  # fmt: skip
    assert data["uri"] == "postgres://etl:***@db.example.com:5432/dw?sslmode=require"
    revealed = invoke("connections", "get", "warehouse", "--reveal")
    assert f"password: {SECRET}" in revealed.output
    assert invoke("connections", "delete", "warehouse").exit_code == 0
    gone = invoke("connections", "get", "warehouse")
    assert gone.exit_code == 2
    assert only_line(gone.stderr) == (
        "Error: connection 'warehouse' is not defined; add it with `partita connections add "
        "warehouse --uri ...` or set PARTITA_CONN_WAREHOUSE"
    )


def test_add_from_field_options_and_password_stdin(invoke: Invoke) -> None:
    result = CliRunner().invoke(
        cli,
        ["connections", "add", "api", "--conn-type", "http", "--host", "api.example.com",
         "--login", "bot", "--password-stdin", "--extra", '{"token": "tok-abcdef", "v": 2}'],
        input=f"{SECRET}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(invoke("connections", "list", "--json").output)
    assert data == [{
        "conn_id": "api", "conn_type": "http", "host": "api.example.com", "login": "bot",
        "password": "***", "schema": None, "port": None, "extra": {"token": "***", "v": 2},
        "description": None, "source": "metadata",
    }]  # fmt: skip


def test_the_database_holds_no_plain_password(invoke: Invoke, cli_home: Path) -> None:
    assert invoke("connections", "add", "warehouse", "--uri", URI).exit_code == 0
    assert invoke("variables", "set", "api_token", "tok-Var-Secret-1").exit_code == 0
    data = (cli_home / "partita.db").read_bytes()
    assert SECRET.encode() not in data and b"tok-Var-Secret-1" not in data


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--uri", "db.example.com"], "has no connection type"),
        (["--uri", "postgres://h:port/db"], "the port 'port' is not a number"),
        (["--conn-type", "http", "--extra", "{oops"], "extra is not valid JSON"),
        (["--conn-type", "http", "--extra", "[1]"], "extra must be a JSON object"),
        (["--uri", "http://h", "--host", "x"], "give either --uri or field options (--host)"),
        (["--host", "x"], "needs --uri, or --conn-type"),
        (["--conn-type", "http", "--port", "99999"], "99999 is not in the range 0<=x<=65535"),
    ],
)
def test_bad_input_is_refused_in_one_line(invoke: Invoke, args: list[str], message: str) -> None:
    result = invoke("connections", "add", "bad", *args)
    assert result.exit_code == 2
    assert message in only_line(result.stderr)


def test_adding_twice_needs_replace(invoke: Invoke) -> None:
    assert invoke("connections", "add", "c", "--conn-type", "http").exit_code == 0
    again = invoke("connections", "add", "c", "--conn-type", "http")
    assert again.exit_code == 2 and "already exists; add --replace" in again.stderr
    assert invoke("connections", "add", "c", "--conn-type", "ftp", "--replace").exit_code == 0
    assert "conn_type: ftp" in invoke("connections", "get", "c").output


def test_environment_connections_are_listed_and_win(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("connections", "add", "svc", "--uri", "http://stored-host").exit_code == 0
    monkeypatch.setenv("PARTITA_CONN_SVC", f"http://u:{SECRET}@env-host")
    data = json.loads(invoke("connections", "get", "svc", "--json").output)
    assert (data["host"], data["source"], data["password"]) == (
        "env-host", "PARTITA_CONN_SVC", "***",
    )  # fmt: skip
    listed = invoke("connections", "list")
    assert "env-host" in listed.output and SECRET not in listed.output


class _Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        status = 200 if self.path == "/ok" else 503
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_test_http_makes_a_request(invoke: Invoke, http_server: str) -> None:
    host, port = http_server.split(":")
    ok_uri = f"http://bob:{SECRET}@{host}:{port}/?x=1"
    assert invoke("connections", "add", "up", "--conn-type", "http", "--host",
                  f"http://{http_server}/ok", "--login", "bob").exit_code == 0  # fmt: skip
    result = invoke("connections", "test", "up")
    assert result.exit_code == 0, result.output
    assert f"OK: GET http://{http_server}/ok answered HTTP 200" in result.output
    assert _Recorder.seen[-1][0] == "/ok" and _Recorder.seen[-1][1] is not None
    assert invoke("connections", "add", "down", "--uri", ok_uri).exit_code == 0
    failed = invoke("connections", "test", "down")
    assert failed.exit_code == 1
    assert "Failed: GET" in failed.output and "HTTP 503" in failed.output


def test_test_sql_connects_and_selects(invoke: Invoke, tmp_path: Path) -> None:
    database = tmp_path / "target.db"
    sqlite3.connect(database).close()
    assert invoke("connections", "add", "local", "--conn-type", "sqlite",
                  "--host", str(database)).exit_code == 0  # fmt: skip
    result = invoke("connections", "test", "local")
    assert result.exit_code == 0, result.output
    assert "ran SELECT 1" in result.output
    assert invoke("connections", "add", "pg", "--uri",
                  f"postgres://u:{SECRET}@127.0.0.1:1/none").exit_code == 0  # fmt: skip
    failed = invoke("connections", "test", "pg")
    assert failed.exit_code == 1 and "Failed: cannot connect" in failed.output
    assert SECRET not in failed.output


def test_test_other_types_open_a_tcp_connection(invoke: Invoke, http_server: str) -> None:
    host, port = http_server.split(":")
    assert invoke("connections", "add", "raw", "--uri", f"redis://{host}:{port}").exit_code == 0
    assert "OK: opened a TCP connection" in invoke("connections", "test", "raw").output
    assert invoke("connections", "add", "nohost", "--conn-type", "ftp").exit_code == 0
    result = invoke("connections", "test", "nohost")
    assert result.exit_code == 1 and "needs a host and a port" in result.output


# --- variables -------------------------------------------------------------------------


def test_variables_set_get_list_delete_with_json(invoke: Invoke) -> None:
    assert invoke("variables", "set", "limits", '{"rows": 5}', "--json").exit_code == 0
    assert invoke("variables", "set", "region", "eu", "--description", "where").exit_code == 0
    assert invoke("variables", "get", "region").output == "eu\n"
    assert json.loads(invoke("variables", "get", "limits", "--json").output) == {"rows": 5}
    listed = json.loads(invoke("variables", "list", "--json").output)
    assert listed == [
        {"key": "limits", "value": {"rows": 5}, "description": None, "source": "metadata"},
        {"key": "region", "value": "eu", "description": "where", "source": "metadata"},
    ]
    assert invoke("variables", "delete", "region").exit_code == 0
    missing = invoke("variables", "get", "region")
    assert missing.exit_code == 2 and "variable 'region' is not defined" in missing.stderr
    assert invoke("variables", "get", "region", "--default", "x").output == "x\n"
    bad = invoke("variables", "set", "j", "{nope", "--json")
    assert bad.exit_code == 2 and "variable 'j' is not valid JSON" in only_line(bad.stderr)


def test_secret_variables_are_masked_unless_revealed(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("variables", "set", "db_password", SECRET).exit_code == 0
    monkeypatch.setenv("PARTITA_VAR_API_KEY", "env-key-4242")
    assert invoke("variables", "get", "db_password").output == "***\n"
    assert invoke("variables", "get", "db_password", "--reveal").output == f"{SECRET}\n"
    listed = invoke("variables", "list")
    assert "db_password" in listed.output and "api_key" in listed.output
    assert SECRET not in listed.output and "env-key-4242" not in listed.output


# --- rotate-fernet-key -----------------------------------------------------------------


def test_rotation_with_the_key_file_adds_a_key_and_reencrypts(
    invoke: Invoke, cli_home: Path, monkeypatch: pytest.MonkeyPatch,
    cli_storage: Callable[[], Storage],
) -> None:  # fmt: skip
    monkeypatch.delenv("PARTITA_FERNET_KEY")
    assert invoke("connections", "add", "warehouse", "--uri", URI).exit_code == 0
    key_file = cli_home / "fernet.key"
    old_key = key_file.read_text().split()
    rotated = invoke("rotate-fernet-key")
    assert rotated.exit_code == 0, rotated.output
    assert "Re-encrypted 1 connection(s) and 0 variable(s)." in rotated.output
    keys = key_file.read_text().split()
    assert len(keys) == 2 and keys[1:] == old_key
    key_file.write_text(keys[0] + "\n")  # the old key dropped: the rotated rows still read
    assert f"password: {SECRET}" in invoke("connections", "get", "warehouse", "--reveal").output


def test_rotation_with_the_environment_and_a_wrong_key(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("connections", "add", "warehouse", "--uri", URI).exit_code == 0
    old, new = os.environ["PARTITA_FERNET_KEY"], Fernet.generate_key().decode()
    monkeypatch.setenv("PARTITA_FERNET_KEY", new)
    wrong = invoke("connections", "get", "warehouse")
    assert wrong.exit_code == 2
    assert "cannot be decrypted with the Fernet key(s) of PARTITA_FERNET_KEY" in wrong.stderr
    monkeypatch.setenv("PARTITA_FERNET_KEY", f"{new},{old}")
    assert invoke("rotate-fernet-key").exit_code == 0
    monkeypatch.setenv("PARTITA_FERNET_KEY", new)
    assert f"password: {SECRET}" in invoke("connections", "get", "warehouse", "--reveal").output
    note = invoke("rotate-fernet-key")
    assert note.exit_code == 0 and "holds one key" in note.stderr


def test_an_id_wider_than_the_database_column_is_refused(invoke: Invoke) -> None:
    result = invoke("connections", "add", "c" * 300, "--conn-type", "http")
    assert result.exit_code == 2
    assert "ids may have at most 250 characters" in only_line(result.stderr)


# --- tasks render ----------------------------------------------------------------------

RENDER_DAG = """
from partita import DAG, BashOperator

with DAG("render_me", params={"who": "ops"}) as dag:
    BashOperator(
        task_id="call",
        bash_command="curl -u {{ conn.api.login }}:{{ conn.api.password }} "
                     "https://{{ conn.api.host }}/{{ params.who }}/{{ ds }} {{ var.value.region }}",
    )
"""


def test_tasks_render_shows_rendered_fields_with_secrets_masked(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("connections", "add", "api", "--uri",
                  f"http://bot:{SECRET}@api.example.com").exit_code == 0  # fmt: skip
    monkeypatch.setenv("PARTITA_VAR_REGION", "eu")
    dag_file = tmp_path / "render_me.py"
    dag_file.write_text(RENDER_DAG)
    result = invoke("tasks", "render", str(dag_file), "render_me", "call",
                    "--logical-date", "2026-01-31", "--conf", '{"who": "data"}')  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "# bash_command\ncurl -u bot:*** https://api.example.com/data/2026-01-31 eu" in (
        result.output
    )
    assert SECRET not in result.output
    missing = invoke("tasks", "render", str(dag_file), "render_me", "nope")
    assert missing.exit_code == 2 and "has no task 'nope'" in only_line(missing.stderr)
