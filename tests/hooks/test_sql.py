"""SqlHook, SQLExecuteQueryOperator and SqlSensor on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from partita import (
    DAG,
    PartitaError,
    RunState,
    SqlError,
    SQLExecuteQueryOperator,
    SqlHook,
    SqlSensor,
    TaskState,
)
from partita.hooks.sql import split_sql


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_conn(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Connection ``db``: a SQLite file, or the test session's PostgreSQL database."""
    if request.param == "sqlite":
        conn = {"conn_type": "sqlite", "host": str(tmp_path / "data.db")}
    else:
        url = make_url(request.getfixturevalue("pg_clean_database_url"))
        conn = {
            "conn_type": "postgres", "host": url.host, "port": url.port, "login": url.username,
            "password": url.password, "schema": url.database,
        }  # fmt: skip
    monkeypatch.setenv("PARTITA_CONN_DB", json.dumps(conn))
    hook = SqlHook("db")
    hook.run("DROP TABLE IF EXISTS ops_items")
    hook.dispose()
    return "db"


def test_hook_runs_statements_with_parameters_and_reads_rows(db_conn: str) -> None:
    hook = SqlHook(db_conn)
    hook.run("CREATE TABLE ops_items (id INTEGER PRIMARY KEY, name VARCHAR(20))")
    assert hook.insert_rows("ops_items", [(1, "a"), (2, "b"), (3, "c")], ["id", "name"]) == 3
    assert hook.get_records(
        "SELECT id, name FROM ops_items WHERE id >= :low ORDER BY id", {"low": 2}
    ) == [
        (2, "b"),
        (3, "c"),
    ]
    assert hook.get_first("SELECT count(*) FROM ops_items") == (3,)
    assert hook.get_sqlalchemy_engine() is hook.get_conn()
    hook.dispose()


def test_operator_returns_rows_and_splits_scripts(db_conn: str) -> None:
    script = """
        CREATE TABLE ops_items (id INTEGER, name VARCHAR(20));
        INSERT INTO ops_items VALUES (1, 'semi;colon');  -- a comment; with a semicolon
        INSERT INTO ops_items VALUES (2, 'two');
        SELECT id, name FROM ops_items ORDER BY id;
    """
    with DAG(dag_id="sql_dag", schedule=None) as dag:
        setup = SQLExecuteQueryOperator(
            task_id="setup", conn_id=db_conn, sql=script, split_statements=True
        )
        every = SQLExecuteQueryOperator(
            task_id="every", conn_id=db_conn, return_last=False,
            sql=["SELECT count(*) FROM ops_items", "SELECT name FROM ops_items WHERE id = :id"],
            parameters={"id": 2},
        )  # fmt: skip
        templated = SQLExecuteQueryOperator(
            task_id="templated", conn_id=db_conn,
            sql="SELECT name FROM ops_items WHERE id = {{ params.id }}", params={"id": 1},
        )  # fmt: skip
        setup >> [every, templated]
    result = dag.test(verbose=False)
    assert result.state is RunState.SUCCESS
    assert [list(row) for row in result.output("setup")] == [[1, "semi;colon"], [2, "two"]]
    assert [list(map(list, rows)) for rows in result.output("every")] == [[[2]], [["two"]]]
    assert [list(row) for row in result.output("templated")] == [["semi;colon"]]


def test_sql_errors_fail_the_task_naming_the_connection(db_conn: str) -> None:
    with DAG(dag_id="sql_bad", schedule=None) as dag:
        SQLExecuteQueryOperator(task_id="bad", conn_id=db_conn, sql="SELECT * FROM no_such_table")
    assert dag.test(verbose=False).task_states == {"bad": TaskState.FAILED}
    with pytest.raises(SqlError, match="SQL on connection 'db' failed"):
        SqlHook(db_conn).run("SELECT * FROM no_such_table")


def test_sensor_waits_for_a_truthy_first_cell(db_conn: str) -> None:
    SqlHook(db_conn).run("CREATE TABLE ops_items (id INTEGER)")
    with DAG(dag_id="sql_sensor", schedule=None) as dag:
        SqlSensor(
            task_id="wait", conn_id=db_conn, sql="SELECT count(*) FROM ops_items",
            poke_interval=0.01, timeout=0.1,
        )  # fmt: skip
    assert dag.test(verbose=False).task_states == {"wait": TaskState.FAILED}
    SqlHook(db_conn).run("INSERT INTO ops_items VALUES (1)")
    assert dag.test(verbose=False).state is RunState.SUCCESS


def test_a_connection_that_is_not_sql_and_bad_sql_arguments_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARTITA_CONN_WEB", "http://example.com")
    with pytest.raises(SqlError, match="type 'http', which is not a SQL database; use one of"):
        SqlHook("web").get_records("SELECT 1")
    with pytest.raises(PartitaError, match="sql must be a non-empty string or a list"):
        SQLExecuteQueryOperator(task_id="t", conn_id="web", sql=" ")


def test_split_sql_keeps_quoted_semicolons_and_drops_comments() -> None:
    assert split_sql("a ';' b; -- x; y\n c;;") == ["a ';' b", "c"]


def test_dbapihook_is_the_sql_hook_under_airflows_name(db_conn: str) -> None:
    from partita import DbApiHook

    hook = DbApiHook(db_conn)
    assert isinstance(hook, SqlHook)
    hook.run("CREATE TABLE ops_items (id INTEGER, name VARCHAR(20))")
    hook.run("INSERT INTO ops_items VALUES (:id, :name)", {"id": 1, "name": "a"})
    hook.insert_rows("ops_items", [(2, "b")], ["id", "name"])
    assert hook.get_records("SELECT id, name FROM ops_items ORDER BY id") == [(1, "a"), (2, "b")]
    assert hook.get_first("SELECT max(id) FROM ops_items") == (2,)
    pandas = pytest.importorskip("pandas")
    frame = hook.get_pandas_df("SELECT id, name FROM ops_items WHERE id > :low", {"low": 1})
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == ["id", "name"]
    assert frame.to_dict("records") == [{"id": 2, "name": "b"}]
    with pytest.raises(SqlError, match="ops_missing"):
        hook.get_pandas_df("SELECT * FROM ops_missing")
    hook.dispose()


def test_dbapihook_subclasses_name_their_connection_argument_as_airflows_do(
    db_conn: str,
) -> None:
    from partita import DbApiHook

    class WarehouseHook(DbApiHook):
        conn_name_attr = "warehouse_conn_id"
        default_conn_name = "warehouse_default"

    assert WarehouseHook(warehouse_conn_id=db_conn).get_first("SELECT 7") == (7,)
    assert WarehouseHook().conn_id == "warehouse_default"
    with pytest.raises(TypeError, match="warehouse_conn_id"):
        WarehouseHook(postgres_conn_id=db_conn)
