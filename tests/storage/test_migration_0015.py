"""Revision 0015 (partitions): a database at the revision before it, with data, upgrades."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from migration_helpers import OLD_RUN, revision_before, upgrade_with
from msgspec.structs import replace

from partita.definitions.asset_key import AssetKey
from partita.storage.records import (
    AssetMaterializationRecord,
    AssetPartitionStatus,
    AssetPartitionStatusRecord,
    WriteBatch,
)
from partita.storage.sql import SqlStorage, upgrade
from partita.storage.sql.migrate import head_revision

NOW = datetime(2024, 1, 2, tzinfo=UTC)


def _database_before_0015_with_data(url: str) -> None:
    before = revision_before("0015")
    upgrade_with(
        url,
        before,
        OLD_RUN,
        (
            "INSERT INTO asset_materialization (asset_key, run_id, task_id, map_index, "
            "timestamp, metadata) VALUES ('[\"events\"]', 'old', 'events', -1, "
            "'2024-01-01 00:00:00', '{}')"
        ),
    )


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_database_before_0015_upgrades_and_takes_partitions(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_fresh_database_url")
    _database_before_0015_with_data(url)

    assert upgrade(url) == head_revision()

    with SqlStorage(url, tmp_path / "storage") as storage:
        old = storage.runs.get_run("old")
        assert old.partition_key is None
        (materialization,) = storage.assets.list_materializations(AssetKey(["events"]))
        assert materialization.partition_key is None
        partitioned = replace(old, run_id="new", partition_key="2024-01-01")
        status = AssetPartitionStatusRecord(
            AssetKey(["events"]), "2024-01-01", AssetPartitionStatus.MATERIALIZED, "new", NOW
        )
        record = AssetMaterializationRecord(
            AssetKey(["events"]), "new", "events", NOW, partition_key="2024-01-01"
        )
        storage.write(
            WriteBatch(runs=[partitioned], materializations=[record], partition_statuses=[status])
        )
        assert storage.runs.get_run("new").partition_key == "2024-01-01"
        assert storage.assets.partition_statuses(AssetKey(["events"])) == {"2024-01-01": status}
        assert storage.partitions.add_partitions("files", ["a"]) == ["a"]
