"""``SqlStorage``: partita's persistent metadata store on SQLite or PostgreSQL.

The design decision: a ``WriteBatch`` becomes at most five driver-level
statements in one transaction, one per table, each carrying all its rows
(``writes.BatchWriter``: pre-rendered SQL, rows converted without
SQLAlchemy's per-parameter machinery), so the cost per task is a few rows,
not a round trip per row. On SQLite the transaction starts with ``BEGIN
IMMEDIATE`` so concurrent writers queue on the busy timeout. Reads are plain
Core selects turned into the records of ``partita.storage.records``. Event
payloads and run conf are JSON: values JSON cannot hold are stored as text
(datetimes as ISO 8601).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Row, select
from sqlalchemy.engine import URL

from partita.definitions.states import RunState, TaskState
from partita.exceptions import RunNotFoundError
from partita.settings import DEFAULT_INLINE_OUTPUT_LIMIT, Settings
from partita.storage.base import DagStore, EventLog, RunStore, Storage
from partita.storage.records import (
    DagRunRecord,
    DagVersionRecord,
    EventKind,
    EventRecord,
    TaskInstanceRecord,
    WriteBatch,
)
from partita.storage.sql.engine import WRITE_LOCK_OPTION, create_sql_engine
from partita.storage.sql.errors import connect, wrap_db_errors
from partita.storage.sql.migrate import ensure_schema
from partita.storage.sql.models import (
    dag_run_table,
    dag_version_table,
    event_table,
    task_instance_table,
)
from partita.storage.sql.outputs import SqlOutputStore
from partita.storage.sql.writes import BatchWriter


class SqlRunStore(RunStore):
    """Runs and task instances from ``dag_run`` and ``task_instance``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get_run(self, run_id: str) -> DagRunRecord:
        query = select(dag_run_table).where(dag_run_table.c.run_id == run_id)
        with connect(self._engine, f"read run {run_id!r}") as connection:
            row = connection.execute(query).one_or_none()
        if row is None:
            raise RunNotFoundError(
                f"no run with id {run_id!r}; 'partita runs list' shows the known runs"
            )
        return _run_record(row)

    def list_runs(
        self,
        dag_id: str | None = None,
        *,
        states: Iterable[RunState] | None = None,
        limit: int = 50,
    ) -> list[DagRunRecord]:
        runs = dag_run_table.c
        query = select(dag_run_table)
        if dag_id is not None:
            query = query.where(runs.dag_id == dag_id)
        if states is not None:
            query = query.where(runs.state.in_([str(s) for s in states]))
        query = query.order_by(runs.queued_at.desc().nulls_last(), runs.run_id.desc()).limit(limit)
        with connect(self._engine, "list runs") as connection:
            return [_run_record(row) for row in connection.execute(query)]

    def get_task_instances(self, run_id: str) -> list[TaskInstanceRecord]:
        query = select(task_instance_table).where(task_instance_table.c.run_id == run_id)
        with connect(self._engine, f"read the task instances of run {run_id!r}") as connection:
            records = [_task_instance_record(row) for row in connection.execute(query)]
        records.sort(key=lambda ti: (ti.task_id, ti.map_index))
        return records


class SqlEventLog(EventLog):
    """The append-only ``event_log`` table, read in id order."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def read_events(
        self,
        run_id: str,
        *,
        task_id: str | None = None,
        map_index: int | None = None,
        kinds: Sequence[EventKind] | None = None,
        after_id: int | None = None,
    ) -> list[EventRecord]:
        events = event_table.c
        query = select(event_table).where(events.run_id == run_id)
        if task_id is not None:
            query = query.where(events.task_id == task_id)
        if map_index is not None:
            query = query.where(events.map_index == map_index)
        if kinds is not None:
            query = query.where(events.kind.in_([str(k) for k in kinds]))
        if after_id is not None:
            query = query.where(events.id > after_id)
        query = query.order_by(events.id)
        with connect(self._engine, f"read the events of run {run_id!r}") as connection:
            return [_event_record(row) for row in connection.execute(query)]


class SqlDagStore(DagStore):
    """Serialized DAG versions from ``dag_version``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get_dag_version(self, dag_id: str, version: str) -> DagVersionRecord | None:
        versions = dag_version_table.c
        query = select(dag_version_table).where(
            versions.dag_id == dag_id, versions.version == version
        )
        with connect(self._engine, f"read DAG {dag_id!r} version {version!r}") as connection:
            row = connection.execute(query).one_or_none()
        if row is None:
            return None
        return DagVersionRecord(row.dag_id, row.version, row.serialized, row.created_at)


class SqlStorage(Storage):
    """The metadata store on a SQL database; migrates the schema to head when opened."""

    persistent = True

    def __init__(
        self,
        url_or_engine: str | URL | Engine,
        storage_dir: Path,
        inline_output_limit: int = DEFAULT_INLINE_OUTPUT_LIMIT,
    ) -> None:
        self.engine: Engine
        if isinstance(url_or_engine, Engine):
            self.engine, self._owns_engine = url_or_engine, False
        else:
            self.engine, self._owns_engine = create_sql_engine(url_or_engine), True
        try:
            ensure_schema(self.engine)
        except BaseException:
            self.close()
            raise
        self.runs = SqlRunStore(self.engine)
        self.events = SqlEventLog(self.engine)
        self.outputs = SqlOutputStore(self.engine, storage_dir, inline_output_limit)
        self.dags = SqlDagStore(self.engine)
        self._writer = BatchWriter(self.engine.dialect)

    @classmethod
    def from_settings(cls, settings: Settings) -> SqlStorage:
        """The store ``settings`` name: its database URL, storage folder and inline limit."""
        return cls(settings.database_url, settings.storage_dir, settings.inline_output_limit)

    def write(self, batch: WriteBatch) -> None:
        if not batch:
            return
        with wrap_db_errors(self.engine.url, lambda: f"write {_describe_batch(batch)}"):
            rows = self._writer.prepare(batch)
            with self.engine.connect() as connection:
                connection.execution_options(**{WRITE_LOCK_OPTION: True})
                with connection.begin():
                    event_ids = self._writer.execute(connection, rows)
        for event, event_id in zip(batch.events, event_ids, strict=True):
            event.id = event_id

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    def __repr__(self) -> str:
        return f"SqlStorage({self.engine.url.render_as_string(hide_password=True)!r})"


def _describe_batch(batch: WriteBatch) -> str:
    counts = [
        f"{len(items)} {name}"
        for name, items in (
            ("runs", batch.runs),
            ("task instances", batch.task_instances),
            ("events", batch.events),
            ("outputs", batch.outputs),
            ("DAG versions", batch.dag_versions),
        )
        if items
    ]
    run_ids = {r.run_id for r in batch.runs}
    run_ids.update(t.run_id for t in batch.task_instances)
    run_ids.update(e.run_id for e in batch.events)
    if len(run_ids) == 1:
        return f"a batch of run {run_ids.pop()!r} ({', '.join(counts)})"
    return f"a batch of {len(run_ids)} runs ({', '.join(counts)})"


def _run_record(row: Row[Any]) -> DagRunRecord:
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
    )


def _task_instance_record(row: Row[Any]) -> TaskInstanceRecord:
    return TaskInstanceRecord(
        run_id=row.run_id,
        task_id=row.task_id,
        map_index=row.map_index,
        try_number=row.try_number,
        max_tries=row.max_tries,
        state=TaskState(row.state),
        operator=row.operator,
        start_date=row.start_date,
        end_date=row.end_date,
        duration=row.duration,
        hostname=row.hostname,
        retry_at=row.retry_at,
    )


def _event_record(row: Row[Any]) -> EventRecord:
    return EventRecord(
        run_id=row.run_id,
        kind=EventKind(row.kind),
        timestamp=row.timestamp,
        task_id=row.task_id,
        map_index=row.map_index,
        try_number=row.try_number,
        payload=row.payload,
        id=row.id,
    )


__all__ = ["SqlDagStore", "SqlEventLog", "SqlRunStore", "SqlStorage"]
