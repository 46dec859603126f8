"""The Alembic migrations shipped in the package: they create the models' schema, once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from migration_helpers import revision_before
from sqlalchemy import JSON, bindparam, inspect, text
from sqlalchemy.dialects.postgresql import JSONB

from partita.exceptions import StorageError
from partita.storage.sql import SqlStorage, create_sql_engine, migrate
from partita.storage.sql.migrate import (
    MIGRATIONS_DIR,
    alembic_config,
    current_revision,
    head_revision,
    upgrade,
)
from partita.storage.sql.models import UTCDateTime, metadata
from partita.storage.sql.schema_revision import database_revisions, ensure_schema, shipped_head

TABLES = {
    "dag_version",
    "dag_run",
    "task_instance",
    "event_log",
    "task_output",
    "asset_materialization",
    "log_line",
    "login_failure",
    "dag",
    "import_error",
    "asset_check_evaluation",
    "scheduler_heartbeat",
    "instigator_state",
    "instigator_tick",
    "sensor_run_key",
    "run_claim",
    "pool",
    "connection",
    "variable",
    "asset_partition",
    "dynamic_partition",
    "automation_cursor",
    "web_user",
    "api_token",
    "web_session",
    "backfill",
    "backfill_run",
    "pool_slot",
}


def test_package_ships_the_migration_scripts() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0002_asset_catalog.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0003_log_lines.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0004_run_heartbeat.py").is_file()
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


def _upgrade_a_pre_heartbeat_database_with_a_run(url: str, tmp_path: Path) -> None:
    before = revision_before("0004")
    engine = create_sql_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), before)
            connection.exec_driver_sql(
                "INSERT INTO dag_run (run_id, dag_id, dag_version, state, run_type, conf, pid) "
                "VALUES ('old', 'etl', 'v', 'running', 'manual', '{}', 42)"
            )
        assert "heartbeat_at" not in {c["name"] for c in inspect(engine).get_columns("dag_run")}
    finally:
        engine.dispose()
    with SqlStorage(url, tmp_path / "storage") as store:  # migrates to head on open
        run = store.runs.get_run("old")
        assert (run.state, run.pid, run.heartbeat_at) == ("running", 42, None)
        assert store.heartbeat("old", datetime(2026, 1, 1, tzinfo=UTC))
        assert store.runs.get_run("old").heartbeat_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_upgrading_a_pre_heartbeat_sqlite_database_adds_the_heartbeat_and_keeps_its_runs(
    sqlite_url: str, tmp_path: Path
) -> None:
    _upgrade_a_pre_heartbeat_database_with_a_run(sqlite_url, tmp_path)


@pytest.mark.postgres
def test_upgrading_a_pre_heartbeat_postgres_database_adds_the_heartbeat_and_keeps_its_runs(
    pg_fresh_database_url: str, tmp_path: Path
) -> None:
    _upgrade_a_pre_heartbeat_database_with_a_run(pg_fresh_database_url, tmp_path)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_fresh_database_url"
    url: str = request.getfixturevalue(fixture)
    return url


def test_upgrading_a_0002_database_moves_its_log_events_into_log_lines(
    empty_database_url: str, tmp_path: Path
) -> None:
    engine = create_sql_engine(empty_database_url)
    lines_try1 = [["2024-03-10T12:00:00+00:00", "INFO", "hello"], ["bad time", "ERROR", "é"]]
    lines_try2 = [["2024-03-10T12:05:00.250000+00:00", "INFO", "again"]]
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0002")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO dag_run (run_id, dag_id, dag_version, state, run_type, conf) "
                    "VALUES ('old', 'etl', 'v', 'success', 'manual', '{}')"
                )
            )
            insert_event = text(
                "INSERT INTO event_log (run_id, task_id, map_index, try_number, kind, "
                "timestamp, payload) VALUES ('old', :task, :index, :try, :kind, :ts, :payload)"
            ).bindparams(
                bindparam("payload", type_=JSON().with_variant(JSONB(), "postgresql")),
                bindparam("ts", type_=UTCDateTime()),
            )
            when = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
            for task, index, tries, kind, payload in (
                ("t", -1, 1, "log", {"lines": lines_try1}),
                ("t", -1, 1, "task_state", {"state": "failed"}),
                ("t", -1, 2, "log", {"lines": lines_try2}),
                ("m", 3, 1, "log", {"lines": lines_try2}),
            ):
                connection.execute(
                    insert_event,
                    {"task": task, "index": index, "try": tries, "kind": kind, "ts": when,
                     "payload": payload},
                )  # fmt: skip
    finally:
        engine.dispose()

    with SqlStorage(empty_database_url, tmp_path / "storage") as store:  # migrates to head
        assert store.runs.get_run("old").state.value == "success"
        assert store.logs.log_tries("old", "t") == [1, 2]
        first = store.logs.read_lines("old", "t", -1, 1)
        assert [(line.seq, line.level, line.message) for line in first] == [
            (0, "INFO", "hello"),
            (1, "ERROR", "é"),
        ]
        assert first[0].timestamp == datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
        assert first[1].timestamp == datetime(2024, 3, 10, 12, 0, tzinfo=UTC)  # the event's
        (again,) = store.logs.read_lines("old", "t", -1, 2)
        assert again.timestamp == datetime(2024, 3, 10, 12, 5, 0, 250000, tzinfo=UTC)
        assert [line.message for line in store.logs.read_lines("old", "m", 3, 1)] == ["again"]
        kinds = [event.kind.value for event in store.events.read_events("old")]
        assert kinds == ["task_state"]  # the log events moved, the others stayed


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


def _walk_down_and_up(url: str) -> list[str]:
    """Upgrade to head, then downgrade one revision at a time to base and upgrade one at a
    time back to head; the revisions passed on the way down. Each step must succeed."""
    engine = create_sql_engine(url)
    try:
        upgrade(engine)
        script = ScriptDirectory.from_config(alembic_config())
        chain = [rev.revision for rev in script.walk_revisions()]  # head first
        seen = []
        for revision in chain:
            assert current_revision(engine) == revision
            seen.append(revision)
            with engine.begin() as connection:
                command.downgrade(alembic_config(connection), "-1")
        assert current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        for revision in reversed(chain):
            with engine.begin() as connection:
                command.upgrade(alembic_config(connection), "+1")
            assert current_revision(engine) == revision
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert list(compare_metadata(context, metadata)) == []
        return seen
    finally:
        engine.dispose()


@pytest.mark.slow
def test_every_revision_downgrades_and_upgrades_step_by_step_on_sqlite(sqlite_url: str) -> None:
    seen = _walk_down_and_up(sqlite_url)
    assert seen[0] == head_revision() and seen[-1] == "0001" and len(seen) == len(set(seen))


@pytest.mark.slow
@pytest.mark.postgres
def test_every_revision_downgrades_and_upgrades_step_by_step_on_postgres(
    pg_fresh_database_url: str,
) -> None:
    seen = _walk_down_and_up(pg_fresh_database_url)
    assert seen[0] == head_revision() and seen[-1] == "0001" and len(seen) == len(set(seen))
