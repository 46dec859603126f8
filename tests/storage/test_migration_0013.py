"""Revision 0013 (cancel requests): a database made at 0002, with a run in it, upgrades to head."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from msgspec.structs import replace

from partita.definitions.states import RunState
from partita.storage.records import WriteBatch
from partita.storage.sql import SqlStorage, create_sql_engine, upgrade
from partita.storage.sql.migrate import alembic_config, current_revision, head_revision


def _database_at_0002_with_a_run(url: str) -> None:
    engine = create_sql_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0002")
            connection.exec_driver_sql(
                "INSERT INTO dag_run (run_id, dag_id, dag_version, state, run_type, conf, pid) "
                "VALUES ('old', 'etl', 'v', 'running', 'manual', '{\"n\": 1}', 4242)"
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_0002_database_upgrades_and_its_run_can_be_cancelled(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_fresh_database_url")
    _database_at_0002_with_a_run(url)

    assert upgrade(url) == head_revision()

    engine = create_sql_engine(url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
    with SqlStorage(url, tmp_path / "storage") as storage:
        run = storage.runs.get_run("old")
        assert (run.state, run.conf, run.pid) == (RunState.RUNNING, {"n": 1}, 4242)
        assert (run.cancel_requested_at, run.cancel_grace) == (None, None)
        assert storage.request_cancel("old", datetime.now(UTC), 1.5)
        assert storage.runs.get_run("old").cancel_grace == 1.5
        run = replace(run, state=RunState.FAILED)
        storage.write(WriteBatch(runs=[run]))  # the owner's full write after the upgrade
        assert storage.runs.get_run("old").state is RunState.FAILED
