"""Revision 0024 (asset backfills): a database made at the revision before it, with a backfill
of dates in it, upgrades to head; the old backfill reads as a backfill of dates, and a new
one keeps its partition keys."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from migration_helpers import revision_before, upgrade_with

from partita.storage.backfills import BackfillStatus, PlannedAction, PlannedRun, Reprocess
from partita.storage.sql import SqlStorage, upgrade
from partita.storage.sql.migrate import head_revision

T = datetime(2024, 1, 1, tzinfo=UTC)


def _database_before_0024_with_a_backfill(url: str) -> None:
    before = revision_before("0024")
    upgrade_with(
        url,
        before,
        (
            "INSERT INTO backfill (backfill_id, dag_id, from_date, to_date, status, "
            "reprocess, max_active_runs, total, conf, created_at) VALUES ('bf-old', 'etl', "
            "'2024-01-01 00:00:00', '2024-01-01 00:00:00', 'running', 'none', 1, 1, '{}', "
            "'2024-01-01 00:00:00')"
        ),
        (
            "INSERT INTO backfill_run (backfill_id, ordinal, logical_date, "
            "data_interval_start, data_interval_end, run_id, action, done) VALUES ('bf-old', "
            "0, '2024-01-01 00:00:00', '2024-01-01 00:00:00', '2024-01-01 00:00:00', 'r0', "
            "'create', false)"
        ),
    )


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_database_before_0024_upgrades_and_keeps_its_backfills_of_dates(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_fresh_database_url")
    _database_before_0024_with_a_backfill(url)

    assert upgrade(url) == head_revision()

    with SqlStorage(url, tmp_path / "storage") as storage:
        old = storage.backfills.get("bf-old")
        assert (old.dag_id, old.status, old.partitions) == ("etl", BackfillStatus.RUNNING, None)
        [planned] = storage.backfills.pending("bf-old", 10)
        assert (planned.run_id, planned.partition_key) == ("r0", None)
        new = old.__class__(
            "bf-new", "__asset_job_a_0__", T, T, BackfillStatus.RUNNING, Reprocess.NONE, 1, 1, T,
            partitions="north...south",
        )  # fmt: skip
        storage.backfills.create(
            new, [PlannedRun("bf-new", 0, T, T, T, "r1", PlannedAction.CREATE, partition_key="x")]
        )
        assert storage.backfills.get("bf-new").partitions == "north...south"
        assert storage.backfills.pending("bf-new", 10)[0].partition_key == "x"
