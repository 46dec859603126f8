"""The run queue on SQL: queued rows of ``dag_run``, ``run_claim`` and ``scheduler_heartbeat``.

The design decision: a claim is one transaction. It selects the oldest queued
runs ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite's write lock, taken with
``BEGIN IMMEDIATE``, serializes claims instead), counts the running runs per
DAG for the limits (on PostgreSQL after locking those DAGs' rows of the DAG
table, so two schedulers never both count below ``max_active_runs``), and
marks the runs it starts running, together with their ``run_claim`` rows; a
run can therefore be started by one scheduler only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from msgspec.structs import replace
from sqlalchemy import Engine, Row, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from partita.definitions.states import RunState
from partita.storage.records import DagRunRecord
from partita.storage.run_queue import PoolRecord, PoolStore, RunClaim, RunQueue, SchedulerRecord
from partita.storage.sql.engine import WRITE_LOCK_OPTION
from partita.storage.sql.errors import connect
from partita.storage.sql.models import dag_run_table as runs
from partita.storage.sql.models import dag_table as dags
from partita.storage.sql.models import pool_table as pools
from partita.storage.sql.models import run_claim_table as claims
from partita.storage.sql.models import scheduler_heartbeat_table as heartbeats


def run_record(row: Row[Any]) -> DagRunRecord:
    """A ``dag_run`` row as a record."""
    return DagRunRecord(
        run_id=row.run_id,
        dag_id=row.dag_id,
        dag_version=row.dag_version,
        state=RunState(row.state),
        run_type=row.run_type,
        logical_date=row.logical_date,
        data_interval_start=row.data_interval_start,
        data_interval_end=row.data_interval_end,
        conf=row.conf,
        queued_at=row.queued_at,
        start_date=row.start_date,
        end_date=row.end_date,
        hostname=row.hostname,
        pid=row.pid,
        heartbeat_at=row.heartbeat_at,
        cancel_requested_at=row.cancel_requested_at,
        cancel_grace=row.cancel_grace,
        partition_key=row.partition_key,
    )


def run_values(run: DagRunRecord) -> dict[str, Any]:
    """A run record as the values of its ``dag_run`` row."""
    return {
        "run_id": run.run_id,
        "dag_id": run.dag_id,
        "dag_version": run.dag_version,
        "state": run.state.value,
        "run_type": run.run_type,
        "logical_date": run.logical_date,
        "data_interval_start": run.data_interval_start,
        "data_interval_end": run.data_interval_end,
        "conf": run.conf,
        "queued_at": run.queued_at,
        "start_date": run.start_date,
        "end_date": run.end_date,
        "hostname": run.hostname,
        "pid": run.pid,
        "heartbeat_at": run.heartbeat_at,
        "cancel_requested_at": run.cancel_requested_at,
        "cancel_grace": run.cancel_grace,
        "partition_key": run.partition_key,
    }


def insert_runs(connection: Connection, queued: Sequence[DagRunRecord]) -> list[str]:
    """Insert runs in the caller's transaction unless their ids are stored; the ids inserted."""
    dialect = connection.dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(runs)
    inserted: list[str] = []
    for run in queued:
        statement = insert.values(**run_values(run)).on_conflict_do_nothing()
        # RETURNING, not rowcount: psycopg reports -1 rows for a skipped upsert
        if connection.execute(statement.returning(runs.c.run_id)).first() is not None:
            inserted.append(run.run_id)
    return inserted


class _SqlRunClaim(RunClaim):
    def __init__(self, connection: Connection, scheduler_id: str) -> None:
        self._connection = connection
        self._scheduler_id = scheduler_id
        self.queued = []
        self.running = {}

    def start(self, run: DagRunRecord, now: datetime) -> DagRunRecord | None:
        change = (
            update(runs)
            .where(runs.c.run_id == run.run_id, runs.c.state == RunState.QUEUED.value)
            .values(state=RunState.RUNNING.value, start_date=now, pid=None)
        )
        if self._connection.execute(change).rowcount == 0:
            return None
        self._connection.execute(
            claims.insert().values(
                run_id=run.run_id, scheduler_id=self._scheduler_id, claimed_at=now
            )
        )
        self.running[run.dag_id] = self.running.get(run.dag_id, 0) + 1
        return replace(run, state=RunState.RUNNING, start_date=now, pid=None)


class SqlRunQueue(RunQueue):
    """The run queue in the metadata database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name

    @contextmanager
    def _transaction(self, operation: str) -> Iterator[Connection]:
        with connect(self._engine, operation) as connection:
            connection.execution_options(**{WRITE_LOCK_OPTION: True})
            with connection.begin():
                yield connection

    def enqueue(self, queued: Sequence[DagRunRecord]) -> list[str]:
        with self._transaction("queue runs") as connection:
            return insert_runs(connection, queued)

    @contextmanager
    def claim_queued_runs(self, scheduler_id: str, limit: int) -> Iterator[RunClaim]:
        query = (
            select(runs)
            .where(runs.c.state == RunState.QUEUED.value)
            .order_by(runs.c.queued_at, runs.c.run_id)
            .limit(limit)
        )
        if self._dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        counts = (
            select(runs.c.dag_id, func.count())
            .where(runs.c.state == RunState.RUNNING.value)
            .group_by(runs.c.dag_id)
        )
        with self._transaction("claim queued runs") as connection:
            claim = _SqlRunClaim(connection, scheduler_id)
            claim.queued = [run_record(row) for row in connection.execute(query)]
            if self._dialect == "postgresql" and claim.queued:
                # Hold the DAGs' rows, in one order, until the claim ends: a second
                # scheduler's claim of runs of the same DAGs waits here, then counts
                # what this one started, so max_active_runs holds across schedulers.
                dag_ids = sorted({run.dag_id for run in claim.queued})
                connection.execute(
                    select(dags.c.dag_id)
                    .where(dags.c.dag_id.in_(dag_ids))
                    .order_by(dags.c.dag_id)
                    .with_for_update()
                )
            claim.running = {row[0]: int(row[1]) for row in connection.execute(counts)}
            yield claim

    def claimed_runs(self, scheduler_id: str) -> list[str]:
        query = select(claims.c.run_id).where(claims.c.scheduler_id == scheduler_id)
        with connect(self._engine, "list the runs a scheduler drives") as connection:
            return sorted(connection.execute(query).scalars())

    def adopt_orphaned_runs(self, scheduler_id: str, live: Collection[str]) -> list[DagRunRecord]:
        query = (
            select(runs)
            .join(claims, claims.c.run_id == runs.c.run_id)
            .where(runs.c.state == RunState.RUNNING.value)
            .where(claims.c.scheduler_id.not_in(sorted(set(live) | {scheduler_id})))
        )
        if self._dialect == "postgresql":
            query = query.with_for_update(of=claims, skip_locked=True)
        with self._transaction("adopt the runs of dead schedulers") as connection:
            adopted = [run_record(row) for row in connection.execute(query)]
            if adopted:
                connection.execute(
                    update(claims)
                    .where(claims.c.run_id.in_([r.run_id for r in adopted]))
                    .values(scheduler_id=scheduler_id)
                )
        return adopted

    def release(self, run_id: str) -> None:
        with self._transaction(f"release run {run_id!r}") as connection:
            connection.execute(delete(claims).where(claims.c.run_id == run_id))

    def beat(self, record: SchedulerRecord) -> None:
        values = {
            "scheduler_id": record.scheduler_id,
            "hostname": record.hostname,
            "pid": record.pid,
            "started_at": record.started_at,
            "heartbeat_at": record.heartbeat_at,
        }
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        statement = insert(heartbeats).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[heartbeats.c.scheduler_id],
            set_={"heartbeat_at": statement.excluded.heartbeat_at},
        )
        with self._transaction("write the scheduler heartbeat") as connection:
            connection.execute(statement)

    def list_schedulers(self) -> list[SchedulerRecord]:
        query = select(heartbeats).order_by(heartbeats.c.heartbeat_at.desc())
        with connect(self._engine, "list the schedulers") as connection:
            return [
                SchedulerRecord(r.scheduler_id, r.hostname, r.pid, r.started_at, r.heartbeat_at)
                for r in connection.execute(query)
            ]

    def remove_scheduler(self, scheduler_id: str) -> None:
        with self._transaction("remove a scheduler heartbeat") as connection:
            connection.execute(delete(heartbeats).where(heartbeats.c.scheduler_id == scheduler_id))


class SqlPoolStore(PoolStore):
    """Pools in the ``pool`` table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name

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


__all__ = ["SqlPoolStore", "SqlRunQueue", "insert_runs", "run_record", "run_values"]
