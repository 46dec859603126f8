"""Apply a ``WriteBatch`` with pre-rendered SQL straight through the DB-API cursor.

The design decision: the write path bypasses SQLAlchemy's statement compilation
and per-parameter type processing, which cost more than the database itself
for thousands of small rows. Each table's insert (an upsert via ``ON
CONFLICT``, which SQLite and PostgreSQL both speak) is rendered once per
dialect; each record becomes a tuple through one small function per table;
values are converted by the per-dialect functions of ``codec``, which bind
exactly what the column types of ``models`` would, so reads through
SQLAlchemy round-trip. On PostgreSQL events and log lines are appended with
``COPY``, psycopg's fastest path. Every value is made storable first by the
rules of ``storage.values`` (ids that fit, JSON without NaN, clean text), the
same rules the memory store applies.

Rows go to the driver in record order, one ``executemany`` per table (on
SQLite, multi-row ``INSERT``s of up to 100 rows: ``Statement``), so the last
copy of a key in a batch wins (the first, for DAG versions). Event ids are
still handed back to the records: on SQLite the write lock makes the
``AUTOINCREMENT`` ids of one insert consecutive, so the last id gives them
all; on PostgreSQL they are drawn from the sequence before the ``COPY``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from sqlalchemy import JSON, Dialect, Table
from sqlalchemy.engine import Connection

from partita.definitions.asset_key import AssetKey
from partita.storage.records import (
    AssetCheckEvaluationRecord,
    AssetMaterializationRecord,
    AssetPartitionStatusRecord,
    DagRunRecord,
    DagVersionRecord,
    EventRecord,
    LogLineRecord,
    OutputRecord,
    TaskInstanceRecord,
    WriteBatch,
)
from partita.storage.sql.codec import TimeConverter, codec_for
from partita.storage.sql.errors import driver_errors
from partita.storage.sql.models import (
    asset_check_evaluation_table,
    asset_materialization_table,
    asset_partition_table,
    dag_run_table,
    dag_version_table,
    event_table,
    log_line_table,
    task_instance_table,
    task_output_table,
)
from partita.storage.values import (
    UnstorableValueError,
    check_batch_ids,
    clean_text,
    dumps_json,
)

Row = tuple[Any, ...]


# --- rows: one function per table, its columns in the order of the tuple ------------------

RUN_COLUMNS = (
    "run_id",
    "dag_id",
    "dag_version",
    "state",
    "run_type",
    "logical_date",
    "data_interval_start",
    "data_interval_end",
    "conf",
    "queued_at",
    "start_date",
    "end_date",
    "hostname",
    "pid",
    "heartbeat_at",
    "cancel_requested_at",
    "cancel_grace",
    "partition_key",
    "tags",
)


def _run_row(r: DagRunRecord, time: TimeConverter) -> Row:
    return (
        r.run_id,
        r.dag_id,
        r.dag_version,
        str(r.state),
        r.run_type,
        time(r.logical_date),
        time(r.data_interval_start),
        time(r.data_interval_end),
        dumps_json(r.conf, "the run conf"),
        time(r.queued_at),
        time(r.start_date),
        time(r.end_date),
        r.hostname,
        r.pid,
        time(r.heartbeat_at),
        time(r.cancel_requested_at),
        r.cancel_grace,
        r.partition_key,
        dumps_json(r.tags, "the run tags"),
    )


TASK_INSTANCE_COLUMNS = (
    "run_id",
    "task_id",
    "map_index",
    "try_number",
    "max_tries",
    "state",
    "operator",
    "start_date",
    "end_date",
    "duration",
    "hostname",
    "retry_at",
)


def _task_instance_row(t: TaskInstanceRecord, time: TimeConverter) -> Row:
    return (
        t.run_id,
        t.task_id,
        t.map_index,
        t.try_number,
        t.max_tries,
        str(t.state),
        t.operator,
        time(t.start_date),
        time(t.end_date),
        t.duration,
        t.hostname,
        time(t.retry_at),
    )


EVENT_COLUMNS = ("run_id", "task_id", "map_index", "try_number", "kind", "timestamp", "payload")


def _event_row(e: EventRecord, time: TimeConverter) -> Row:
    return (
        e.run_id,
        e.task_id,
        e.map_index,
        e.try_number,
        str(e.kind),
        time(e.timestamp),
        dumps_json(e.payload, "an event payload"),
    )


OUTPUT_COLUMNS = ("run_id", "task_id", "map_index", "key", "location", "size", "payload")


def _output_row(o: OutputRecord, time: TimeConverter) -> Row:
    return (o.run_id, o.task_id, o.map_index, o.key, o.location, o.size, o.payload)


MATERIALIZATION_COLUMNS = (
    "asset_key",
    "run_id",
    "task_id",
    "map_index",
    "timestamp",
    "metadata",
    "code_version",
    "data_version",
    "location",
    "partition_key",
)


def asset_key_text(key: AssetKey) -> str:
    """How an asset key is stored: its segments as a JSON array (``["schema", "t"]``)."""
    return json.dumps(list(key.path), separators=(",", ":"))


def _materialization_row(m: AssetMaterializationRecord, time: TimeConverter) -> Row:
    return (
        asset_key_text(m.asset_key),
        m.run_id,
        m.task_id,
        m.map_index,
        time(m.timestamp),
        dumps_json(m.metadata, "asset metadata"),
        m.code_version,
        m.data_version,
        m.location,
        m.partition_key,
    )


PARTITION_STATUS_COLUMNS = ("asset_key", "partition_key", "status", "run_id", "timestamp")


def _partition_status_row(p: AssetPartitionStatusRecord, time: TimeConverter) -> Row:
    return (
        asset_key_text(p.asset_key),
        p.partition_key,
        str(p.status),
        p.run_id,
        time(p.timestamp),
    )


CHECK_EVALUATION_COLUMNS = (
    "asset_key",
    "check_name",
    "run_id",
    "task_id",
    "timestamp",
    "passed",
    "severity",
    "metadata",
    "description",
)


def _check_evaluation_row(c: AssetCheckEvaluationRecord, time: TimeConverter) -> Row:
    return (
        asset_key_text(c.asset_key),
        c.check_name,
        c.run_id,
        c.task_id,
        time(c.timestamp),
        bool(c.passed),
        c.severity,
        dumps_json(c.metadata, "asset check metadata"),
        None if c.description is None else clean_text(c.description),
    )


DAG_VERSION_COLUMNS = ("dag_id", "version", "serialized", "created_at")


def _dag_version_row(v: DagVersionRecord, time: TimeConverter) -> Row:
    return (
        v.dag_id,
        v.version,
        dumps_json(v.serialized, "a serialized DAG"),
        time(v.created_at),
    )


LOG_LINE_COLUMNS = (
    "run_id",
    "task_id",
    "map_index",
    "try_number",
    "seq",
    "timestamp",
    "level",
    "message",
)


def _log_line_row(line: LogLineRecord, time: TimeConverter) -> Row:
    return (
        line.run_id,
        line.task_id,
        line.map_index,
        line.try_number,
        line.seq,
        time(line.timestamp),
        clean_text(line.level),
        clean_text(line.message),
    )


# --- SQL -------------------------------------------------------------------------------


def render_insert(
    dialect: Dialect,
    table: Table,
    columns: Sequence[str],
    on_conflict: str | None,
    rows: int = 1,
) -> str:
    """``INSERT`` of ``rows`` rows of ``columns`` in driver paramstyle.

    ``on_conflict`` is ``update`` (overwrite every non-key column of an existing
    row: an upsert), ``nothing`` or None.
    """
    missing = set(table.columns.keys()) - set(columns) - {"id", *table.info.get("not_batched", ())}
    if missing or not set(columns) <= set(table.columns.keys()):
        raise AssertionError(f"the {table.name} row does not match its columns: {sorted(missing)}")
    quote = dialect.identifier_preparer.quote
    codec = codec_for(dialect)
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    values = [codec.json_placeholder if c in json_columns else codec.placeholder for c in columns]
    row = f"({', '.join(values)})"
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES {', '.join([row] * rows)}"
    )
    if on_conflict is None:
        return sql
    keys = [c.name for c in table.primary_key.columns]
    target = f" ON CONFLICT ({', '.join(quote(k) for k in keys)})"
    if on_conflict == "nothing":
        return sql + target + " DO NOTHING"
    changes = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in columns if c not in keys)
    return sql + target + f" DO UPDATE SET {changes}"


#: Rows per multi-row statement on SQLite: at most 999 parameters (the limit before 3.32).
SQLITE_MAX_PARAMETERS = 999
SQLITE_MAX_ROWS = 100


@dataclass(frozen=True, slots=True)
class Statement:
    """One table's insert: the single-row SQL and, on SQLite, a ``chunk``-row form.

    SQLite runs a multi-row ``INSERT`` faster than as many single-row ones (less
    work per row in the driver and the VM; about 20-40% on the event log);
    PostgreSQL keeps single rows (an upsert there cannot touch a row twice in one
    statement) and psycopg pipelines the ``executemany``.
    """

    sql: str
    chunk_sql: str | None = None
    chunk: int = 1

    @classmethod
    def render(
        cls, dialect: Dialect, table: Table, columns: Sequence[str], on_conflict: str | None
    ) -> Statement:
        sql = render_insert(dialect, table, columns, on_conflict)
        if dialect.name != "sqlite":
            return cls(sql)
        chunk = min(SQLITE_MAX_ROWS, SQLITE_MAX_PARAMETERS // len(columns))
        return cls(sql, render_insert(dialect, table, columns, on_conflict, chunk), chunk)

    def run(self, cursor: Any, rows: list[Row]) -> None:
        """Insert ``rows`` in order with the DB-API ``cursor``."""
        size = self.chunk
        full = 0 if self.chunk_sql is None else len(rows) - len(rows) % size
        for start in range(0, full, size):
            cursor.execute(self.chunk_sql, tuple(chain.from_iterable(rows[start : start + size])))
        if full < len(rows):
            cursor.executemany(self.sql, rows[full:] if full else rows)


@dataclass(slots=True)
class PreparedBatch:
    """A batch turned into driver rows, ready to execute; ``events`` get their ids after."""

    dag_versions: list[Row] = field(default_factory=list)
    runs: list[Row] = field(default_factory=list)
    task_instances: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    outputs: list[Row] = field(default_factory=list)
    materializations: list[Row] = field(default_factory=list)
    check_evaluations: list[Row] = field(default_factory=list)
    log_lines: list[Row] = field(default_factory=list)
    partition_statuses: list[Row] = field(default_factory=list)


def merge_prepared(parts: Sequence[PreparedBatch]) -> PreparedBatch:
    """One batch holding the rows of ``parts`` in order (the last copy of a key still wins)."""
    if len(parts) == 1:
        return parts[0]
    merged = PreparedBatch()
    for part in parts:
        merged.dag_versions.extend(part.dag_versions)
        merged.runs.extend(part.runs)
        merged.task_instances.extend(part.task_instances)
        merged.events.extend(part.events)
        merged.outputs.extend(part.outputs)
        merged.materializations.extend(part.materializations)
        merged.check_evaluations.extend(part.check_evaluations)
        merged.log_lines.extend(part.log_lines)
        merged.partition_statuses.extend(part.partition_statuses)
    return merged


class BatchWriter:
    """Writes batches on one dialect (``sqlite`` or ``postgresql``) with pre-rendered SQL."""

    def __init__(self, dialect: Dialect) -> None:
        self.postgres = dialect.name == "postgresql"
        self._time = codec_for(dialect).dump_time
        render = Statement.render
        self._dag_versions = render(dialect, dag_version_table, DAG_VERSION_COLUMNS, "nothing")
        self._runs = render(dialect, dag_run_table, RUN_COLUMNS, "update")
        self._task_instances = render(dialect, task_instance_table, TASK_INSTANCE_COLUMNS, "update")
        self._outputs = render(dialect, task_output_table, OUTPUT_COLUMNS, "update")
        self._events = render(dialect, event_table, EVENT_COLUMNS, None)
        self._materializations = render(
            dialect, asset_materialization_table, MATERIALIZATION_COLUMNS, None
        )
        self._check_evaluations = render(
            dialect, asset_check_evaluation_table, CHECK_EVALUATION_COLUMNS, None
        )
        self._log_lines = render(dialect, log_line_table, LOG_LINE_COLUMNS, None)
        self._partition_statuses = render(
            dialect, asset_partition_table, PARTITION_STATUS_COLUMNS, "update"
        )
        quote = dialect.identifier_preparer.quote
        self._copy_log_lines = (
            f"COPY {quote(log_line_table.name)} "
            f"({', '.join(quote(c) for c in LOG_LINE_COLUMNS)}) FROM STDIN"
        )
        event_columns = ", ".join(quote(c) for c in ("id", *EVENT_COLUMNS))
        self._copy_events = f"COPY {quote(event_table.name)} ({event_columns}) FROM STDIN"
        self._next_event_ids = (
            f"SELECT nextval(pg_get_serial_sequence('{event_table.name}', 'id')) "
            f"FROM generate_series(1, %s) ORDER BY 1"
        )

    def prepare(self, batch: WriteBatch) -> PreparedBatch:
        """Convert every record; raises ``UnstorableValueError`` before touching the database."""
        time = self._time
        try:
            check_batch_ids(batch)
            return PreparedBatch(
                dag_versions=[_dag_version_row(v, time) for v in batch.dag_versions],
                runs=[_run_row(r, time) for r in batch.runs],
                task_instances=[_task_instance_row(t, time) for t in batch.task_instances],
                events=[_event_row(e, time) for e in batch.events],
                outputs=[_output_row(o, time) for o in batch.outputs],
                materializations=[_materialization_row(m, time) for m in batch.materializations],
                check_evaluations=[_check_evaluation_row(c, time) for c in batch.check_evaluations],
                log_lines=[_log_line_row(line, time) for line in batch.log_lines],
                partition_statuses=[
                    _partition_status_row(p, time) for p in batch.partition_statuses
                ],
            )
        except UnstorableValueError:
            raise
        except ValueError as exc:  # JSON that refers to itself: "Circular reference detected"
            raise UnstorableValueError(f"a JSON value cannot be stored: {exc}") from exc

    def execute(self, connection: Connection, rows: PreparedBatch) -> Sequence[int]:
        """Execute the rows on ``connection`` (inside its transaction); return the event ids."""
        cursor = connection.connection.cursor()
        try:
            for statement, table_rows in (
                (self._dag_versions, rows.dag_versions),
                (self._runs, rows.runs),
                (self._task_instances, rows.task_instances),
            ):
                if table_rows:
                    with driver_errors(connection, statement.sql):
                        statement.run(cursor, table_rows)
            event_ids: Sequence[int] = ()
            if rows.events:
                event_ids = self._insert_events(connection, cursor, rows.events)
            for statement, table_rows in (
                (self._outputs, rows.outputs),
                (self._materializations, rows.materializations),
                (self._check_evaluations, rows.check_evaluations),
                (self._partition_statuses, rows.partition_statuses),
            ):
                if table_rows:
                    with driver_errors(connection, statement.sql):
                        statement.run(cursor, table_rows)
            if rows.log_lines:
                self._insert_log_lines(connection, cursor, rows.log_lines)
        finally:
            cursor.close()
        return event_ids

    def _insert_log_lines(self, connection: Connection, cursor: Any, lines: list[Row]) -> None:
        if not self.postgres:
            with driver_errors(connection, self._log_lines.sql):
                self._log_lines.run(cursor, lines)
            return
        statement = self._copy_log_lines
        with driver_errors(connection, statement), cursor.copy(statement) as copy:
            write_row = copy.write_row
            for row in lines:
                write_row(row)

    def _insert_events(
        self, connection: Connection, cursor: Any, events: list[Row]
    ) -> Sequence[int]:
        if not self.postgres:
            with driver_errors(connection, self._events.sql):
                self._events.run(cursor, events)
                cursor.execute("SELECT last_insert_rowid()")
                (last,) = cursor.fetchone()
            return range(last - len(events) + 1, last + 1)
        with driver_errors(connection, self._next_event_ids):
            cursor.execute(self._next_event_ids, (len(events),))
            ids = [event_id for (event_id,) in cursor.fetchall()]
        with driver_errors(connection, self._copy_events), cursor.copy(self._copy_events) as copy:
            write_row = copy.write_row
            for event_id, row in zip(ids, events, strict=True):
                write_row((event_id, *row))
        return ids


__all__ = ["BatchWriter", "PreparedBatch", "Statement", "merge_prepared", "render_insert"]
