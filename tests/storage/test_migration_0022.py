"""Revision 0022 (run tags, index on dag_run(dag_id, logical_date)): a database made at the
revision before it, with a run in it, upgrades to head; the old run has no tags, new runs keep
theirs and are found by them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from migration_helpers import OLD_RUN, revision_before, upgrade_with

from partita.definitions.states import RunState
from partita.storage.records import DagRunRecord
from partita.storage.sql import SqlStorage, create_sql_engine, upgrade
from partita.storage.sql.migrate import head_revision


def _database_before_0022_with_a_run(url: str) -> None:
    upgrade_with(
        url,
        revision_before("0022"),
        OLD_RUN,
        (
            "INSERT INTO task_instance (run_id, task_id, map_index, try_number, max_tries, "
            "state, operator) VALUES ('old', 'load', -1, 1, 0, 'success', 'PythonOperator')"
        ),
    )


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_database_before_0022_upgrades_with_empty_tags_and_the_new_index(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_fresh_database_url")
    _database_before_0022_with_a_run(url)

    assert upgrade(url) == head_revision()

    engine = create_sql_engine(url)
    try:
        indexes = {i["name"] for i in sa.inspect(engine).get_indexes("dag_run")}
    finally:
        engine.dispose()
    assert "ix_dag_run_dag_id_logical_date" in indexes
    with SqlStorage(url, tmp_path / "storage") as storage:
        assert storage.runs.get_run("old").tags == {}
        assert [ti.task_id for ti in storage.runs.get_task_instances("old")] == ["load"]
        run = DagRunRecord(
            "new", "etl", "v", RunState.QUEUED, queued_at=datetime.now(UTC), tags={"team": "a"}
        )
        storage.queue.enqueue([run])
        assert storage.runs.get_run("new").tags == {"team": "a"}
        assert [r.run_id for r in storage.runs.list_runs("etl", tags={"team": "a"})] == ["new"]
