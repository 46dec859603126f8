"""``SQLExecuteQueryOperator`` and ``SqlSensor``: SQL on a connection's database as tasks.

The operator runs ``sql`` (a statement, a list of them, or a script split
with ``split_statements``) with ``parameters`` (``:name`` placeholders) and
returns the rows of the last statement (``return_last``) or of each, as
lists of tuples, so the output is JSON-storable. ``SqlSensor`` waits until
the first cell of the first row of its query is truthy.

The design decision: both use ``SqlHook`` (SQLAlchemy Core, ``text()``), so
the same task runs on SQLite and PostgreSQL; the ``.sql`` extension makes
``sql`` a template file, as in Airflow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from partita.definitions.baseoperator import BaseOperator
from partita.definitions.context import Context
from partita.definitions.sensor_operator import BaseSensorOperator
from partita.exceptions import DefinitionError
from partita.hooks.sql import SqlHook, fetch_all_handler


class SQLExecuteQueryOperator(BaseOperator):
    """Run ``sql`` on connection ``conn_id``; the output is the rows."""

    template_fields = ("sql", "parameters")
    template_ext = (".sql",)
    ui_color = "#cdaaed"

    def __init__(
        self,
        *,
        sql: str | Sequence[str],
        conn_id: str = "sql_default",
        parameters: Mapping[str, Any] | None = None,
        split_statements: bool = False,
        return_last: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(sql, str):
            ok = bool(sql.strip())
        else:
            ok = bool(sql) and all(isinstance(s, str) and s.strip() for s in sql)
        if not ok:
            raise DefinitionError(
                f"task {self.task_id!r}: sql must be a non-empty string or a list of them"
            )
        self.sql = sql if isinstance(sql, str) else list(sql)
        self.conn_id = conn_id
        self.parameters = dict(parameters or {})
        self.split_statements = split_statements
        self.return_last = return_last

    def execute(self, context: Context) -> Any:
        hook = SqlHook(self.conn_id)
        context["log"].info("running SQL on connection %s: %s", self.conn_id, self.sql)
        try:
            return hook.run(
                self.sql, self.parameters, handler=fetch_all_handler,
                split_statements=self.split_statements, return_last=self.return_last,
            )  # fmt: skip
        finally:
            hook.dispose()


class SqlSensor(BaseSensorOperator):
    """Wait until the first cell of ``sql``'s first row is truthy (no row: not yet)."""

    template_fields = ("sql", "parameters")
    template_ext = (".sql",)

    def __init__(
        self,
        *,
        conn_id: str,
        sql: str,
        parameters: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.sql = sql
        self.parameters = dict(parameters or {})

    def poke(self, context: Context) -> bool:
        hook = SqlHook(self.conn_id)
        try:
            row = hook.get_first(self.sql, self.parameters)
        finally:
            hook.dispose()
        return bool(row and row[0])


__all__ = ["SQLExecuteQueryOperator", "SqlSensor"]
