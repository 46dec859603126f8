"""The asset catalog on SQL: reads of the ``asset_materialization`` and ``asset_check_evaluation``
tables.

Rows are written by the batch writer with the run's other records
(``writes.py``); this module only reads. The newest materialization of each
key (or check) is the row with the highest id for that key (and check name),
found with one grouped subquery over the ``(asset_key, [check_name,] id)`` index.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, Row, func, select

from partita.definitions.asset_key import AssetKey
from partita.storage.base import AssetCatalog
from partita.storage.records import (
    AssetCheckEvaluationRecord,
    AssetMaterializationRecord,
    AssetPartitionStatus,
    AssetPartitionStatusRecord,
)
from partita.storage.sql.errors import connect
from partita.storage.sql.models import asset_check_evaluation_table as checks
from partita.storage.sql.models import asset_materialization_table as table
from partita.storage.sql.models import asset_partition_table as partitions
from partita.storage.sql.writes import asset_key_text


def materialization_record(row: Row[Any]) -> AssetMaterializationRecord:
    """An ``asset_materialization`` row as a record."""
    values = row._mapping
    return AssetMaterializationRecord(
        asset_key=AssetKey(json.loads(values["asset_key"])),
        run_id=values["run_id"],
        task_id=values["task_id"],
        timestamp=values["timestamp"],
        metadata=values["metadata"] or {},
        code_version=values["code_version"],
        data_version=values["data_version"],
        location=values["location"],
        map_index=values["map_index"],
        id=values["id"],
        partition_key=values["partition_key"],
    )


def _evaluation(row: Row[Any]) -> AssetCheckEvaluationRecord:
    values = row._mapping
    return AssetCheckEvaluationRecord(
        asset_key=AssetKey(json.loads(values["asset_key"])),
        check_name=values["check_name"],
        run_id=values["run_id"],
        task_id=values["task_id"],
        timestamp=values["timestamp"],
        passed=bool(values["passed"]),
        severity=values["severity"],
        metadata=values["metadata"] or {},
        description=values["description"],
        id=values["id"],
    )


class SqlAssetCatalog(AssetCatalog):
    """Asset materializations from the ``asset_materialization`` table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def latest_materializations(
        self, asset_keys: Iterable[AssetKey] | None = None
    ) -> dict[AssetKey, AssetMaterializationRecord]:
        newest = select(func.max(table.c.id)).group_by(table.c.asset_key)
        if asset_keys is not None:
            texts = [asset_key_text(k) for k in asset_keys]
            if not texts:
                return {}
            newest = newest.where(table.c.asset_key.in_(texts))
        query = select(table).where(table.c.id.in_(newest.scalar_subquery()))
        with connect(self._engine, "read the asset catalog") as connection:
            rows = connection.execute(query).all()
        records = [materialization_record(row) for row in rows]
        return {r.asset_key: r for r in records}

    def list_materializations(
        self,
        asset_key: AssetKey | None = None,
        *,
        run_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AssetMaterializationRecord]:
        query = select(table)
        if asset_key is not None:
            query = query.where(table.c.asset_key == asset_key_text(asset_key))
        if run_id is not None:
            query = query.where(table.c.run_id == run_id)
        query = query.order_by(table.c.id.desc()).limit(limit).offset(offset)
        with connect(self._engine, "read asset materializations") as connection:
            return [materialization_record(row) for row in connection.execute(query)]

    def asset_keys(self) -> list[AssetKey]:
        query = select(table.c.asset_key).distinct()
        with connect(self._engine, "list the assets of the catalog") as connection:
            keys = [AssetKey(json.loads(text)) for text in connection.scalars(query)]
        return sorted(keys, key=lambda k: k.path)

    def latest_check_evaluations(
        self, asset_keys: Iterable[AssetKey] | None = None
    ) -> dict[tuple[AssetKey, str], AssetCheckEvaluationRecord]:
        newest = select(func.max(checks.c.id)).group_by(checks.c.asset_key, checks.c.check_name)
        if asset_keys is not None:
            texts = [asset_key_text(k) for k in asset_keys]
            if not texts:
                return {}
            newest = newest.where(checks.c.asset_key.in_(texts))
        query = select(checks).where(checks.c.id.in_(newest.scalar_subquery()))
        with connect(self._engine, "read the asset checks") as connection:
            records = [_evaluation(row) for row in connection.execute(query)]
        return {(r.asset_key, r.check_name): r for r in records}

    def list_check_evaluations(
        self,
        asset_key: AssetKey | None = None,
        *,
        run_id: str | None = None,
        limit: int = 100,
    ) -> list[AssetCheckEvaluationRecord]:
        query = select(checks)
        if asset_key is not None:
            query = query.where(checks.c.asset_key == asset_key_text(asset_key))
        if run_id is not None:
            query = query.where(checks.c.run_id == run_id)
        query = query.order_by(checks.c.id.desc()).limit(limit)
        with connect(self._engine, "read asset check evaluations") as connection:
            return [_evaluation(row) for row in connection.execute(query)]

    def partition_statuses(self, asset_key: AssetKey) -> dict[str, AssetPartitionStatusRecord]:
        query = select(partitions).where(partitions.c.asset_key == asset_key_text(asset_key))
        with connect(self._engine, "read the partitions of an asset") as connection:
            rows = connection.execute(query).all()
        return {
            row.partition_key: AssetPartitionStatusRecord(
                asset_key, row.partition_key, AssetPartitionStatus(row.status), row.run_id,
                row.timestamp,
            )
            for row in rows
        }  # fmt: skip


__all__ = ["SqlAssetCatalog", "materialization_record"]
