"""Task logs in the ``log_line`` table: bounded, indexed reads of one try at a time.

The design decision: every read names one try (run, task, map index, try)
and a range of ``seq``, the last part of the primary key, so a range, a tail
(``ORDER BY seq DESC LIMIT n``) or a live follow ("after seq N") is an index
range scan that costs the same on a log of a hundred lines or of millions.
Rows come straight from the DB-API cursor and are converted by ``codec``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from partita.storage.base import LogStore
from partita.storage.records import LogLineRecord
from partita.storage.sql.codec import codec_for
from partita.storage.sql.errors import connect, driver_errors
from partita.storage.sql.models import log_line_table


class SqlLogStore(LogStore):
    """Reads the ``log_line`` table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._codec = codec_for(engine.dialect)
        mark = self._codec.placeholder
        self._try = (
            f"FROM {log_line_table.name} WHERE run_id = {mark} AND task_id = {mark} "
            f"AND map_index = {mark} AND try_number = {mark}"
        )
        self._columns = "SELECT seq, timestamp, level, message "

    def read_lines(
        self,
        run_id: str,
        task_id: str,
        map_index: int = -1,
        try_number: int = 1,
        *,
        start: int = 0,
        limit: int | None = None,
    ) -> list[LogLineRecord]:
        mark = self._codec.placeholder
        sql = f"{self._columns}{self._try} AND seq >= {mark} ORDER BY seq"
        params: list[Any] = [run_id, task_id, map_index, try_number, start]
        if limit is not None:
            sql += f" LIMIT {mark}"
            params.append(max(limit, 0))
        rows = self._rows(sql, params, f"read the log of task {task_id!r} of run {run_id!r}")
        return self._records(rows, run_id, task_id, map_index, try_number)

    def tail_lines(
        self, run_id: str, task_id: str, map_index: int, try_number: int, count: int
    ) -> list[LogLineRecord]:
        if count <= 0:
            return []
        mark = self._codec.placeholder
        sql = f"{self._columns}{self._try} ORDER BY seq DESC LIMIT {mark}"
        params = [run_id, task_id, map_index, try_number, count]
        rows = self._rows(sql, params, f"read the log of task {task_id!r} of run {run_id!r}")
        return self._records(list(reversed(rows)), run_id, task_id, map_index, try_number)

    def log_tries(self, run_id: str, task_id: str, map_index: int = -1) -> list[int]:
        # One index probe per try (a loose index scan), not a scan of every line.
        mark = self._codec.placeholder
        sql = (
            f"SELECT MIN(try_number) FROM {log_line_table.name} WHERE run_id = {mark} "
            f"AND task_id = {mark} AND map_index = {mark} AND try_number > {mark}"
        )
        tries: list[int] = []
        last = -1
        with connect(self._engine, f"list the log tries of task {task_id!r}") as connection:
            cursor = connection.connection.cursor()
            try:
                while True:
                    with driver_errors(connection, sql):
                        cursor.execute(sql, (run_id, task_id, map_index, last))
                        row = cursor.fetchone()
                    found = None if row is None else row[0]
                    if found is None:
                        return tries
                    tries.append(found)
                    last = found
            finally:
                cursor.close()

    def _rows(self, sql: str, params: Sequence[Any], operation: str) -> list[Any]:
        with connect(self._engine, operation) as connection:
            cursor = connection.connection.cursor()
            try:
                with driver_errors(connection, sql):
                    cursor.execute(sql, tuple(params))
                    return list(cursor.fetchall())
            finally:
                cursor.close()

    def _records(
        self, rows: list[Any], run_id: str, task_id: str, map_index: int, try_number: int
    ) -> list[LogLineRecord]:
        load_time = self._codec.load_time
        return [
            LogLineRecord(
                run_id, task_id, map_index, try_number, seq, load_time(stamp),  # type: ignore[arg-type]
                level, message,
            )
            for seq, stamp, level, message in rows
        ]  # fmt: skip


__all__ = ["SqlLogStore"]
