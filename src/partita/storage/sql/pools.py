"""Pools on SQL: the ``pool`` table, and the ``pool_slot`` leases schedulers share.

The design decision: on PostgreSQL a claim of slots takes a transaction-level
advisory lock per pool (``pg_advisory_xact_lock``, in pool-name order, so two
claims never deadlock), then counts the leases and inserts its own before it
commits: two schedulers never both see the same free slot. ``default_pool``
needs no row to be locked that way. On SQLite the write lock (``BEGIN
IMMEDIATE``) serializes claims; there one scheduler runs per database (the
home lock), so schedulers count slots in memory (``shares_slots`` is False).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine, and_, delete, func, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from partita.storage.run_queue import PoolRecord, PoolStore, SlotClaim, SlotLease
from partita.storage.sql.errors import connect, write_transaction
from partita.storage.sql.models import pool_slot_table as leases
from partita.storage.sql.models import pool_table as pools

_LOCK_KEY = "partita-pool:"


def _delete(connection: Connection, keys: Sequence[tuple[str, str, int]]) -> None:
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        connection.execute(
            delete(leases).where(
                or_(
                    *(
                        and_(leases.c.run_id == r, leases.c.task_id == t, leases.c.map_index == m)
                        for r, t, m in chunk
                    )
                )
            )
        )


class _SqlSlotClaim(SlotClaim):
    def __init__(self, connection: Connection, scheduler_id: str, used: dict[str, int]) -> None:
        self._connection = connection
        self._scheduler_id = scheduler_id
        self.used = used

    def take(self, taken: Sequence[SlotLease]) -> None:
        if not taken:
            return
        postgres = self._connection.dialect.name == "postgresql"
        insert = postgresql.insert if postgres else sqlite.insert
        now = datetime.now(UTC)
        rows = [
            {
                "run_id": lease.run_id, "task_id": lease.task_id, "map_index": lease.map_index,
                "pool": lease.pool, "slots": lease.slots, "scheduler_id": self._scheduler_id,
                "taken_at": now,
            }
            for lease in taken
        ]  # fmt: skip
        statement = insert(leases).values(rows)
        statement = statement.on_conflict_do_update(
            index_elements=[leases.c.run_id, leases.c.task_id, leases.c.map_index],
            set_={
                "pool": statement.excluded.pool,
                "slots": statement.excluded.slots,
                "scheduler_id": statement.excluded.scheduler_id,
                "taken_at": statement.excluded.taken_at,
            },
        )
        self._connection.execute(statement)
        for lease in taken:
            self.used[lease.pool] = self.used.get(lease.pool, 0) + lease.slots


class SqlPoolStore(PoolStore):
    """Pools in the ``pool`` table; slot leases in ``pool_slot``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name
        self.shares_slots = self._dialect == "postgresql"

    def set_pool(self, pool: PoolRecord) -> None:
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        values = {"name": pool.name, "slots": pool.slots, "description": pool.description}
        statement = insert(pools).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[pools.c.name],
            set_={"slots": statement.excluded.slots, "description": statement.excluded.description},
        )
        with connect(self._engine, f"set pool {pool.name!r}") as connection, connection.begin():
            connection.execute(statement)

    def list_pools(self) -> list[PoolRecord]:
        with connect(self._engine, "list the pools") as connection:
            rows = connection.execute(select(pools).order_by(pools.c.name)).all()
        return [PoolRecord(r.name, r.slots, r.description) for r in rows]

    def delete_pool(self, name: str) -> bool:
        with connect(self._engine, f"delete pool {name!r}") as connection, connection.begin():
            deleted = connection.execute(delete(pools).where(pools.c.name == name))
        return bool(deleted.rowcount)

    def _transaction(self, operation: str) -> AbstractContextManager[Connection]:
        return write_transaction(self._engine, operation)

    @contextmanager
    def claim_slots(
        self,
        scheduler_id: str,
        pools: Collection[str],
        *,
        dead: Collection[str] = (),
        release: Sequence[tuple[str, str, int]] = (),
    ) -> Iterator[SlotClaim]:
        names = sorted(set(pools))
        with self._transaction("claim pool slots") as connection:
            if self._dialect == "postgresql":
                for name in names:
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                        {"key": _LOCK_KEY + name},
                    )
            if release:
                _delete(connection, list(release))
            query = (
                select(leases.c.pool, func.sum(leases.c.slots))
                .where(leases.c.pool.in_(names))
                .group_by(leases.c.pool)
            )
            if dead:
                query = query.where(leases.c.scheduler_id.not_in(sorted(dead)))
            used = {row[0]: int(row[1]) for row in connection.execute(query)}
            yield _SqlSlotClaim(connection, scheduler_id, used)

    def release_slots(self, keys: Sequence[tuple[str, str, int]]) -> None:
        if keys:
            with self._transaction("release pool slots") as connection:
                _delete(connection, list(keys))

    def release_run_slots(self, run_id: str) -> None:
        with self._transaction(f"release the pool slots of run {run_id!r}") as connection:
            connection.execute(delete(leases).where(leases.c.run_id == run_id))


__all__ = ["SqlPoolStore"]
