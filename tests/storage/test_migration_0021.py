"""Revision 0021 (task instance claims): a database made at the revision before it, with a
task instance in it, upgrades to head and its try can be claimed once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from migration_helpers import revision_before, upgrade_with

from partita.definitions.states import TaskState
from partita.storage.sql import SqlStorage, upgrade
from partita.storage.sql.migrate import head_revision


def _database_before_0021_with_a_task_instance(url: str) -> None:
    before = revision_before("0021")
    upgrade_with(
        url,
        before,
        (
            "INSERT INTO dag_run (run_id, dag_id, dag_version, state, run_type, conf) "
            "VALUES ('old', 'etl', 'v', 'running', 'manual', '{}')"
        ),
        (
            "INSERT INTO task_instance (run_id, task_id, map_index, try_number, max_tries, "
            "state, operator) VALUES ('old', 'load', -1, 1, 0, 'queued', 'PythonOperator')"
        ),
    )


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_database_before_0021_upgrades_and_its_queued_try_is_claimed_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_fresh_database_url")
    _database_before_0021_with_a_task_instance(url)

    assert upgrade(url) == head_revision()

    with SqlStorage(url, tmp_path / "storage") as storage:
        assert storage.task_instance_claims("old") == {}
        now = datetime.now(UTC)
        assert storage.claim_task_instance("old", "load", -1, 1, "node-a", now)
        assert not storage.claim_task_instance("old", "load", -1, 1, "node-b", now)
        [ti] = storage.runs.get_task_instances("old")
        assert (ti.state, ti.hostname, ti.operator) == (
            TaskState.RUNNING,
            "node-a",
            "PythonOperator",
        )
        assert storage.task_instance_claims("old") == {("load", -1): (1, "node-a")}
