"""Revision 0017 (automation cursors): a database at the revision before it, with asset events
in it, upgrades to head; the events already there are then read as asset events."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from migration_helpers import revision_before
from sqlalchemy import inspect

from partita.definitions.asset_key import AssetKey
from partita.storage.sql import SqlStorage, create_sql_engine, upgrade
from partita.storage.sql.migrate import alembic_config, head_revision

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _database_before_0017_with_events(url: str) -> None:
    engine = create_sql_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision_before("0017"))
            for n in (1, 2):
                connection.exec_driver_sql(
                    "INSERT INTO asset_materialization (asset_key, run_id, task_id, map_index, "
                    "timestamp, metadata) VALUES ('[\"s3\",\"orders\"]', 'old', 'write', -1, "
                    f"'2024-06-0{n} 00:00:00', '{{\"n\": {n}}}')"
                )
        assert "automation_cursor" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_database_before_0017_upgrades_and_keeps_its_asset_events(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_fresh_database_url")
    _database_before_0017_with_events(url)

    assert upgrade(url) == head_revision()

    with SqlStorage(url, tmp_path / "storage") as storage:
        events = storage.automation.events_after(0, [AssetKey(["s3", "orders"])])
        assert [e.metadata for e in events] == [{"n": 1}, {"n": 2}]
        assert storage.automation.last_event_id() == events[-1].id
        assert storage.automation.advance("dag:consumer", None, {"event_id": 2}, [], T0)
        assert storage.automation.get_cursor("dag:consumer").version == 1  # type: ignore[union-attr]
