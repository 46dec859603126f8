"""Alembic environment for partita's metadata database.

The design decision: partita runs Alembic from code (``partita.storage.sql.migrate``)
and hands it an open connection in ``config.attributes["connection"]``; the
migration then runs inside the caller's transaction, which holds the lock that
keeps two processes from migrating at once. Without a connection (the
``alembic`` command line) the URL comes from the ``sqlalchemy.url`` option.
SQLite runs in batch mode, since it cannot alter tables in place.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from partita.storage.sql.engine import create_sql_engine
from partita.storage.sql.models import metadata

target_metadata = metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Print the SQL of the migrations instead of running them (``alembic upgrade --sql``)."""
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate through the connection given by the caller, or one opened from the URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url set for the migration")
    engine = create_sql_engine(url)
    try:
        with engine.connect() as opened:
            _configure_and_run(opened)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
