"""Helpers of the migration tests in tests/storage: the previous revision, and a database
taken to a revision (with a run in it) or back down to one."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from partita.storage.sql import create_sql_engine
from partita.storage.sql.migrate import alembic_config


def revision_before(revision: str) -> str:
    """The revision just below ``revision`` in the chain (what a test upgrades to first)."""
    before = ScriptDirectory.from_config(alembic_config()).get_revision(revision).down_revision
    assert isinstance(before, str)
    return before


def upgrade_with_a_run(url: str, revision: str) -> list[str]:
    """Upgrade the database at ``url`` to ``revision``, add finished run ``old``; its tables."""
    engine = create_sql_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
            connection.exec_driver_sql(
                "INSERT INTO dag_run (run_id, dag_id, dag_version, state, run_type, conf) "
                "VALUES ('old', 'etl', 'v', 'success', 'manual', '{}')"
            )
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def downgrade_to(url: str, revision: str) -> list[str]:
    """Downgrade the database at ``url`` to ``revision``; its tables afterwards."""
    engine = create_sql_engine(url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), revision)
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()
