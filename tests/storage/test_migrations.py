"""The Alembic migrations shipped in the package: they create the models' schema, once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from partita.exceptions import StorageError
from partita.storage.sql import SqlStorage, create_sql_engine, migrate
from partita.storage.sql.migrate import (
    MIGRATIONS_DIR,
    alembic_config,
    current_revision,
    head_revision,
    upgrade,
)
from partita.storage.sql.models import metadata
from partita.storage.sql.schema_revision import database_revisions, ensure_schema, shipped_head

TABLES = {
    "dag_version",
    "dag_run",
    "task_instance",
    "event_log",
    "task_output",
    "asset_materialization",
    "dag",
    "import_error",
    "asset_check_evaluation",
    "scheduler_heartbeat",
    "run_claim",
}


def test_package_ships_the_migration_scripts() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0002_asset_catalog.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0005_asset_checks.py").is_file()
    assert set(metadata.tables) == TABLES


def test_upgrade_on_an_empty_sqlite_creates_every_table(sqlite_url: str) -> None:
    assert upgrade(sqlite_url) == head_revision()

    engine = create_sql_engine(sqlite_url)
    try:
        assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_upgrade_twice_is_a_no_op(sqlite_url: str) -> None:
    engine = create_sql_engine(sqlite_url)
    try:
        first = upgrade(engine)
        second = upgrade(engine)
        with engine.connect() as connection:
            versions = connection.scalars(text("SELECT version_num FROM alembic_version")).all()
    finally:
        engine.dispose()
    assert first == second == head_revision()
    assert versions == [head_revision()]


def _schema_differences(url: str) -> list[object]:
    engine = create_sql_engine(url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_models_and_migrations_agree_on_sqlite(sqlite_url: str) -> None:
    assert _schema_differences(sqlite_url) == []


@pytest.mark.postgres
def test_models_and_migrations_agree_on_postgres(pg_fresh_database_url: str) -> None:
    assert _schema_differences(pg_fresh_database_url) == []


def test_downgrade_to_base_removes_every_table(sqlite_url: str) -> None:
    engine = create_sql_engine(sqlite_url)
    try:
        upgrade(engine)
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        assert current_revision(engine) is None
    finally:
        engine.dispose()


def test_sqlite_file_is_in_wal_mode(sqlite_url: str, tmp_path: Path) -> None:
    SqlStorage(sqlite_url, tmp_path / "storage").close()

    with sqlite3.connect(tmp_path / "partita.db") as connection:
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"


def test_sqlite_connections_enforce_foreign_keys(sqlite_url: str) -> None:
    engine = create_sql_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            pragmas = [
                connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("foreign_keys", "synchronous", "busy_timeout")
            ]
    finally:
        engine.dispose()
    assert pragmas == [1, 1, 30_000]  # synchronous=1 is NORMAL


def test_ensure_schema_does_not_run_alembic_when_at_head(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_sql_engine(sqlite_url)
    try:
        assert ensure_schema(engine) == head_revision()

        def fail(*args: object, **kwargs: object) -> None:
            raise AssertionError("alembic ran for a database already at head")

        monkeypatch.setattr(migrate, "upgrade", fail)
        assert ensure_schema(engine) == head_revision()
    finally:
        engine.dispose()


def test_database_from_a_newer_partita_is_refused(sqlite_url: str) -> None:
    engine = create_sql_engine(sqlite_url)
    try:
        upgrade(engine)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
        with pytest.raises(StorageError, match=r"revision 'f00d'.*upgrade partita"):
            ensure_schema(engine)
    finally:
        engine.dispose()


def test_the_head_read_from_the_migration_files_is_alembics_head() -> None:
    assert shipped_head() == head_revision()


def test_database_revisions_of_a_new_and_of_a_migrated_database(sqlite_url: str) -> None:
    engine = create_sql_engine(sqlite_url)
    try:
        assert database_revisions(engine) == ()
        upgrade(engine)
        assert database_revisions(engine) == (head_revision(),)
    finally:
        engine.dispose()


def test_opening_a_database_at_head_does_not_import_alembic(sqlite_url: str) -> None:
    engine = create_sql_engine(sqlite_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    probe = (
        "import sys; from pathlib import Path; "
        "from partita.storage.sql.store import SqlStorage; "
        f"SqlStorage({sqlite_url!r}, Path('unused')).close(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"
