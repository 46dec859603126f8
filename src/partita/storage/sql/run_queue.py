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
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

from msgspec.structs import replace
from sqlalchemy import Engine, Row, Select, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from partita.definitions.states import RunState
from partita.storage.records import DagRunRecord
from partita.storage.run_queue import RunClaim, RunQueue, SchedulerRecord
from partita.storage.sql.errors import connect, write_transaction
from partita.storage.sql.models import dag_run_table as runs
from partita.storage.sql.models import dag_table as dags
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
        tags=row.tags,
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
        "tags": run.tags,
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


#: Oldest first: by queued_at, then logical date (none last), then run id.
_QUEUE_ORDER = (runs.c.queued_at, runs.c.logical_date.asc().nulls_last(), runs.c.run_id)


def _running_counts(connection: Connection, dag_ids: Collection[str] | None) -> dict[str, int]:
    """How many runs of each DAG (of ``dag_ids``; None: of all) are running."""
    query = select(runs.c.dag_id, func.count()).where(runs.c.state == RunState.RUNNING.value)
    if dag_ids is not None:
        query = query.where(runs.c.dag_id.in_(sorted(dag_ids)))
    return {row[0]: int(row[1]) for row in connection.execute(query.group_by(runs.c.dag_id))}


class _SqlRunClaim(RunClaim):
    """On PostgreSQL the rows of the claimed runs' DAGs are locked (in one order) before
    their running runs are counted: a second scheduler's claim of runs of the same DAGs
    waits, then counts what this one started, so ``max_active_runs`` holds across them."""

    def __init__(self, connection: Connection, scheduler_id: str, query: Select[Any]) -> None:
        self._connection = connection
        self._scheduler_id = scheduler_id
        self._query = query
        self._locked: set[str] = set()
        self._offset = 0
        self.queued = []
        self.running = {}

    def fetch(self, limit: int) -> list[DagRunRecord]:
        """The next ``limit`` queued runs, their DAGs locked and counted (PostgreSQL).

        The first page waits for its DAGs' locks; later pages skip the runs of DAGs
        another claim holds (waiting there could deadlock two claims)."""
        page = self._query.limit(limit).offset(self._offset)
        found = [run_record(row) for row in self._connection.execute(page)]
        self._offset += len(found)
        new = sorted({run.dag_id for run in found} - self._locked)
        if new and self._connection.dialect.name == "postgresql":
            lock = select(dags.c.dag_id).where(dags.c.dag_id.in_(new)).order_by(dags.c.dag_id)
            first = not self._locked and not self.queued
            lock = lock.with_for_update() if first else lock.with_for_update(skip_locked=True)
            held = set(self._connection.execute(lock).scalars())
            registered = (
                set(
                    self._connection.execute(
                        select(dags.c.dag_id).where(dags.c.dag_id.in_(new))
                    ).scalars()
                )
                if not first
                else held
            )
            busy = registered - held  # another claim holds them: leave their runs
            found = [run for run in found if run.dag_id not in busy]
            self._locked.update(held)
            self.running.update(_running_counts(self._connection, held))
        self.queued.extend(found)
        return found

    def more(self, limit: int) -> list[DagRunRecord]:
        return self.fetch(limit)

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

    def _transaction(self, operation: str) -> AbstractContextManager[Connection]:
        return write_transaction(self._engine, operation)

    def enqueue(self, queued: Sequence[DagRunRecord]) -> list[str]:
        with self._transaction("queue runs") as connection:
            return insert_runs(connection, queued)

    def has_queued(self) -> bool:
        query = select(runs.c.run_id).where(runs.c.state == RunState.QUEUED.value).limit(1)
        with connect(self._engine, "look for queued runs") as connection:
            return connection.execute(query).first() is not None

    @contextmanager
    def claim_queued_runs(self, scheduler_id: str, limit: int) -> Iterator[RunClaim]:
        query = select(runs).where(runs.c.state == RunState.QUEUED.value).order_by(*_QUEUE_ORDER)
        if self._dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        with self._transaction("claim queued runs") as connection:
            claim = _SqlRunClaim(connection, scheduler_id, query)
            claim.fetch(limit)
            claim.running = {**_running_counts(connection, None), **claim.running}
            yield claim

    def claimed_runs(self, scheduler_id: str) -> list[str]:
        query = select(claims.c.run_id).where(claims.c.scheduler_id == scheduler_id)
        with connect(self._engine, "list the runs a scheduler drives") as connection:
            return sorted(connection.execute(query).scalars())

    def owners(self, run_ids: Collection[str]) -> dict[str, str]:
        if not run_ids:
            return {}
        query = select(claims.c.run_id, claims.c.scheduler_id).where(
            claims.c.run_id.in_(sorted(run_ids))
        )
        with connect(self._engine, "find who drives the runs") as connection:
            return {row[0]: row[1] for row in connection.execute(query)}

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


__all__ = ["SqlRunQueue", "insert_runs", "run_record", "run_values"]
