"""Retention on SQL: old finished runs and everything of theirs, old backfills, stale heartbeats.

The design decision: a batch first selects the ids it will delete (finished
runs that ended before the cutoff and are not among the ``keep_last`` newest
of their DAG: a window function ranks each DAG's runs), then deletes their
rows from every table keyed by run id, in one short transaction; output
files are removed after it commits, so a crash never leaves a row pointing
at a deleted file.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, and_, delete, func, select
from sqlalchemy.engine import Connection

from partita.definitions.states import RunState
from partita.storage.backfills import BackfillStatus
from partita.storage.retention import RetentionPolicy, RetentionStore
from partita.storage.sql.engine import WRITE_LOCK_OPTION
from partita.storage.sql.errors import connect
from partita.storage.sql.models import (
    asset_materialization_table,
    backfill_run_table,
    backfill_table,
    dag_run_table,
    event_table,
    instigator_tick_table,
    log_line_table,
    run_claim_table,
    scheduler_heartbeat_table,
    task_instance_table,
    task_output_table,
    web_session_table,
)
from partita.storage.sql.outputs import INLINE

_FINISHED = [s.value for s in RunState if s.finished]
#: Every table with a ``run_id`` column whose rows belong to one run (children first).
_RUN_TABLES: tuple[Table, ...] = (
    task_instance_table, event_table, task_output_table, log_line_table, run_claim_table,
)  # fmt: skip


class SqlRetentionStore(RetentionStore):
    """Deletes old rows of the metadata database, one short transaction per batch."""

    def __init__(self, engine: Engine, run_folder: Callable[[str], Path]) -> None:
        self._engine = engine
        self._run_folder = run_folder

    @contextmanager
    def _transaction(self, operation: str) -> Iterator[Connection]:
        with connect(self._engine, operation) as connection:
            connection.execution_options(**{WRITE_LOCK_OPTION: True})
            with connection.begin():
                yield connection

    def _old(self, policy: RetentionPolicy, table: str) -> Any:
        """A select of the ids of what ``table``'s part of the policy deletes."""
        if table == "runs":
            runs = dag_run_table.c
            ranked = select(
                runs.run_id, runs.state, func.coalesce(runs.end_date, runs.queued_at).label("at"),
                func.row_number().over(
                    partition_by=runs.dag_id,
                    order_by=(runs.queued_at.desc().nulls_last(), runs.run_id.desc()),
                ).label("rank"),
            ).subquery()  # fmt: skip
            b, p = backfill_table.c, backfill_run_table.c
            of_running_backfills = (
                select(p.run_id)
                .join(backfill_table, b.backfill_id == p.backfill_id)
                .where(b.status == BackfillStatus.RUNNING.value)
            )
            return select(ranked.c.run_id).where(
                ranked.c.state.in_(_FINISHED), ranked.c.at < policy.cutoff,
                ranked.c.rank > policy.keep_last, ranked.c.run_id.not_in(of_running_backfills),
            )  # fmt: skip
        if table == "backfills":
            b = backfill_table.c
            finished = [s.value for s in BackfillStatus if s.finished]
            return select(b.backfill_id).where(b.status.in_(finished), b.ended_at < policy.cutoff)
        if table == "schedulers":
            h = scheduler_heartbeat_table.c
            return select(h.scheduler_id).where(h.heartbeat_at < policy.cutoff)
        if table == "ticks":
            return _old_ticks(policy)
        if table == "asset_events":
            return _old_materializations(policy)
        if table == "sessions":
            s = web_session_table.c
            return select(s.session_hash).where(s.expires_at < policy.sessions_expired_by)
        raise ValueError(f"unknown retention table {table!r}")

    def count(self, policy: RetentionPolicy, table: str) -> int:
        query = select(func.count()).select_from(self._old(policy, table).subquery())
        with connect(self._engine, f"count the old {table}") as connection:
            return int(connection.execute(query).scalar_one())

    def delete_batch(self, policy: RetentionPolicy, table: str, limit: int) -> int:
        with self._transaction(f"delete old {table}") as connection:
            ids = list(connection.execute(self._old(policy, table).limit(limit)).scalars())
            if not ids:
                return 0
            files = self._delete(connection, table, ids)
        for path in files:
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(True)
        return len(ids)

    def _delete(self, connection: Connection, table: str, ids: list[str]) -> list[Path]:
        """Delete the rows of ``ids``; return the files and folders to remove afterwards."""
        if table == "schedulers":
            h = scheduler_heartbeat_table.c
            connection.execute(delete(scheduler_heartbeat_table).where(h.scheduler_id.in_(ids)))
            return []
        if table == "backfills":
            for t in (backfill_run_table, backfill_table):
                connection.execute(delete(t).where(t.c.backfill_id.in_(ids)))
            return []
        if table in _BY_ID:
            by_id, column = _BY_ID[table]
            connection.execute(delete(by_id).where(by_id.c[column].in_(ids)))
            return []
        outputs = task_output_table.c
        located = select(outputs.location).where(
            and_(outputs.run_id.in_(ids), outputs.location != INLINE)
        )
        files = [Path(p) for p in connection.execute(located).scalars()]
        for t in (*_RUN_TABLES, dag_run_table):
            connection.execute(delete(t).where(t.c.run_id.in_(ids)))
        return files + [self._run_folder(run_id) for run_id in ids]


#: Tables whose old rows are deleted by one id column alone.
_BY_ID: dict[str, tuple[Table, str]] = {
    "ticks": (instigator_tick_table, "id"),
    "asset_events": (asset_materialization_table, "id"),
    "sessions": (web_session_table, "session_hash"),
}


def _old_ticks(policy: RetentionPolicy) -> Any:
    """Ticks before the cutoff, oldest first, beyond the ``keep_last`` newest of each instigator.

    Oldest first by id: old ticks are the first rows of the primary key, so a
    batch reads little more than what it deletes. The ``keep_last`` newest are
    found through the (kind, name, id) index.
    """
    t, newer = instigator_tick_table.c, instigator_tick_table.alias("newer").c
    query = select(t.id).where(t.timestamp < policy.cutoff).order_by(t.id)
    if policy.keep_last:
        kept_from = (
            select(newer.id)
            .where(newer.kind == t.kind, newer.name == t.name)
            .order_by(newer.id.desc())
            .offset(policy.keep_last - 1)
            .limit(1)
            .scalar_subquery()
        )
        query = query.where(t.id < kept_from)
    return query


def _old_materializations(policy: RetentionPolicy) -> Any:
    """Materializations before the cutoff with ``max(1, keep_last)`` newer ones (same partition)."""
    m, newer = asset_materialization_table.c, asset_materialization_table.alias("newer").c
    enough_newer = (
        select(newer.id)
        .where(
            newer.asset_key == m.asset_key,
            newer.partition_key.is_not_distinct_from(m.partition_key),
            newer.id > m.id,
        )
        .order_by(newer.id)
        .offset(max(1, policy.keep_last) - 1)
        .limit(1)
        .exists()
    )
    return select(m.id).where(m.timestamp < policy.cutoff, enough_newer).order_by(m.id)


__all__ = ["SqlRetentionStore"]
