"""``SqlHook``: a SQL database reached through a SQLAlchemy engine made from a connection.

The connection's type names the dialect (``postgres``, ``sqlite``, ``mysql``...,
as ``partita connections test`` reads them); ``run`` executes one statement
or several, with parameters, and answers rows as lists of tuples, which a
task can return as its output (they are JSON-storable).

The design decision: statements go through SQLAlchemy's ``text()``, so
parameters are written ``:name`` whatever the driver, and each ``run`` is
one transaction (committed at the end, rolled back on error). The engine
pools no connections (``NullPool``): a task's hook holds none open after a
call, so forgetting ``dispose()`` leaks nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from partita.exceptions import PartitaError
from partita.hooks.base import BaseHook
from partita.hooks.connection_check import SQL_DRIVERS, sqlalchemy_url

Parameters = Mapping[str, Any] | None
Row = tuple[Any, ...]


class SqlError(PartitaError):
    """A statement failed, or the connection cannot reach a SQL database."""


def split_sql(sql: str) -> list[str]:
    """The statements of a script: split at ``;`` outside quotes, blanks and comments dropped."""
    statements: list[str] = []
    current: list[str] = []
    for token in re.split(r"('(?:[^']|'')*'|\"[^\"]*\"|--[^\n]*|;)", sql):
        if token == ";":
            statements.append("".join(current))
            current = []
        elif not token.startswith("--"):
            current.append(token)
    statements.append("".join(current))
    return [s.strip() for s in statements if s.strip()]


class SqlHook(BaseHook):
    """Runs SQL on the database of connection ``conn_id``."""

    conn_name_attr = "conn_id"
    default_conn_name = "sql_default"
    hook_name = "SQL"

    def __init__(self, conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.conn_id = conn_id
        self._engine: Engine | None = None

    def get_uri(self) -> str:
        """The SQLAlchemy URL of the connection, password included."""
        return self._url().render_as_string(hide_password=False)

    def _url(self) -> Any:
        connection = self.get_connection(self.conn_id)
        connection.register_secrets()
        driver = SQL_DRIVERS.get(connection.conn_type or "")
        if driver is None:
            raise SqlError(
                f"connection {self.conn_id!r} has type {connection.conn_type!r}, which is not a "
                f"SQL database; use one of {', '.join(sorted(SQL_DRIVERS))}"
            )
        return sqlalchemy_url(connection, driver)

    def get_sqlalchemy_engine(self) -> Engine:
        """The hook's engine (made once, from the connection)."""
        if self._engine is None:
            self._engine = create_engine(self._url(), poolclass=NullPool)
        return self._engine

    def get_conn(self) -> Engine:
        return self.get_sqlalchemy_engine()

    def run(
        self,
        sql: str | Sequence[str],
        parameters: Parameters = None,
        *,
        handler: Callable[[Any], Any] | None = None,
        split_statements: bool = False,
        return_last: bool = True,
    ) -> Any:
        """Run the statement(s) in one transaction; with ``handler``, what it returns per statement.

        ``return_last`` answers only the last statement's result when there are several.
        """
        statements = [sql] if isinstance(sql, str) else list(sql)
        if split_statements:
            statements = [part for item in statements for part in split_sql(item)]
        if not statements:
            raise SqlError(f"connection {self.conn_id!r}: no SQL statement to run")
        results: list[Any] = []
        engine = self.get_sqlalchemy_engine()
        try:
            with engine.begin() as db:
                for statement in statements:
                    result = db.execute(text(statement), dict(parameters or {}))
                    results.append(handler(result) if handler is not None else None)
        except SQLAlchemyError as exc:
            first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise SqlError(f"SQL on connection {self.conn_id!r} failed: {first}") from exc
        if handler is None:
            return None
        return (
            results[-1]
            if return_last or (isinstance(sql, str) and not split_statements)
            else results
        )

    def get_records(self, sql: str | Sequence[str], parameters: Parameters = None) -> list[Row]:
        """The rows of the (last) statement."""
        return self.run(sql, parameters, handler=fetch_all_handler)

    def get_first(self, sql: str | Sequence[str], parameters: Parameters = None) -> Row | None:
        """The first row of the (last) statement, or None."""
        return self.run(sql, parameters, handler=fetch_one_handler)

    def insert_rows(self, table: str, rows: Iterable[Sequence[Any]], columns: Sequence[str]) -> int:
        """Insert ``rows`` (one value per column) into ``table``; the number inserted."""
        names = ", ".join(columns)
        marks = ", ".join(f":p{i}" for i in range(len(columns)))
        statement = text(f"INSERT INTO {table} ({names}) VALUES ({marks})")
        batch = [{f"p{i}": v for i, v in enumerate(row)} for row in rows]
        if batch:
            with self.get_sqlalchemy_engine().begin() as db:
                db.execute(statement, batch)
        return len(batch)

    def test_connection(self) -> tuple[bool, str]:
        try:
            self.get_first("SELECT 1")
        except PartitaError as exc:
            return False, str(exc)
        return True, "SELECT 1 answered"

    def dispose(self) -> None:
        """Close the engine's pooled connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


class DbApiHook(SqlHook):
    """Airflow's name for the SQL hook (``airflow.providers.common.sql.hooks.sql.DbApiHook``).

    The same hook as ``SqlHook`` (``run``, ``get_records``, ``get_first``,
    ``insert_rows``), plus ``get_pandas_df`` when pandas is installed. A
    subclass may name its connection argument as Airflow's do, by setting
    ``conn_name_attr`` (``DbApiHook(my_conn_id="db")`` then reads ``my_conn_id``)::

        hook = DbApiHook("warehouse")
        frame = hook.get_pandas_df("SELECT * FROM sales WHERE day = :day", {"day": ds})
    """

    def __init__(self, *args: str, **kwargs: Any) -> None:
        name = self.conn_name_attr
        conn_id = kwargs.pop(name, None) if name != "conn_id" else None
        conn_id = conn_id or kwargs.pop("conn_id", None) or (args[0] if args else None)
        if kwargs or len(args) > 1:
            unknown = ", ".join(sorted(kwargs)) or f"{len(args)} positional arguments"
            raise TypeError(
                f"{type(self).__name__} takes one connection id ({name}=...), not {unknown}"
            )
        super().__init__(conn_id or self.default_conn_name)

    def get_pandas_df(self, sql: str, parameters: Parameters = None) -> Any:
        """The rows of ``sql`` as a ``pandas.DataFrame`` (needs pandas: ``pip install pandas``)."""
        try:
            import pandas
        except ImportError:
            raise SqlError(
                "get_pandas_df needs pandas, which is not installed; pip install pandas, or use "
                "get_records"
            ) from None
        engine = self.get_sqlalchemy_engine()
        try:
            with engine.connect() as db:
                result = db.execute(text(sql), dict(parameters or {}))
                return pandas.DataFrame(result.fetchall(), columns=list(result.keys()))
        except SQLAlchemyError as exc:
            first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise SqlError(f"SQL on connection {self.conn_id!r} failed: {first}") from exc

    get_df = get_pandas_df


def fetch_all_handler(result: Any) -> list[Row] | None:
    """The rows of a statement that returns rows, as plain tuples; None for one that does not."""
    if not result.returns_rows:
        return None
    return [tuple(row) for row in result.fetchall()]


def fetch_one_handler(result: Any) -> Row | None:
    """The first row of a statement, or None."""
    if not result.returns_rows:
        return None
    row = result.fetchone()
    return tuple(row) if row is not None else None


__all__ = [
    "DbApiHook",
    "SqlError",
    "SqlHook",
    "fetch_all_handler",
    "fetch_one_handler",
    "split_sql",
]
