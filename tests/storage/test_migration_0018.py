"""Revision 0018 (connections and variables): a database made at the revision before it, with
a run in it, upgrades to head; connections and variables are then stored encrypted."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from migration_helpers import revision_before

from partita.definitions.connection import Connection
from partita.definitions.states import RunState
from partita.storage.secrets import VariableRecord
from partita.storage.sql import SqlStorage, create_sql_engine, upgrade
from partita.storage.sql.migrate import alembic_config, current_revision, head_revision


def _database_before_0018_with_a_run(url: str) -> None:
    engine = create_sql_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision_before("0018"))
            connection.exec_driver_sql(
                "INSERT INTO dag_run (run_id, dag_id, dag_version, state, run_type, conf) "
                "VALUES ('old', 'etl', 'v', 'success', 'manual', '{\"n\": 1}')"
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_database_before_0018_upgrades_and_stores_connections(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_fresh_database_url")
    _database_before_0018_with_a_run(url)

    assert upgrade(url) == head_revision()

    engine = create_sql_engine(url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
    with SqlStorage(url, tmp_path / "storage") as storage:
        run = storage.runs.get_run("old")
        assert (run.state, run.conf) == (RunState.SUCCESS, {"n": 1})
        storage.connections.set_connection(Connection("db", conn_type="sqlite", password="pw-1234"))
        storage.variables.set_variable(VariableRecord("k", "v"))
        assert storage.connections.get_connection("db") == Connection(
            "db", conn_type="sqlite", password="pw-1234"
        )
        assert storage.variables.get_variable("k") == VariableRecord("k", "v")
