"""The backfill store on SQL: ``backfill`` and ``backfill_run``, joined with ``dag_run``.

The design decision: every operation is one short statement or transaction.
Planned runs are inserted as driver rows (multi-row ``INSERT``s on SQLite,
``COPY`` on PostgreSQL), so a backfill of 10,000 dates costs a few round
trips; "what is active" starts from the queued and running runs (indexed by
state) and finds their planned rows by run id, so it costs the same however
long the backfill is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, and_, bindparam, case, func, select, update
from sqlalchemy.engine import Connection

from partita.definitions.states import RunState
from partita.storage.backfills import (
    BackfillProgress,
    BackfillRecord,
    BackfillStatus,
    BackfillStore,
    PlannedAction,
    PlannedRun,
    Reprocess,
)
from partita.storage.memory_backfills import backfill_not_found
from partita.storage.records import DagRunRecord
from partita.storage.sql.codec import codec_for
from partita.storage.sql.engine import WRITE_LOCK_OPTION
from partita.storage.sql.errors import connect, driver_errors
from partita.storage.sql.models import backfill_run_table as planned_runs
from partita.storage.sql.models import backfill_table as backfills
from partita.storage.sql.models import dag_run_table as runs
from partita.storage.sql.run_queue import run_record
from partita.storage.sql.writes import Statement

_ACTIVE = (RunState.QUEUED.value, RunState.RUNNING.value)
_PLANNED_COLUMNS = (
    "backfill_id", "ordinal", "logical_date", "data_interval_start", "data_interval_end",
    "run_id", "action", "done", "partition_key",
)  # fmt: skip
#: Partition keys looked up per query (a bound parameter each).
_KEYS_PER_QUERY = 500


def _backfill(row: Row[Any]) -> BackfillRecord:
    return BackfillRecord(
        backfill_id=row.backfill_id, dag_id=row.dag_id, from_date=row.from_date,
        to_date=row.to_date, status=BackfillStatus(row.status),
        reprocess=Reprocess(row.reprocess), max_active_runs=row.max_active_runs,
        total=row.total, created_at=row.created_at, ended_at=row.ended_at, conf=row.conf,
        partitions=row.partitions,
    )  # fmt: skip


def _planned(row: Row[Any]) -> PlannedRun:
    return PlannedRun(
        backfill_id=row.backfill_id, ordinal=row.ordinal, logical_date=row.logical_date,
        data_interval_start=row.data_interval_start, data_interval_end=row.data_interval_end,
        run_id=row.run_id, action=PlannedAction(row.action), done=bool(row.done),
        partition_key=row.partition_key,
    )  # fmt: skip


class SqlBackfillStore(BackfillStore):
    """Backfills in the metadata database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._codec = codec_for(engine.dialect)
        self._insert_planned = Statement.render(
            engine.dialect, planned_runs, _PLANNED_COLUMNS, on_conflict=None
        )
        quote = engine.dialect.identifier_preparer.quote
        columns = ", ".join(quote(c) for c in _PLANNED_COLUMNS)
        self._copy_planned = (
            f"COPY {quote(planned_runs.name)} ({columns}) FROM STDIN"
            if engine.dialect.name == "postgresql"
            else None
        )

    @contextmanager
    def _transaction(self, operation: str) -> Iterator[Connection]:
        with connect(self._engine, operation) as connection:
            connection.execution_options(**{WRITE_LOCK_OPTION: True})
            with connection.begin():
                yield connection

    def create(self, backfill: BackfillRecord, planned: Sequence[PlannedRun]) -> None:
        values = {f: getattr(backfill, f) for f in backfill.__struct_fields__}
        values["status"] = backfill.status.value
        values["reprocess"] = backfill.reprocess.value
        time = self._codec.dump_time
        rows = [
            (p.backfill_id, p.ordinal, time(p.logical_date), time(p.data_interval_start),
             time(p.data_interval_end), p.run_id, p.action.value, p.done, p.partition_key)
            for p in planned
        ]  # fmt: skip
        with self._transaction(f"create backfill {backfill.backfill_id!r}") as connection:
            connection.execute(backfills.insert().values(**values))
            if rows:  # driver rows: 10,000 planned runs are one statement's worth of work
                self._insert_rows(connection, rows)

    def _insert_rows(self, connection: Connection, rows: list[tuple[Any, ...]]) -> None:
        """Planned runs as driver rows: multi-row INSERTs on SQLite, ``COPY`` on PostgreSQL."""
        cursor = connection.connection.cursor()
        try:
            if self._copy_planned is None:
                with driver_errors(connection, self._insert_planned.sql):
                    self._insert_planned.run(cursor, rows)
                return
            statement = self._copy_planned
            with driver_errors(connection, statement), cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()

    def get(self, backfill_id: str) -> BackfillRecord:
        query = select(backfills).where(backfills.c.backfill_id == backfill_id)
        with connect(self._engine, f"read backfill {backfill_id!r}") as connection:
            row = connection.execute(query).one_or_none()
        if row is None:
            raise backfill_not_found(backfill_id)
        return _backfill(row)

    def list_backfills(
        self, *, dag_id: str | None = None, statuses: Iterable[BackfillStatus] | None = None,
        limit: int = 50, offset: int = 0,
    ) -> list[BackfillRecord]:  # fmt: skip
        query = select(backfills)
        if dag_id is not None:
            query = query.where(backfills.c.dag_id == dag_id)
        if statuses is not None:
            query = query.where(backfills.c.status.in_([s.value for s in statuses]))
        query = query.order_by(backfills.c.created_at.desc(), backfills.c.backfill_id.desc())
        with connect(self._engine, "list backfills") as connection:
            return [_backfill(row) for row in connection.execute(query.limit(limit).offset(offset))]

    def pending(self, backfill_id: str, limit: int) -> list[PlannedRun]:
        query = (
            select(planned_runs)
            .where(planned_runs.c.backfill_id == backfill_id, planned_runs.c.done.is_(False))
            .order_by(planned_runs.c.ordinal)
            .limit(limit)
        )
        with connect(self._engine, f"read the pending runs of backfill {backfill_id!r}") as c:
            return [_planned(row) for row in c.execute(query)]

    def mark_done(self, backfill_id: str, ordinals: Iterable[int]) -> None:
        chosen = sorted(set(ordinals))
        if not chosen:
            return
        change = (
            update(planned_runs)
            .where(planned_runs.c.backfill_id == backfill_id, planned_runs.c.ordinal.in_(chosen))
            .values(done=True)
        )
        with self._transaction(f"mark runs of backfill {backfill_id!r} queued") as connection:
            connection.execute(change)

    def keep_existing(self, backfill_id: str, kept: Mapping[int, str]) -> None:
        if not kept:
            return
        p = planned_runs.c
        change = (
            update(planned_runs)
            .where(p.backfill_id == backfill_id, p.ordinal == bindparam("at"))
            .values(action=PlannedAction.SKIP.value, run_id=bindparam("found"), done=True)
        )
        rows = [{"at": ordinal, "found": run_id} for ordinal, run_id in sorted(kept.items())]
        with self._transaction(f"keep existing runs in backfill {backfill_id!r}") as connection:
            connection.execute(change, rows)

    def _queued_runs(self) -> Any:
        """The backfill's planned runs that were queued, joined with their runs."""
        return planned_runs.join(
            runs,
            and_(
                runs.c.run_id == planned_runs.c.run_id,
                planned_runs.c.done.is_(True),
                planned_runs.c.action != PlannedAction.SKIP.value,
            ),
        )

    def active_count(self, backfill_id: str) -> int:
        query = (
            select(func.count())
            .select_from(self._queued_runs())
            .where(planned_runs.c.backfill_id == backfill_id, runs.c.state.in_(_ACTIVE))
        )
        with connect(self._engine, f"count the active runs of backfill {backfill_id!r}") as c:
            return int(c.execute(query).scalar_one())

    def progress(self, backfill_id: str) -> BackfillProgress:
        p = planned_runs.c
        counts = select(
            func.count(),
            func.coalesce(func.sum(case((p.done.is_(False), 1), else_=0)), 0),
            func.coalesce(func.sum(case((p.action == PlannedAction.SKIP.value, 1), else_=0)), 0),
        ).where(p.backfill_id == backfill_id)
        states = (
            select(runs.c.state, func.count())
            .select_from(self._queued_runs())
            .where(p.backfill_id == backfill_id)
            .group_by(runs.c.state)
        )
        with connect(self._engine, f"read the progress of backfill {backfill_id!r}") as c:
            self._check_exists(c, backfill_id)
            total, pending, skipped = c.execute(counts).one()
            by_state = {RunState(state): int(n) for state, n in c.execute(states)}
        return BackfillProgress(int(total), int(pending), int(skipped), by_state)

    def progress_of(self, backfill_ids: Sequence[str]) -> dict[str, BackfillProgress]:
        if not backfill_ids:
            return {}
        p = planned_runs.c
        ids = list(dict.fromkeys(backfill_ids))
        counts = (
            select(
                backfills.c.backfill_id,
                func.count(p.ordinal),
                func.coalesce(func.sum(case((p.done.is_(False), 1), else_=0)), 0),
                func.coalesce(
                    func.sum(case((p.action == PlannedAction.SKIP.value, 1), else_=0)), 0
                ),
            )
            .select_from(
                backfills.outerjoin(planned_runs, p.backfill_id == backfills.c.backfill_id)
            )
            .where(backfills.c.backfill_id.in_(ids))
            .group_by(backfills.c.backfill_id)
        )
        states = (
            select(p.backfill_id, runs.c.state, func.count())
            .select_from(self._queued_runs())
            .where(p.backfill_id.in_(ids))
            .group_by(p.backfill_id, runs.c.state)
        )
        with connect(self._engine, "read the progress of backfills") as c:
            totals = {row[0]: row[1:] for row in c.execute(counts)}
            by_state: dict[str, dict[RunState, int]] = {}
            for backfill_id, state, n in c.execute(states):
                by_state.setdefault(backfill_id, {})[RunState(state)] = int(n)
        return {
            b: BackfillProgress(int(total), int(pending), int(skipped), by_state.get(b, {}))
            for b, (total, pending, skipped) in totals.items()
        }

    @staticmethod
    def _check_exists(connection: Connection, backfill_id: str) -> None:
        query = select(backfills.c.backfill_id).where(backfills.c.backfill_id == backfill_id)
        if connection.execute(query).first() is None:
            raise backfill_not_found(backfill_id)

    def finish(self, backfill_id: str, status: BackfillStatus, when: datetime) -> bool:
        change = (
            update(backfills)
            .where(
                backfills.c.backfill_id == backfill_id,
                backfills.c.status == BackfillStatus.RUNNING.value,
            )
            .values(status=status.value, ended_at=when)
        )
        with self._transaction(f"end backfill {backfill_id!r}") as connection:
            if connection.execute(change).rowcount == 1:
                return True
            self._check_exists(connection, backfill_id)
            return False

    def planned_run_ids(self, backfill_id: str, *, done: bool | None = None) -> list[str]:
        p = planned_runs.c
        query = select(p.run_id).where(
            p.backfill_id == backfill_id, p.action != PlannedAction.SKIP.value
        )
        if done is not None:
            query = query.where(p.done.is_(done))
        with connect(self._engine, f"read the runs of backfill {backfill_id!r}") as c:
            return list(c.execute(query.order_by(p.ordinal)).scalars())

    def runs_for_partitions(
        self, dag_id: str, partition_keys: Sequence[str]
    ) -> dict[str, DagRunRecord]:
        keys = sorted(set(partition_keys))
        found: dict[str, DagRunRecord] = {}
        with connect(self._engine, f"read the runs of DAG {dag_id!r} by partition") as c:
            for start in range(0, len(keys), _KEYS_PER_QUERY):
                chunk = keys[start : start + _KEYS_PER_QUERY]
                query = (
                    select(runs)
                    .where(runs.c.dag_id == dag_id, runs.c.partition_key.in_(chunk))
                    .order_by(runs.c.queued_at.nulls_first(), runs.c.run_id)
                )
                for row in c.execute(query):
                    run = run_record(row)
                    if run.partition_key is not None:
                        found[run.partition_key] = run
        return found

    def runs_at(self, dag_id: str, first: datetime, last: datetime) -> dict[datetime, DagRunRecord]:
        query = (
            select(runs)
            .where(runs.c.dag_id == dag_id, runs.c.logical_date.between(first, last))
            .order_by(runs.c.queued_at.nulls_first(), runs.c.run_id)
        )
        found: dict[datetime, DagRunRecord] = {}
        with connect(self._engine, f"read the runs of DAG {dag_id!r} in a range") as c:
            for row in c.execute(query):
                run = run_record(row)
                if run.logical_date is not None:
                    found[run.logical_date] = run
        return found


__all__ = ["SqlBackfillStore"]
