"""The automation store on SQL: ``asset_materialization`` read by id, ``automation_cursor`` rows.

The design decision: ``advance`` is one transaction that updates the cursor
row only at the version the caller read (``UPDATE ... WHERE version = ?``,
or an insert that does nothing when the row exists) and inserts the runs
with "insert unless present"; when the cursor moved meanwhile the
transaction is rolled back and nothing is queued.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from partita.definitions.asset_key import AssetKey
from partita.storage.automation import AutomationStore, CursorRecord
from partita.storage.records import AssetMaterializationRecord, DagRunRecord
from partita.storage.sql.assets import materialization_record
from partita.storage.sql.engine import WRITE_LOCK_OPTION
from partita.storage.sql.errors import connect
from partita.storage.sql.models import asset_materialization_table as events
from partita.storage.sql.models import automation_cursor_table as cursors
from partita.storage.sql.models import dag_run_table as runs
from partita.storage.sql.run_queue import run_values
from partita.storage.sql.writes import asset_key_text


class _Conflict(Exception):
    """The cursor moved since the caller read it: roll the transaction back."""


class SqlAutomationStore(AutomationStore):
    """Cursors in ``automation_cursor``; events from ``asset_materialization``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name

    def _insert(self, table: Any) -> Any:
        return (postgresql.insert if self._dialect == "postgresql" else sqlite.insert)(table)

    def events_after(
        self,
        after_id: int,
        asset_keys: Iterable[AssetKey] | None = None,
        *,
        limit: int = 1000,
    ) -> list[AssetMaterializationRecord]:
        query = select(events).where(events.c.id > after_id)
        if asset_keys is not None:
            query = query.where(events.c.asset_key.in_([asset_key_text(k) for k in asset_keys]))
        query = query.order_by(events.c.id).limit(limit)
        with connect(self._engine, "read asset events") as connection:
            return [materialization_record(row) for row in connection.execute(query)]

    def last_event_id(self) -> int:
        with connect(self._engine, "read the last asset event id") as connection:
            return int(connection.execute(select(func.max(events.c.id))).scalar() or 0)

    def get_cursor(self, name: str) -> CursorRecord | None:
        query = select(cursors).where(cursors.c.name == name)
        with connect(self._engine, f"read automation cursor {name!r}") as connection:
            row = connection.execute(query).one_or_none()
        if row is None:
            return None
        return CursorRecord(row.name, row.version, row.value, row.updated_at)

    def list_cursors(self, prefix: str = "") -> list[CursorRecord]:
        query = select(cursors).order_by(cursors.c.name)
        if prefix:
            query = query.where(cursors.c.name.startswith(prefix, autoescape=True))
        with connect(self._engine, "list automation cursors") as connection:
            return [
                CursorRecord(row.name, row.version, row.value, row.updated_at)
                for row in connection.execute(query)
            ]

    def advance(
        self,
        name: str,
        seen_version: int | None,
        value: dict[str, Any],
        runs_to_queue: Sequence[DagRunRecord],
        now: datetime,
    ) -> bool:
        try:
            with connect(self._engine, f"advance automation cursor {name!r}") as connection:
                connection.execution_options(**{WRITE_LOCK_OPTION: True})
                with connection.begin():
                    if seen_version is None:
                        statement = (
                            self._insert(cursors)
                            .values(name=name, version=1, value=value, updated_at=now)
                            .on_conflict_do_nothing()
                            .returning(cursors.c.name)
                        )
                    else:
                        statement = (
                            update(cursors)
                            .where(cursors.c.name == name, cursors.c.version == seen_version)
                            .values(version=seen_version + 1, value=value, updated_at=now)
                            .returning(cursors.c.name)
                        )
                    if connection.execute(statement).first() is None:
                        raise _Conflict
                    for run in runs_to_queue:
                        insert = self._insert(runs).values(**run_values(run))
                        connection.execute(insert.on_conflict_do_nothing())
        except _Conflict:
            return False
        return True


__all__ = ["SqlAutomationStore"]
