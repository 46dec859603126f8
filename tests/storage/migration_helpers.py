"""Helpers of the migration tests in tests/storage: the previous revision, and a database
taken to a revision (with rows written there) or back down to one."""

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


#: A finished run ``old`` of DAG ``etl``, as every revision's ``dag_run`` table takes it.
OLD_RUN = (
    "INSERT INTO dag_run (run_id, dag_id, dag_version, state, run_type, conf) "
    "VALUES ('old', 'etl', 'v', 'success', 'manual', '{}')"
)


def upgrade_with(url: str, revision: str, *statements: str) -> list[str]:
    """Upgrade the database at ``url`` to ``revision`` and run ``statements``; its tables."""
    engine = create_sql_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
            for statement in statements:
                connection.exec_driver_sql(statement)
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
