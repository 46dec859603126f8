"""``SqlStorage``: partita's persistent metadata store on SQLite or PostgreSQL.

The design decision: a ``WriteBatch`` is applied in one transaction with
pre-rendered SQL straight through the DB-API cursor, a few statements per
table carrying all its rows (``writes.BatchWriter``; values converted by
``codec`` rather than SQLAlchemy's per-parameter machinery), so the cost per
task is a few rows, not a round trip per row. On SQLite the transaction
starts with ``BEGIN IMMEDIATE`` so concurrent writers queue on the busy
timeout. The big reads (a run's task instances, its events) are driver
tuples converted by ``codec`` too; the small ones are plain Core selects.
Records are those of ``partita.storage.records``. Event payloads and run
conf are JSON: values JSON cannot hold are stored as text (datetimes as ISO
8601).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Select, func, select, update
from sqlalchemy.engine import URL, Connection
from sqlalchemy.pool import StaticPool

from partita.definitions.states import RunState, TaskState
from partita.exceptions import RunNotFoundError
from partita.settings import DEFAULT_INLINE_OUTPUT_LIMIT, Settings, load_settings
from partita.storage.base import DagStore, EventLog, RunStore, Storage
from partita.storage.records import (
    DagRunRecord,
    DagVersionRecord,
    EventKind,
    EventRecord,
    TaskInstanceRecord,
    TaskSummary,
    WriteBatch,
    fold_summaries,
    stamp_id,
)
from partita.storage.signing import PickleSigner, load_signer
from partita.storage.sql.assets import SqlAssetCatalog
from partita.storage.sql.auth import SqlAuthStore
from partita.storage.sql.automation import SqlAutomationStore
from partita.storage.sql.backfills import SqlBackfillStore
from partita.storage.sql.codec import codec_for
from partita.storage.sql.engine import (
    WRITE_LOCK_OPTION,
    PoolOptions,
    create_sql_engine,
    normalize_url,
)
from partita.storage.sql.errors import connect, driver_errors, wrap_db_errors
from partita.storage.sql.instigators import SqlInstigatorStore
from partita.storage.sql.logs import SqlLogStore
from partita.storage.sql.models import (
    dag_run_table,
    dag_version_table,
    event_table,
    task_instance_table,
)
from partita.storage.sql.outputs import SqlOutputStore
from partita.storage.sql.partitions import SqlDynamicPartitions
from partita.storage.sql.pools import SqlPoolStore
from partita.storage.sql.registry import SqlDagRegistry
from partita.storage.sql.retention import SqlRetentionStore
from partita.storage.sql.run_queue import SqlRunQueue, run_record
from partita.storage.sql.schema_revision import ensure_schema
from partita.storage.sql.secrets import (
    CipherSource,
    SqlConnectionStore,
    SqlVariableStore,
    settings_cipher,
)
from partita.storage.sql.writes import (
    TASK_INSTANCE_COLUMNS,
    BatchWriter,
    PreparedBatch,
    merge_prepared,
)


class SqlRunStore(RunStore):
    """Runs and task instances from ``dag_run`` and ``task_instance``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._codec = codec_for(engine.dialect)
        self._select_task_instances = (
            f"SELECT {', '.join(TASK_INSTANCE_COLUMNS)} FROM {task_instance_table.name} "
            f"WHERE run_id = {self._codec.placeholder}"
        )

    def get_run(self, run_id: str) -> DagRunRecord:
        query = select(dag_run_table).where(dag_run_table.c.run_id == run_id)
        with connect(self._engine, f"read run {run_id!r}") as connection:
            row = connection.execute(query).one_or_none()
        if row is None:
            raise RunNotFoundError(
                f"no run with id {run_id!r}; 'partita runs list' shows the known runs"
            )
        return run_record(row)

    def list_runs(
        self,
        dag_id: str | None = None,
        *,
        states: Iterable[RunState] | None = None,
        limit: int = 50,
        partition_key: str | None = None,
        offset: int = 0,
        tags: Mapping[str, str] | None = None,
    ) -> list[DagRunRecord]:
        # Queued runs newest first, then the few never queued: each an index range that
        # PostgreSQL and SQLite read backwards (NULLS LAST in one ORDER BY would need a sort).
        runs = dag_run_table.c
        base = _filtered(select(dag_run_table), dag_id, states, partition_key, tags)
        queued = base.where(runs.queued_at.is_not(None))
        queued = queued.order_by(runs.queued_at.desc(), runs.run_id.desc())
        unqueued = base.where(runs.queued_at.is_(None)).order_by(runs.run_id.desc())
        with connect(self._engine, "list runs") as connection:
            rows = list(connection.execute(queued.limit(limit).offset(offset)))
            if len(rows) < limit:
                skip = 0
                if not rows and offset:
                    counted = _filtered(
                        select(func.count()).select_from(dag_run_table),
                        dag_id,
                        states,
                        partition_key,
                        tags,
                    )
                    skip = (
                        offset
                        - connection.execute(
                            counted.where(runs.queued_at.is_not(None))
                        ).scalar_one()
                    )
                rows += connection.execute(unqueued.limit(limit - len(rows)).offset(max(skip, 0)))
        return [run_record(row) for row in rows]

    def count_runs(
        self,
        dag_id: str | None = None,
        *,
        states: Iterable[RunState] | None = None,
        partition_key: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> int:
        count = select(func.count()).select_from(dag_run_table)
        query = _filtered(count, dag_id, states, partition_key, tags)
        with connect(self._engine, "count runs") as connection:
            return int(connection.execute(query).scalar_one())

    def runs_at(self, dag_id: str, logical_dates: Iterable[datetime]) -> list[DagRunRecord]:
        dates = list(logical_dates)
        if not dates:
            return []
        runs = dag_run_table.c
        query = (
            select(dag_run_table)
            .where(runs.dag_id == dag_id, runs.logical_date.in_(dates))
            .order_by(runs.queued_at.desc().nulls_last(), runs.run_id.desc())
        )
        with connect(self._engine, f"read the runs of DAG {dag_id!r}") as connection:
            return [run_record(row) for row in connection.execute(query)]

    def get_task_instances(self, run_id: str) -> list[TaskInstanceRecord]:
        # A mapped run has as many rows as instances: driver rows, converted by hand.
        with connect(self._engine, f"read the task instances of run {run_id!r}") as connection:
            rows = _driver_rows(connection, self._select_task_instances, (run_id,))
        records = self._ti_records(rows)
        records.sort(key=_TASK_INSTANCE_ORDER)
        return records

    def _ti_records(self, rows: Iterable[Sequence[Any]]) -> list[TaskInstanceRecord]:
        load_time, states = self._codec.load_time, _TASK_STATES
        return [
            TaskInstanceRecord(
                run, task, index, tries, max_tries, states.get(state) or TaskState(state),
                operator, load_time(start), load_time(end), duration, host, load_time(retry),
            )
            for run, task, index, tries, max_tries, state, operator, start, end, duration, host,
            retry in rows
        ]  # fmt: skip

    def task_summaries(self, run_id: str) -> list[TaskSummary]:
        # Driver rows, times converted by the codec: a run of 10,000 tasks is 10,000 rows.
        sql = (
            "SELECT task_id, state, count(*), max(map_index), min(start_date), max(end_date), "
            f"max(try_number) FROM {task_instance_table.name} "
            f"WHERE run_id = {self._codec.placeholder} GROUP BY task_id, state"
        )
        load_time = self._codec.load_time
        with connect(self._engine, f"summarise the tasks of run {run_id!r}") as connection:
            rows = _driver_rows(connection, sql, (run_id,))
        return fold_summaries(
            (task, state, count, top, load_time(first), load_time(last), tries)
            for task, state, count, top, first, last, tries in rows
        )

    def page_task_instances(
        self,
        run_id: str,
        *,
        task_id: str | None = None,
        map_index: int | None = None,
        state: TaskState | None = None,
        limit: int,
        offset: int = 0,
    ) -> list[TaskInstanceRecord]:
        # Driver rows (as get_task_instances), in the primary key's order: an index range.
        mark = self._codec.placeholder
        sql = self._select_task_instances
        params: list[object] = [run_id]
        if task_id is not None:
            sql, params = sql + f" AND task_id = {mark}", [*params, task_id]
        if map_index is not None:
            sql, params = sql + f" AND map_index = {mark}", [*params, map_index]
        if state is not None:
            sql, params = sql + f" AND state = {mark}", [*params, str(state)]
        by_task = 'task_id COLLATE "C"' if self._engine.dialect.name == "postgresql" else "task_id"
        sql += f" ORDER BY {by_task}, map_index LIMIT {int(limit)} OFFSET {int(offset)}"
        with connect(self._engine, f"read task instances of run {run_id!r}") as connection:
            rows = _driver_rows(connection, sql, tuple(params))
        return self._ti_records(rows)

    def latest_runs(self, dag_ids: Sequence[str], per_dag: int) -> dict[str, list[DagRunRecord]]:
        found: dict[str, list[DagRunRecord]] = {dag_id: [] for dag_id in dag_ids}
        if not found or per_dag <= 0:
            return found
        runs = dag_run_table.c
        newest = (runs.queued_at.desc().nulls_last(), runs.run_id.desc())
        rank = func.row_number().over(partition_by=runs.dag_id, order_by=newest).label("rank")
        ranked = select(dag_run_table, rank).where(runs.dag_id.in_(list(found))).subquery()
        query = (
            select(ranked).where(ranked.c.rank <= per_dag).order_by(ranked.c.dag_id, ranked.c.rank)
        )
        with connect(self._engine, "read the latest runs of DAGs") as connection:
            for row in connection.execute(query):
                found[row.dag_id].append(run_record(row))
        return found

    def list_ended_runs(
        self, after: tuple[datetime, str] | None, states: Iterable[RunState], limit: int
    ) -> list[DagRunRecord]:
        runs = dag_run_table.c
        query = select(dag_run_table).where(
            runs.state.in_([str(s) for s in states]), runs.end_date.is_not(None)
        )
        if after is not None:
            end, run_id = after
            query = query.where(
                (runs.end_date > end) | ((runs.end_date == end) & (runs.run_id > run_id))
            )
        query = query.order_by(runs.end_date, runs.run_id).limit(limit)
        with connect(self._engine, "list the runs that ended") as connection:
            return [run_record(row) for row in connection.execute(query)]


def _filtered(
    query: Select[Any],
    dag_id: str | None,
    states: Iterable[RunState] | None,
    partition_key: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> Any:
    runs = dag_run_table.c
    for key, value in (tags or {}).items():  # JSON paths: json_extract / ->> per dialect
        query = query.where(runs.tags[key].as_string() == value)
    if dag_id is not None:
        query = query.where(runs.dag_id == dag_id)
    if partition_key is not None:
        query = query.where(runs.partition_key == partition_key)
    if states is not None:
        query = query.where(runs.state.in_([str(s) for s in states]))
    return query


class SqlEventLog(EventLog):
    """The append-only ``event_log`` table, read in id order."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._codec = codec_for(engine.dialect)
        #: In the order of EventRecord's fields.
        self._select = (
            f"SELECT run_id, kind, timestamp, task_id, map_index, try_number, payload, id "
            f"FROM {event_table.name} WHERE run_id = {self._codec.placeholder}"
        )

    def read_events(
        self,
        run_id: str,
        *,
        task_id: str | None = None,
        map_index: int | None = None,
        kinds: Sequence[EventKind] | None = None,
        after_id: int | None = None,
    ) -> list[EventRecord]:
        mark = self._codec.placeholder
        sql: list[str] = [self._select]
        params: list[Any] = [run_id]
        for column, operator, value in (
            ("task_id", "=", task_id),
            ("map_index", "=", map_index),
            ("id", ">", after_id),
        ):
            if value is not None:
                sql.append(f"AND {column} {operator} {mark}")
                params.append(value)
        if kinds is not None:
            if not kinds:
                return []
            sql.append(f"AND kind IN ({', '.join([mark] * len(kinds))})")
            params.extend(str(kind) for kind in kinds)
        sql.append("ORDER BY id")
        # timestamp is NOT NULL, so it never loads as None.
        load_time = cast(Callable[[Any], datetime], self._codec.load_time)
        load_json, event_kinds = self._codec.load_json, _KINDS
        with connect(self._engine, f"read the events of run {run_id!r}") as connection:
            rows = _driver_rows(connection, " ".join(sql), tuple(params))
        return [
            EventRecord(
                run, event_kinds.get(kind) or EventKind(kind), load_time(timestamp), task, index,
                tries, load_json(payload), event_id,
            )
            for run, kind, timestamp, task, index, tries, payload, event_id in rows
        ]  # fmt: skip


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
    """The metadata store on a SQL database; migrates the schema to head when opened.

    ``signer`` signs and checks the pickles of outputs; by default it is the one
    partita's settings name (``PARTITA_SECRET_KEY``, else for SQLite the key file
    in ``$PARTITA_HOME``), and without that key a PostgreSQL store does not open.
    ``cipher`` returns the Fernet cipher of connections and variables, called on
    their first use (by default from the settings, as ``load_cipher`` reads them).
    """

    persistent = True

    def __init__(
        self,
        url_or_engine: str | URL | Engine,
        storage_dir: Path,
        inline_output_limit: int = DEFAULT_INLINE_OUTPUT_LIMIT,
        *,
        signer: PickleSigner | None = None,
        cipher: CipherSource | None = None,
        pool: PoolOptions | None = None,
    ) -> None:
        self.engine: Engine
        if isinstance(url_or_engine, Engine):
            self.engine, self._owns_engine = url_or_engine, False
        else:
            self.engine, self._owns_engine = create_sql_engine(url_or_engine, pool), True
        sqlite = self.engine.dialect.name == "sqlite"
        try:
            if signer is None:
                signer = load_signer(load_settings(), sqlite=sqlite)
            ensure_schema(self.engine)
        except BaseException:
            self.close()
            raise
        self.runs = SqlRunStore(self.engine)
        self.events = SqlEventLog(self.engine)
        self.outputs = SqlOutputStore(self.engine, storage_dir, inline_output_limit, signer)
        self.signer = signer
        self.dags = SqlDagStore(self.engine)
        self.assets = SqlAssetCatalog(self.engine)
        self.logs = SqlLogStore(self.engine)
        # One connection shared by every thread (an in-memory SQLite): writes stay on one thread.
        self.threadsafe = not isinstance(self.engine.pool, StaticPool)
        self.registry = SqlDagRegistry(self.engine)
        self.queue = SqlRunQueue(self.engine)
        self.pools = SqlPoolStore(self.engine)
        self.instigators = SqlInstigatorStore(self.engine)
        cipher = cipher or settings_cipher(load_settings, sqlite=sqlite)
        self.connections = SqlConnectionStore(self.engine, cipher)
        self.variables = SqlVariableStore(self.engine, cipher)
        self.partitions = SqlDynamicPartitions(self.engine)
        self.automation = SqlAutomationStore(self.engine)
        self.auth = SqlAuthStore(self.engine)
        self.backfills = SqlBackfillStore(self.engine)
        self.retention = SqlRetentionStore(self.engine, self.outputs.run_folder)
        self.storage_dir = Path(storage_dir)
        self._writer = BatchWriter(self.engine.dialect)

    @classmethod
    def from_settings(cls, settings: Settings) -> SqlStorage:
        """The store ``settings`` name: its database URL, storage folder and inline limit."""
        normalize_url(settings.database_url)  # a bad URL is the first thing to report
        signer = load_signer(settings)  # before any connection: a missing key fails fast
        return cls(
            settings.database_url,
            settings.storage_dir,
            settings.inline_output_limit,
            signer=signer,
            cipher=settings_cipher(lambda: settings, sqlite=None),
            pool=PoolOptions.from_settings(settings),
        )

    def write(self, batch: WriteBatch) -> None:
        if batch:
            self.write_prepared([self.prepare(batch)])

    def prepare(self, batch: WriteBatch) -> PreparedWrite:
        with wrap_db_errors(self.engine.url, lambda: f"write {_describe_batch(batch)}"):
            return PreparedWrite(batch, self._writer.prepare(batch))

    def write_prepared(self, prepared: Sequence[PreparedWrite]) -> None:
        if not prepared:
            return
        rows = merge_prepared([p.rows for p in prepared])
        with self._transaction(lambda: _describe_prepared(prepared)) as connection:
            event_ids = self._writer.execute(connection, rows)
        events = (event for p in prepared for event in p.batch.events)
        for event, event_id in zip(events, event_ids, strict=True):
            stamp_id(event, event_id)

    def heartbeat(self, run_id: str, at: datetime) -> bool:
        runs = dag_run_table.c
        beat = (
            update(dag_run_table)
            .where(runs.run_id == run_id, runs.state == str(RunState.RUNNING))
            .values(heartbeat_at=at)
        )
        with self._transaction(lambda: f"record a heartbeat of run {run_id!r}") as connection:
            return connection.execute(beat).rowcount == 1

    def claim_task_instance(
        self, run_id: str, task_id: str, map_index: int, try_number: int, hostname: str,
        at: datetime,
    ) -> bool:  # fmt: skip
        tis = task_instance_table.c
        # Touching the row locks it (PostgreSQL) or the database (SQLite): of two claims
        # of one try, the second waits, then finds claimed_try set and matches nothing.
        claim = (
            update(task_instance_table)
            .where(
                tis.run_id == run_id, tis.task_id == task_id, tis.map_index == map_index,
                tis.try_number <= try_number,
                tis.claimed_try.is_(None) | (tis.claimed_try < try_number),
            )
            .values(
                claimed_try=try_number, claimed_by=hostname, try_number=try_number,
                state=str(TaskState.RUNNING), start_date=at, end_date=None, duration=None,
                hostname=hostname,
            )
        )  # fmt: skip
        what = f"claim try {try_number} of task {task_id!r} of run {run_id!r}"
        with self._transaction(lambda: what) as connection:
            return connection.execute(claim).rowcount == 1

    def write_if_claimed(
        self, batch: WriteBatch, run_id: str, task_id: str, map_index: int, try_number: int
    ) -> bool:
        tis = task_instance_table.c
        # Touching the row locks it (PostgreSQL) or the database (SQLite) until the commit:
        # a new try handed out meanwhile waits, or is seen here and nothing is written.
        guard = (
            update(task_instance_table)
            .where(
                tis.run_id == run_id, tis.task_id == task_id, tis.map_index == map_index,
                tis.try_number == try_number, tis.claimed_try == try_number,
            )
            .values(claimed_try=try_number)
        )  # fmt: skip
        rows = self.prepare(batch).rows
        what = f"write the end of try {try_number} of task {task_id!r} of run {run_id!r}"
        with self._transaction(lambda: what) as connection:
            if connection.execute(guard).rowcount != 1:
                return False
            event_ids = self._writer.execute(connection, rows)
        for event, event_id in zip(batch.events, event_ids, strict=True):
            stamp_id(event, event_id)
        return True

    def task_instance_claims(self, run_id: str) -> dict[tuple[str, int], tuple[int, str]]:
        tis = task_instance_table.c
        query = select(tis.task_id, tis.map_index, tis.claimed_try, tis.claimed_by).where(
            tis.run_id == run_id, tis.claimed_try.is_not(None)
        )
        with connect(self.engine, f"read the claims of run {run_id!r}") as connection:
            return {(t, i): (n, by or "") for t, i, n, by in connection.execute(query)}

    def write_if_unchanged(self, batch: WriteBatch, seen: DagRunRecord) -> bool:
        runs = dag_run_table.c
        same_beat = (
            runs.heartbeat_at.is_(None)
            if seen.heartbeat_at is None
            else runs.heartbeat_at == seen.heartbeat_at
        )
        # Touching the row locks it (PostgreSQL) or the database (SQLite, BEGIN IMMEDIATE):
        # a second writer waits, then finds the state changed and matches nothing.
        claim = (
            update(dag_run_table)
            .where(runs.run_id == seen.run_id, runs.state == str(seen.state), same_beat)
            .values(state=str(seen.state))
        )
        rows = self.prepare(batch).rows
        with self._transaction(
            lambda: f"write {_describe_batch(batch)} if unchanged"
        ) as connection:
            if connection.execute(claim).rowcount != 1:
                return False
            event_ids = self._writer.execute(connection, rows)
        for event, event_id in zip(batch.events, event_ids, strict=True):
            stamp_id(event, event_id)
        return True

    @contextmanager
    def _transaction(self, what: Callable[[], str]) -> Iterator[Connection]:
        """A write transaction (holding SQLite's write lock); errors name ``what()``."""
        with (
            wrap_db_errors(self.engine.url, what),
            self.engine.connect() as connection,
        ):
            connection.execution_options(**{WRITE_LOCK_OPTION: True})
            with connection.begin():
                yield connection

    def request_cancel(self, run_id: str, at: datetime, grace: float) -> bool:
        runs = dag_run_table.c
        request = (
            update(dag_run_table)
            .where(runs.run_id == run_id, runs.state == str(RunState.RUNNING))
            .values(cancel_requested_at=at, cancel_grace=grace)
        )
        rows = self._writer.prepare(WriteBatch(events=[_cancel_event(run_id, at, grace)]))
        with self._transaction(lambda: f"record a cancel request of run {run_id!r}") as connection:
            if connection.execute(request).rowcount != 1:
                return False
            self._writer.execute(connection, rows)
        return True

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    def __repr__(self) -> str:
        return f"SqlStorage({self.engine.url.render_as_string(hide_password=True)!r})"


@dataclass(frozen=True, slots=True)
class PreparedWrite:
    """A batch converted to driver rows (a snapshot); its events get their ids once written."""

    batch: WriteBatch
    rows: PreparedBatch


def _describe_prepared(prepared: Sequence[PreparedWrite]) -> str:
    if len(prepared) == 1:
        return f"write {_describe_batch(prepared[0].batch)}"
    return f"write {len(prepared)} batches, the first {_describe_batch(prepared[0].batch)}"


def _describe_batch(batch: WriteBatch) -> str:
    counts = [
        f"{len(items)} {name}"
        for name, items in (
            ("runs", batch.runs),
            ("task instances", batch.task_instances),
            ("events", batch.events),
            ("outputs", batch.outputs),
            ("DAG versions", batch.dag_versions),
            ("asset materializations", batch.materializations),
            ("asset check evaluations", batch.check_evaluations),
            ("log lines", batch.log_lines),
        )
        if items
    ]
    run_ids = {r.run_id for r in batch.runs}
    run_ids.update(t.run_id for t in batch.task_instances)
    run_ids.update(e.run_id for e in batch.events)
    run_ids.update(line.run_id for line in batch.log_lines[:1])
    if len(run_ids) == 1:
        return f"a batch of run {run_ids.pop()!r} ({', '.join(counts)})"
    return f"a batch of {len(run_ids)} runs ({', '.join(counts)})"


def _cancel_event(run_id: str, at: datetime, grace: float) -> EventRecord:
    return EventRecord(run_id, EventKind.CANCEL_REQUESTED, at, payload={"grace": grace})


def _driver_rows(connection: Connection, sql: str, params: tuple[Any, ...]) -> Sequence[Any]:
    """The rows of a query as the driver returns them: tuples, no SQLAlchemy ``Row``s."""
    cursor = connection.connection.cursor()
    try:
        with driver_errors(connection, sql):
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        cursor.close()


_TASK_STATES = {state.value: state for state in TaskState}
_KINDS = {kind.value: kind for kind in EventKind}
_TASK_INSTANCE_ORDER = attrgetter("task_id", "map_index")


__all__ = ["SqlDagStore", "SqlEventLog", "SqlRunStore", "SqlStorage"]
