"""The dynamic partitions store on SQL: the ``dynamic_partition`` table.

The design decision: one row per (definition, key) with a unique index on the
pair, so adding a key twice (two sensors at once) inserts it once (``ON
CONFLICT DO NOTHING``), "is this a key" is one indexed lookup, and the
autoincrement id keeps the order the keys were added in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from partita.storage.base import DynamicPartitionStore
from partita.storage.memory_partitions import checked_keys
from partita.storage.sql.errors import connect
from partita.storage.sql.models import dynamic_partition_table as table


class SqlDynamicPartitions(DynamicPartitionStore):
    """Keys of dynamic partitions definitions in the ``dynamic_partition`` table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def add_partitions(self, partitions_def_name: str, partition_keys: Sequence[str]) -> list[str]:
        keys = checked_keys(partitions_def_name, partition_keys)
        if not keys:
            return []
        now = datetime.now(UTC)
        rows = [
            {"partitions_def": partitions_def_name, "partition_key": k, "created_at": now}
            for k in keys
        ]
        statement = self._insert(table).on_conflict_do_nothing(
            index_elements=[table.c.partitions_def, table.c.partition_key]
        )
        what = f"add partitions to {partitions_def_name!r}"
        with connect(self._engine, what) as connection, connection.begin():
            known = set(self._existing(connection, partitions_def_name, keys))
            added = [k for k in keys if k not in known]
            if added:
                connection.execute(statement, [r for r in rows if r["partition_key"] in added])
        return added

    def delete_partitions(
        self, partitions_def_name: str, partition_keys: Sequence[str]
    ) -> list[str]:
        keys = checked_keys(partitions_def_name, partition_keys)
        what = f"delete partitions of {partitions_def_name!r}"
        with connect(self._engine, what) as connection, connection.begin():
            found = set(self._existing(connection, partitions_def_name, keys))
            connection.execute(
                delete(table).where(
                    table.c.partitions_def == partitions_def_name,
                    table.c.partition_key.in_(keys),
                )
            )
        return [k for k in keys if k in found]

    @staticmethod
    def _existing(connection: object, name: str, keys: list[str]) -> list[str]:
        query = select(table.c.partition_key).where(
            table.c.partitions_def == name, table.c.partition_key.in_(keys)
        )
        return list(connection.scalars(query))  # type: ignore[attr-defined]

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        query = (
            select(table.c.partition_key)
            .where(table.c.partitions_def == partitions_def_name)
            .order_by(table.c.id)
        )
        with connect(self._engine, f"read the partitions of {partitions_def_name!r}") as c:
            return list(c.scalars(query))

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        query = select(table.c.id).where(
            table.c.partitions_def == partitions_def_name, table.c.partition_key == partition_key
        )
        with connect(self._engine, f"read the partitions of {partitions_def_name!r}") as c:
            return c.execute(query).first() is not None

    def partitions_def_names(self) -> dict[str, int]:
        query = (
            select(table.c.partitions_def, func.count())
            .group_by(table.c.partitions_def)
            .order_by(table.c.partitions_def)
        )
        with connect(self._engine, "list the dynamic partitions definitions") as connection:
            return {name: count for name, count in connection.execute(query)}


__all__ = ["SqlDynamicPartitions"]
