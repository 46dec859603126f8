"""The asset catalog contract: every backend (memory, SQLite, PostgreSQL) behaves the same.

Also the migration that adds the catalog to a database created by an older partita.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from msgspec.structs import replace
from sqlalchemy import inspect

from partita.definitions.asset_key import AssetKey
from partita.definitions.states import RunState
from partita.storage.base import Storage
from partita.storage.records import (
    AssetCheckEvaluationRecord,
    AssetMaterializationRecord,
    DagRunRecord,
    WriteBatch,
)
from partita.storage.sql import SqlStorage, create_sql_engine
from partita.storage.sql.migrate import alembic_config, current_revision, head_revision

T0 = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


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
    assert replace(got, id=None) == record
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
    second_page = storage.assets.list_materializations(ORDERS, limit=2, offset=2)
    assert [m.run_id for m in second_page] == ["r2", "r1"]
    assert storage.assets.list_materializations(ORDERS, limit=2, offset=5) == []


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
        assert current_revision(engine) == head_revision()
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0001")
        assert "asset_materialization" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


# -- asset check evaluations ---------------------------------------------------------------


def evaluation(
    key: AssetKey, name: str, run_id: str, passed: bool = True, **rest: object
) -> AssetCheckEvaluationRecord:
    return AssetCheckEvaluationRecord(
        key, name, run_id, f"{key.to_task_id()}__check__{name}", T0, passed,
        **rest,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_check_evaluation_reads_back_with_every_field(storage: Storage) -> None:
    record = evaluation(
        ORDERS, "has_rows", "r1", False, severity="WARN",
        metadata={"rows": 0, "path": {"type": "path", "value": "/x"}}, description="no rows",
    )  # fmt: skip
    storage.write(WriteBatch(check_evaluations=[record]))
    (got,) = storage.assets.list_check_evaluations(ORDERS)
    assert got.id is not None
    assert replace(got, id=None) == record
    assert got.passed is False and isinstance(got.asset_key, AssetKey)


def test_latest_check_evaluation_is_the_last_written_per_asset_and_check(storage: Storage) -> None:
    storage.write(
        WriteBatch(
            check_evaluations=[
                evaluation(ORDERS, "has_rows", "r1", False),
                evaluation(ORDERS, "unique", "r1"),
                evaluation(USERS, "has_rows", "r1"),
            ]
        )
    )
    storage.write(WriteBatch(check_evaluations=[evaluation(ORDERS, "has_rows", "r2", True)]))
    latest = storage.assets.latest_check_evaluations()
    assert set(latest) == {(ORDERS, "has_rows"), (ORDERS, "unique"), (USERS, "has_rows")}
    assert (latest[(ORDERS, "has_rows")].run_id, latest[(ORDERS, "has_rows")].passed) == (
        "r2",
        True,
    )
    only = storage.assets.latest_check_evaluations([USERS, AssetKey("never")])
    assert list(only) == [(USERS, "has_rows")]
    assert storage.assets.latest_check_evaluations([]) == {}


def test_check_history_is_newest_first_and_filters_by_key_run_and_limit(storage: Storage) -> None:
    for i in range(3):
        storage.write(WriteBatch(check_evaluations=[evaluation(ORDERS, "c", f"r{i}")]))
    storage.write(WriteBatch(check_evaluations=[evaluation(USERS, "c", "r2")]))
    assert [e.run_id for e in storage.assets.list_check_evaluations(ORDERS)] == ["r2", "r1", "r0"]
    assert [e.run_id for e in storage.assets.list_check_evaluations(ORDERS, limit=1)] == ["r2"]
    by_run = storage.assets.list_check_evaluations(run_id="r2")
    assert [e.asset_key for e in by_run] == [USERS, ORDERS]


def test_upgrading_a_0002_database_adds_the_check_table_and_keeps_runs_and_assets(
    sqlite_url: str, tmp_path: Path
) -> None:
    engine = create_sql_engine(sqlite_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0002")
        assert "asset_check_evaluation" not in inspect(engine).get_table_names()
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO dag_run (run_id, dag_id, dag_version, state, run_type, conf) "
                "VALUES ('old', 'etl', 'v', 'success', 'manual', '{}')"
            )
            connection.exec_driver_sql(
                "INSERT INTO asset_materialization (asset_key, run_id, task_id, map_index, "
                "timestamp, metadata, data_version) VALUES ('[\"users\"]', 'old', 'users', -1, "
                "'2024-03-10 12:00:00.000000', '{}', 'd1')"
            )
    finally:
        engine.dispose()
    with SqlStorage(sqlite_url, tmp_path / "storage") as store:  # migrates to head on open
        assert store.runs.get_run("old").state is RunState.SUCCESS
        assert store.assets.latest_materializations()[USERS].data_version == "d1"
        store.write(WriteBatch(check_evaluations=[evaluation(USERS, "has_rows", "old")]))
        assert store.assets.latest_check_evaluations()[(USERS, "has_rows")].passed is True
    engine = create_sql_engine(sqlite_url)
    try:
        assert current_revision(engine) == head_revision()
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0002")
        assert "asset_check_evaluation" not in inspect(engine).get_table_names()
        assert "asset_materialization" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
