"""Connections and variables inside tasks: lookups, templates, and secrets masked in logs and
errors (``engine/secrets.py``, ``masking.py``, ``engine/task_log.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from partita import (
    DAG,
    BashOperator,
    Connection,
    PythonOperator,
    TaskState,
    Variable,
    run_dag,
    task,
)
from partita.masking import MASKER
from partita.settings import load_settings
from partita.storage.factory import open_storage
from partita.storage.memory import MemoryStorage
from partita.storage.records import EventKind
from partita.storage.secrets import VariableRecord
from partita.storage.sql import SqlStorage

SECRET = "Xy9-hunter2-Secret"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A PARTITA_HOME without a database, and no secret left registered afterwards."""
    monkeypatch.setenv("PARTITA_HOME", str(tmp_path / "home"))
    yield
    MASKER.clear()


def test_templates_read_variables_json_fields_and_connections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARTITA_VAR_REGION", "eu-west-1")
    monkeypatch.setenv("PARTITA_VAR_LIMITS", '{"rows": {"max": 500}}')
    monkeypatch.setenv("PARTITA_CONN_MY_DB", "postgres://etl@db.internal:5433/dw")
    with DAG("tpl") as dag:
        BashOperator(
            task_id="show",
            bash_command=(
                "echo {{ var.value.region }} {{ var.json.limits.rows.max }} "
                "{{ conn.my_db.host }}:{{ conn.my_db.port }} {{ var.value.get('nope', 'dflt') }}"
            ),
        )
    result = dag.test()
    assert result.task_states == {"show": TaskState.SUCCESS}
    assert result.output("show") == "eu-west-1 500 db.internal:5433 dflt"


def test_an_unknown_connection_fails_the_task_with_the_fix() -> None:
    with DAG("missing") as dag:
        BashOperator(task_id="show", bash_command="echo {{ conn.x.host }}")
    result = dag.test(verbose=False)
    assert result.task_states == {"show": TaskState.FAILED}
    error = result.error("show") or ""
    assert (
        "connection 'x' is not defined; add it with `partita connections add x --uri ...` "
        "or set PARTITA_CONN_X"
    ) in error


def test_a_task_that_prints_a_password_logs_stars_also_in_its_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARTITA_CONN_API", f"https://bot:{SECRET}@api.example.com")

    def leak() -> None:
        conn = Connection.get("api")
        print(f"calling with password={conn.password} uri={conn.get_uri()}")
        raise RuntimeError(f"login refused for {conn.password}")

    with DAG("leaky") as dag:
        PythonOperator(task_id="leak", python_callable=leak)
    result = dag.test(verbose=False)
    logs, error = result.logs("leak"), result.error("leak") or ""
    assert "password=*** uri=https://bot:***@api.example.com" in logs
    assert "login refused for ***" in error
    assert SECRET not in logs + error


def test_secret_variables_and_extras_are_masked_plain_ones_are_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARTITA_VAR_SLACK_TOKEN", "xoxb-token-123456")
    monkeypatch.setenv("PARTITA_VAR_GREETING", "hello-world")
    monkeypatch.setenv("PARTITA_CONN_SVC", '{"conn_type": "http", "extra": {"api_key": "ak-9876"}}')

    @task
    def show() -> None:
        Connection.get("svc")
        print(Variable.get("slack_token"), Variable.get("greeting"), "ak-9876")

    with DAG("vars") as dag:
        show()
    result = dag.test(verbose=False)
    assert "*** hello-world ***" in result.logs("show")


def test_variables_set_by_a_task_land_in_the_run_store() -> None:
    @task
    def write() -> str:
        Variable.set("counter", {"n": 1}, serialize_json=True)
        return str(Variable.get("counter", deserialize_json=True)["n"])

    with DAG("writer") as dag:
        write()
    storage = MemoryStorage()
    result = dag.test(storage=storage, verbose=False)
    assert result.output("write") == "1"
    record = storage.variables.get_variable("counter")
    assert record is not None and record.value == '{\n  "n": 1\n}'


def test_dag_test_reads_connections_from_the_settings_store() -> None:
    with open_storage(load_settings()) as store:  # what `partita connections add` writes
        store.connections.set_connection(Connection("wh", conn_type="postgres", host="wh-host"))
        store.variables.set_variable(VariableRecord("stage", "prod"))

    @task
    def where() -> str:
        return f"{Connection.get('wh').host} {Variable.get('stage')}"

    with DAG("settings_store") as dag:
        where()
    assert dag.test(verbose=False).output("where") == "wh-host prod"


def test_variable_get_defaults_and_errors() -> None:
    assert Variable.get("absent", default=3) == 3
    assert Variable.get("absent", default_var=None) is None
    with pytest.raises(KeyError, match="variable 'absent' is not defined; set it with"):
        Variable.get("absent")


def test_a_dag_callback_error_is_stored_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTITA_CONN_HOOK", f"http://:{SECRET}@hooks.example.com")

    def alert(context: object) -> None:
        raise RuntimeError(f"webhook refused {Connection.get('hook').password}")

    def fail() -> None:
        raise ValueError("boom")

    with DAG("alerting", on_failure_callback=alert) as dag:
        PythonOperator(task_id="fail", python_callable=fail)
    storage = MemoryStorage()
    result = dag.test(storage=storage, verbose=False)
    events = storage.events.read_events(result.run_id, kinds=[EventKind.CALLBACK_ERROR])
    messages = " ".join(str(e.payload["message"]) for e in events)
    assert "webhook refused ***" in messages
    assert SECRET not in messages


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_run_on_a_sql_store_reads_its_connections_and_variables(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_clean_database_url")

    @task
    def use() -> str:
        conn = Connection.get("warehouse")
        Variable.set("seen", conn.host)
        print("password", conn.password)
        return f"{conn.login}@{conn.host} {Variable.get('seen')}"

    with DAG("sql_secrets") as dag:
        use()
    with SqlStorage(url, tmp_path / "storage") as storage:
        storage.connections.set_connection(
            Connection("warehouse", conn_type="postgres", host="dw", login="etl", password=SECRET)
        )
        result = run_dag(dag, storage=storage)
        assert result.output("use") == "etl@dw dw"
        assert "password ***" in result.logs("use")
        assert storage.variables.get_variable("seen") == VariableRecord("seen", "dw")
