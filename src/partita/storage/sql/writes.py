"""Apply a ``WriteBatch`` with pre-rendered SQL and one driver-level statement per table.

The design decision: the write path bypasses SQLAlchemy's statement compilation
and per-parameter type processing, which cost more than the database itself
for thousands of small rows. Each table's insert (an upsert via ``ON
CONFLICT``, which SQLite and PostgreSQL both speak) is rendered once per
dialect; each record becomes a tuple through one small function per table;
values are converted by the per-dialect functions of ``codec``, which bind
exactly what the column types of ``models`` would, so reads through
SQLAlchemy round-trip. On PostgreSQL events are appended with ``COPY``,
psycopg's fastest path.

Rows go through one ``executemany`` per table, in record order, so the last
copy of a key in a batch wins (the first, for DAG versions). Event ids are
still handed back to the records: on SQLite the write lock makes the
``AUTOINCREMENT`` ids of one insert consecutive, so the last id gives them
all; on PostgreSQL they are drawn from the sequence before the ``COPY``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Dialect, Table
from sqlalchemy.engine import Connection

from partita.storage.records import (
    DagRunRecord,
    DagVersionRecord,
    EventRecord,
    OutputRecord,
    TaskInstanceRecord,
    WriteBatch,
)
from partita.storage.sql.codec import TimeConverter, codec_for
from partita.storage.sql.engine import dumps_json
from partita.storage.sql.errors import UnstorableValueError, driver_errors
from partita.storage.sql.models import (
    dag_run_table,
    dag_version_table,
    event_table,
    task_instance_table,
    task_output_table,
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
        dumps_json(r.conf),
        time(r.queued_at),
        time(r.start_date),
        time(r.end_date),
        r.hostname,
        r.pid,
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
        dumps_json(e.payload),
    )


OUTPUT_COLUMNS = ("run_id", "task_id", "map_index", "key", "location", "size", "payload")


def _output_row(o: OutputRecord, time: TimeConverter) -> Row:
    return (o.run_id, o.task_id, o.map_index, o.key, o.location, o.size, o.payload)


DAG_VERSION_COLUMNS = ("dag_id", "version", "serialized", "created_at")


def _dag_version_row(v: DagVersionRecord, time: TimeConverter) -> Row:
    return (v.dag_id, v.version, dumps_json(v.serialized), time(v.created_at))


# --- SQL -------------------------------------------------------------------------------


def render_insert(
    dialect: Dialect, table: Table, columns: Sequence[str], on_conflict: str | None
) -> str:
    """``INSERT`` of ``columns`` in driver paramstyle; ``on_conflict`` is update, nothing or None.

    ``update`` overwrites every non-key column of an existing row (an upsert).
    """
    missing = set(table.columns.keys()) - set(columns) - {"id"}
    if missing or not set(columns) <= set(table.columns.keys()):
        raise AssertionError(f"the {table.name} row does not match its columns: {sorted(missing)}")
    quote = dialect.identifier_preparer.quote
    codec = codec_for(dialect)
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    values = [codec.json_placeholder if c in json_columns else codec.placeholder for c in columns]
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(values)})"
    )
    if on_conflict is None:
        return sql
    keys = [c.name for c in table.primary_key.columns]
    target = f" ON CONFLICT ({', '.join(quote(k) for k in keys)})"
    if on_conflict == "nothing":
        return sql + target + " DO NOTHING"
    changes = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in columns if c not in keys)
    return sql + target + f" DO UPDATE SET {changes}"


@dataclass(slots=True)
class PreparedBatch:
    """A batch turned into driver rows, ready to execute; ``events`` get their ids after."""

    dag_versions: list[Row] = field(default_factory=list)
    runs: list[Row] = field(default_factory=list)
    task_instances: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    outputs: list[Row] = field(default_factory=list)


class BatchWriter:
    """Writes batches on one dialect (``sqlite`` or ``postgresql``) with pre-rendered SQL."""

    def __init__(self, dialect: Dialect) -> None:
        self.postgres = dialect.name == "postgresql"
        self._time = codec_for(dialect).dump_time
        self._dag_versions = render_insert(
            dialect, dag_version_table, DAG_VERSION_COLUMNS, "nothing"
        )
        self._runs = render_insert(dialect, dag_run_table, RUN_COLUMNS, "update")
        self._task_instances = render_insert(
            dialect, task_instance_table, TASK_INSTANCE_COLUMNS, "update"
        )
        self._outputs = render_insert(dialect, task_output_table, OUTPUT_COLUMNS, "update")
        self._events = render_insert(dialect, event_table, EVENT_COLUMNS, None)
        quote = dialect.identifier_preparer.quote
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
            return PreparedBatch(
                dag_versions=[_dag_version_row(v, time) for v in batch.dag_versions],
                runs=[_run_row(r, time) for r in batch.runs],
                task_instances=[_task_instance_row(t, time) for t in batch.task_instances],
                events=[_event_row(e, time) for e in batch.events],
                outputs=[_output_row(o, time) for o in batch.outputs],
            )
        except UnstorableValueError:
            raise
        except ValueError as exc:  # JSON that refers to itself: "Circular reference detected"
            raise UnstorableValueError(f"a JSON value cannot be stored: {exc}") from exc

    def execute(self, connection: Connection, rows: PreparedBatch) -> Sequence[int]:
        """Execute the rows on ``connection`` (inside its transaction); return the event ids."""
        execute = connection.exec_driver_sql
        if rows.dag_versions:
            execute(self._dag_versions, rows.dag_versions)
        if rows.runs:
            execute(self._runs, rows.runs)
        if rows.task_instances:
            execute(self._task_instances, rows.task_instances)
        event_ids: Sequence[int] = ()
        if rows.events:
            if self.postgres:
                event_ids = self._copy_postgres_events(connection, rows.events)
            else:
                execute(self._events, rows.events)
                last = connection.exec_driver_sql("SELECT last_insert_rowid()").scalar_one()
                event_ids = range(last - len(rows.events) + 1, last + 1)
        if rows.outputs:
            execute(self._outputs, rows.outputs)
        return event_ids

    def _copy_postgres_events(self, connection: Connection, events: list[Row]) -> list[int]:
        count = len(events)
        ids = list(connection.exec_driver_sql(self._next_event_ids, (count,)).scalars())
        driver_connection = connection.connection.driver_connection
        assert driver_connection is not None
        with (
            driver_errors(connection, self._copy_events),
            driver_connection.cursor() as cursor,
            cursor.copy(self._copy_events) as copy,
        ):
            write_row = copy.write_row
            for event_id, row in zip(ids, events, strict=True):
                write_row((event_id, *row))
        return ids


__all__ = ["BatchWriter", "PreparedBatch", "render_insert"]
