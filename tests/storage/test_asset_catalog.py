"""The asset catalog contract: every backend (memory, SQLite, PostgreSQL) behaves the same.

Also the migration that adds the catalog to a database created by an older partita.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect

from partita.definitions.asset_key import AssetKey
from partita.definitions.states import RunState
from partita.storage.base import Storage
from partita.storage.memory import MemoryStorage
from partita.storage.records import AssetMaterializationRecord, DagRunRecord, WriteBatch
from partita.storage.sql import SqlStorage, create_sql_engine
from partita.storage.sql.migrate import alembic_config, current_revision, head_revision

T0 = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "memory":
        yield MemoryStorage()
        return
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("pg_clean_database_url")
    with SqlStorage(url, tmp_path / "storage") as store:
        yield store


def materialization(
    key: AssetKey, run_id: str, minutes: int = 0, **rest: object
) -> AssetMaterializationRecord:
    return AssetMaterializationRecord(
        key,
        run_id,
        key.to_task_id(),
        T0 + timedelta(minutes=minutes),
        **rest,  # type: ignore[arg-type]
    )


ORDERS = AssetKey(["sales", "orders"])
USERS = AssetKey("users")


def test_a_materialization_reads_back_with_every_field(storage: Storage) -> None:
    record = materialization(
        ORDERS,
        "r1",
        metadata={"rows": 3, "path": {"type": "path", "value": "/x"}, "nested": [1, {"a": None}]},
        code_version="v2",
        data_version="abc123",
        location="/data/sales/orders.pkl",
        map_index=-1,
    )
    storage.write(WriteBatch(materializations=[record]))
    (got,) = storage.assets.list_materializations(ORDERS)
    assert got.id is not None
    got.id = None
    assert got == record
    assert isinstance(got.asset_key, AssetKey)


def test_latest_is_the_last_written_per_key(storage: Storage) -> None:
    storage.write(
        WriteBatch(materializations=[materialization(ORDERS, "r1"), materialization(USERS, "r1")])
    )
    storage.write(
        WriteBatch(materializations=[materialization(ORDERS, "r2", 5, data_version="new")])
    )
    latest = storage.assets.latest_materializations()
    assert set(latest) == {ORDERS, USERS}
    assert (latest[ORDERS].run_id, latest[ORDERS].data_version) == ("r2", "new")
    assert latest[ORDERS].id > latest[USERS].id  # type: ignore[operator]
    only = storage.assets.latest_materializations([USERS, AssetKey("never")])
    assert list(only) == [USERS]
    assert storage.assets.latest_materializations([]) == {}


def test_history_is_newest_first_and_filters_by_key_run_and_limit(storage: Storage) -> None:
    for i in range(5):
        storage.write(WriteBatch(materializations=[materialization(ORDERS, f"r{i}", i)]))
    storage.write(WriteBatch(materializations=[materialization(USERS, "r4", 9)]))
    history = storage.assets.list_materializations(ORDERS)
    assert [m.run_id for m in history] == ["r4", "r3", "r2", "r1", "r0"]
    assert [m.run_id for m in storage.assets.list_materializations(ORDERS, limit=2)] == ["r4", "r3"]
    by_run = storage.assets.list_materializations(run_id="r4")
    assert [m.asset_key for m in by_run] == [USERS, ORDERS]
    assert storage.assets.list_materializations(AssetKey("nothing")) == []


def test_asset_keys_are_every_key_ever_materialized_sorted(storage: Storage) -> None:
    assert storage.assets.asset_keys() == []
    storage.write(
        WriteBatch(materializations=[materialization(USERS, "r"), materialization(ORDERS, "r")])
    )
    assert storage.assets.asset_keys() == [ORDERS, USERS]


def test_materializations_commit_with_the_rest_of_their_batch(storage: Storage) -> None:
    run = DagRunRecord("r1", "assets", "v1", RunState.SUCCESS, queued_at=T0)
    storage.write(WriteBatch(runs=[run], materializations=[materialization(ORDERS, "r1")]))
    assert storage.runs.get_run("r1").state is RunState.SUCCESS
    assert storage.assets.latest_materializations()[ORDERS].run_id == "r1"


def test_the_catalog_survives_reopening_the_database(sqlite_url: str, tmp_path: Path) -> None:
    with SqlStorage(sqlite_url, tmp_path / "storage") as store:
        store.write(WriteBatch(materializations=[materialization(ORDERS, "r1", data_version="d")]))
    with SqlStorage(sqlite_url, tmp_path / "storage") as reopened:
        assert reopened.assets.latest_materializations()[ORDERS].data_version == "d"


def test_upgrading_a_0001_database_adds_the_catalog_and_keeps_its_runs(
    sqlite_url: str, tmp_path: Path
) -> None:
    engine = create_sql_engine(sqlite_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0001")
        assert current_revision(engine) == "0001"
        assert "asset_materialization" not in inspect(engine).get_table_names()
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO dag_run (run_id, dag_id, dag_version, state, run_type, conf) "
                "VALUES ('old', 'etl', 'v', 'success', 'manual', '{}')"
            )
    finally:
        engine.dispose()
    with SqlStorage(sqlite_url, tmp_path / "storage") as store:  # migrates to head on open
        assert store.runs.get_run("old").state is RunState.SUCCESS
        store.write(WriteBatch(materializations=[materialization(USERS, "old")]))
        assert store.assets.asset_keys() == [USERS]
    engine = create_sql_engine(sqlite_url)
    try:
        assert current_revision(engine) == head_revision() == "0003"
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0001")
        assert "asset_materialization" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
