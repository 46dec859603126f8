"""Bring a metadata database to the newest schema with the Alembic migrations shipped in partita.

The design decision: Alembic is configured from code (the script location is
the package's ``storage/migrations`` folder; no ``alembic.ini``), and each
upgrade runs in one transaction that first takes a lock (``BEGIN IMMEDIATE``
on SQLite, an advisory lock on PostgreSQL), so two processes opening a new
database at once migrate it once. ``ensure_schema`` reads ``alembic_version``
first and returns at once when the database is already at head, so opening an
up-to-date database costs a query, not an Alembic run; that check lives in
``schema_revision`` so that it does not even import this module.
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import URL, Connection

from partita.exceptions import StorageError
from partita.storage.sql.engine import WRITE_LOCK_OPTION, create_sql_engine, mask_url
from partita.storage.sql.errors import wrap_db_errors
from partita.storage.sql.resign import OutputResigner

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
#: Key of the PostgreSQL advisory lock held while migrating ("partita" in ASCII).
_PG_MIGRATION_LOCK = 0x70617274697461


def alembic_config(
    connection: Connection | None = None, resigner: OutputResigner | None = None
) -> Config:
    """An Alembic ``Config`` for partita's migrations, using ``connection`` when given.

    ``resigner`` is what revision 0006 signs earlier outputs with (``resign.py``).
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    if resigner is not None:
        config.attributes["resigner"] = resigner
    return config


@functools.cache
def head_revision() -> str:
    """The newest revision shipped with this version of partita."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise StorageError(f"no migrations found in {MIGRATIONS_DIR}; reinstall partita")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for a database partita never migrated."""
    with wrap_db_errors(engine.url, "read the schema revision"), engine.connect() as connection:
        return _read_revision(connection)


def upgrade(url_or_engine: str | URL | Engine, *, resigner: OutputResigner | None = None) -> str:
    """Migrate the database to head and return the head revision; a no-op when already there.

    Pass ``resigner`` to sign the outputs an earlier partita stored unsigned (revision
    0006); without it, migrating a database that holds such outputs raises
    ``StorageError`` saying to run ``partita db upgrade``.
    """
    owned = not isinstance(url_or_engine, Engine)
    engine = (
        url_or_engine if isinstance(url_or_engine, Engine) else create_sql_engine(url_or_engine)
    )
    try:
        with (
            wrap_db_errors(engine.url, "migrate the schema", also=(CommandError,)),
            engine.connect() as connection,
        ):
            _take_migration_lock(connection)
            _check_known(engine, _read_revision(connection))
            command.upgrade(alembic_config(connection, resigner), "head")
            revision = _read_revision(connection)
            connection.commit()
    finally:
        if owned:
            engine.dispose()
    if revision is None:  # pragma: no cover - alembic always stamps
        raise StorageError(f"database {mask_url(engine.url)}: migration left no revision")
    return revision


def _read_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _take_migration_lock(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.execution_options(**{WRITE_LOCK_OPTION: True})
        connection.begin()
    else:
        connection.execute(select(func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))


def _check_known(engine: Engine, revision: str | None) -> None:
    if revision is None:
        return
    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    if revision not in known:
        raise StorageError(
            f"database {mask_url(engine.url)} is at schema revision {revision!r}, which this "
            f"version of partita does not know (its newest is {head_revision()!r}); the "
            f"database was migrated by a newer partita: upgrade partita to use it"
        )


__all__ = ["MIGRATIONS_DIR", "alembic_config", "current_revision", "head_revision", "upgrade"]
