"""The instigator store on SQL: ``instigator_state``, ``instigator_tick``, ``sensor_run_key``.

The design decision: the ticks of a scheduler pass are one transaction
(``record_ticks``) holding the runs they queue (through
``run_queue.insert_runs``, the run queue's own insert), the run keys, the
tick rows and the state upserts, each an executemany; keys and runs are
inserted with ``ON CONFLICT DO NOTHING`` (the same on SQLite and PostgreSQL),
so a concurrent or repeated evaluation cannot store either twice. "Which of
these run keys were used" is one query on the (sensor_name, key_digest)
primary key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from partita.storage.instigators import (
    InstigatorKind,
    InstigatorState,
    InstigatorStatus,
    InstigatorStore,
    TickRecord,
    TickStatus,
    TickWrite,
    run_key_digest,
)
from partita.storage.sql.engine import WRITE_LOCK_OPTION
from partita.storage.sql.errors import connect
from partita.storage.sql.models import instigator_state_table as states
from partita.storage.sql.models import instigator_tick_table as ticks
from partita.storage.sql.models import sensor_run_key_table as run_keys_table
from partita.storage.sql.run_queue import insert_runs

#: Run keys looked up per statement (well under every driver's parameter limit).
_KEYS_PER_QUERY = 500


def _state(row: Row[Any]) -> InstigatorState:
    return InstigatorState(
        kind=InstigatorKind(row.kind),
        name=row.name,
        status=None if row.status is None else InstigatorStatus(row.status),
        cursor=row.cursor,
        last_tick_at=row.last_tick_at,
        updated_at=row.updated_at,
    )


def _tick(row: Row[Any]) -> TickRecord:
    return TickRecord(
        kind=InstigatorKind(row.kind),
        name=row.name,
        status=TickStatus(row.status),
        timestamp=row.timestamp,
        run_ids=list(row.run_ids or []),
        run_keys=list(row.run_keys or []),
        skip_reason=row.skip_reason,
        error=row.error,
        cursor=row.cursor,
        duration=row.duration,
        id=row.id,
    )


class SqlInstigatorStore(InstigatorStore):
    """Sensor and schedule state, ticks and run keys in the metadata database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    @contextmanager
    def _transaction(self, operation: str) -> Iterator[Connection]:
        with connect(self._engine, operation) as connection:
            connection.execution_options(**{WRITE_LOCK_OPTION: True})
            with connection.begin():
                yield connection

    def get_state(self, kind: InstigatorKind, name: str) -> InstigatorState | None:
        query = select(states).where(states.c.kind == str(kind), states.c.name == name)
        with connect(self._engine, f"read the state of {kind} {name!r}") as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else _state(row)

    def list_states(self, kind: InstigatorKind) -> list[InstigatorState]:
        query = select(states).where(states.c.kind == str(kind)).order_by(states.c.name)
        with connect(self._engine, f"list the {kind} states") as connection:
            return [_state(row) for row in connection.execute(query)]

    def set_status(
        self, kind: InstigatorKind, name: str, status: InstigatorStatus | None, at: datetime
    ) -> InstigatorState:
        value = None if status is None else str(status)
        with self._transaction(f"set the status of {kind} {name!r}") as connection:
            self._upsert(connection, kind, name, {"status": value, "updated_at": at})
            row = connection.execute(
                select(states).where(states.c.kind == str(kind), states.c.name == name)
            ).one()
        return _state(row)

    def set_cursor(self, kind: InstigatorKind, name: str, cursor: str | None, at: datetime) -> None:
        with self._transaction(f"set the cursor of {kind} {name!r}") as connection:
            self._upsert(connection, kind, name, {"cursor": cursor, "updated_at": at})

    def claim_due(
        self, kind: InstigatorKind, due_if_before: Mapping[str, datetime], now: datetime
    ) -> dict[str, InstigatorState]:
        if not due_if_before:
            return {}
        names = sorted(due_if_before)
        mine = (states.c.kind == str(kind)) & states.c.name.in_(names)
        lock = select(states).where(mine).order_by(states.c.name)
        if self._engine.dialect.name == "postgresql":
            lock = lock.with_for_update(skip_locked=True)
        what = f"claim {len(names)} due {kind}(s), the first {names[0]!r}"
        with self._transaction(what) as connection:
            known = set(connection.scalars(select(states.c.name).where(mine)))
            missing = [name for name in names if name not in known]
            if missing:  # never ticked: a row to lock (another claim may insert it too)
                connection.execute(
                    self._insert(states).on_conflict_do_nothing(),
                    [{"kind": str(kind), "name": name, "updated_at": now} for name in missing],
                )
            claimed = {
                row.name: _state(row)
                for row in connection.execute(lock)
                if row.last_tick_at is None or row.last_tick_at <= due_if_before[row.name]
            }
            if claimed:
                connection.execute(
                    update(states)
                    .where(states.c.kind == str(kind), states.c.name.in_(sorted(claimed)))
                    .values(last_tick_at=now)
                )
        return claimed

    def used_run_keys(self, sensor: str, run_keys: Sequence[str]) -> set[str]:
        by_digest = {run_key_digest(key): key for key in run_keys}
        digests = list(by_digest)
        used: set[str] = set()
        column = run_keys_table.c
        with connect(self._engine, f"look up the run keys of sensor {sensor!r}") as connection:
            for start in range(0, len(digests), _KEYS_PER_QUERY):
                query = select(column.key_digest).where(
                    column.sensor_name == sensor,
                    column.key_digest.in_(digests[start : start + _KEYS_PER_QUERY]),
                )
                used.update(by_digest[digest] for digest in connection.scalars(query))
        return used

    def record_ticks(self, writes: Sequence[TickWrite]) -> list[TickRecord]:
        if not writes:
            return []
        what = f"record {len(writes)} tick(s), the first of {writes[0].tick.kind} "
        with self._transaction(what + repr(writes[0].tick.name)) as connection:
            insert_runs(connection, [run for write in writes for run in write.runs])
            keys = [
                _key_values(w.tick, key, run_id)
                for w in writes
                for key, run_id in w.run_keys.items()
            ]
            if keys:
                connection.execute(self._insert(run_keys_table).on_conflict_do_nothing(), keys)
            inserted = connection.execute(
                ticks.insert().returning(ticks.c.id, sort_by_parameter_order=True),
                [_tick_values(w.tick) for w in writes],
            )
            ids = list(inserted.scalars())
            latest = {(w.tick.kind, w.tick.name): w.tick for w in writes}  # the last of each
            statement = self._insert(states)
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["kind", "name"],
                    set_={
                        "cursor": statement.excluded.cursor,
                        "last_tick_at": statement.excluded.last_tick_at,
                        "updated_at": statement.excluded.updated_at,
                    },
                ),
                [
                    {"kind": str(t.kind), "name": t.name, "status": None, "cursor": t.cursor,
                     "last_tick_at": t.timestamp, "updated_at": t.timestamp}
                    for t in latest.values()
                ],
            )  # fmt: skip
        return [w.tick.with_id(tick_id) for w, tick_id in zip(writes, ids, strict=True)]

    def list_ticks(
        self,
        kind: InstigatorKind,
        name: str,
        *,
        statuses: Sequence[TickStatus] | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[TickRecord]:
        query = select(ticks).where(ticks.c.kind == str(kind), ticks.c.name == name)
        if statuses is not None:
            query = query.where(ticks.c.status.in_([str(s) for s in statuses]))
        query = query.order_by(ticks.c.id.desc()).limit(limit).offset(offset)
        with connect(self._engine, f"list the ticks of {kind} {name!r}") as connection:
            return [_tick(row) for row in connection.execute(query)]

    def _upsert(
        self, connection: Connection, kind: InstigatorKind, name: str, changes: dict[str, Any]
    ) -> None:
        statement = self._insert(states).values(kind=str(kind), name=name, **changes)
        connection.execute(
            statement.on_conflict_do_update(index_elements=["kind", "name"], set_=changes)
        )


def _key_values(tick: TickRecord, run_key: str, run_id: str) -> dict[str, Any]:
    return {
        "sensor_name": tick.name,
        "key_digest": run_key_digest(run_key),
        "run_key": run_key,
        "run_id": run_id,
        "created_at": tick.timestamp,
    }


def _tick_values(tick: TickRecord) -> dict[str, Any]:
    return {
        "kind": str(tick.kind),
        "name": tick.name,
        "status": str(tick.status),
        "timestamp": tick.timestamp,
        "run_ids": list(tick.run_ids),
        "run_keys": list(tick.run_keys),
        "skip_reason": tick.skip_reason,
        "error": tick.error,
        "cursor": tick.cursor,
        "duration": tick.duration,
    }


__all__ = ["SqlInstigatorStore"]
