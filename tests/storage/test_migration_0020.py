"""Revision 0020 (pool slot leases): a database made at the revision before it, with a pool,
a scheduler's heartbeat and a running run in it, upgrades and can hold slots."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from migration_helpers import revision_before
from sqlalchemy import inspect

from partita.definitions.states import RunState
from partita.storage.run_queue import SlotLease
from partita.storage.sql import SqlStorage, create_sql_engine, upgrade
from partita.storage.sql.migrate import alembic_config, head_revision


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_database_before_0020_upgrades_and_its_pools_take_slots(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_fresh_database_url")
    engine = create_sql_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision_before("0020"))
            connection.exec_driver_sql("INSERT INTO pool (name, slots) VALUES ('narrow', 2)")
            connection.exec_driver_sql(
                "INSERT INTO dag_run (run_id, dag_id, dag_version, state, run_type, conf) "
                "VALUES ('old', 'etl', 'v', 'running', 'manual', '{}')"
            )
        assert "pool_slot" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()

    assert upgrade(url) == head_revision()

    with SqlStorage(url, tmp_path / "storage") as storage:
        assert [(p.name, p.slots) for p in storage.pools.list_pools()] == [("narrow", 2)]
        assert storage.runs.get_run("old").state is RunState.RUNNING
        with storage.pools.claim_slots("s1", ["narrow"]) as claim:
            assert claim.used == {}
            claim.take([SlotLease("old", "a", -1, "narrow", 2)])
        with storage.pools.claim_slots("s2", ["narrow"]) as claim:
            assert claim.used == {"narrow": 2}
