"""Turn database failures into ``StorageError`` that names the database and the operation.

The design decision: callers of a store never see SQLAlchemy or driver
exceptions. The message keeps the driver's own one-line reason and drops the
SQL text and bound parameters SQLAlchemy appends (a batch insert would print
hundreds of rows); the original stays chained as ``__cause__``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError, StatementError

from partita.exceptions import StorageError
from partita.storage.sql.engine import WRITE_LOCK_OPTION, mask_url
from partita.storage.values import UnstorableValueError


def describe_error(exc: BaseException) -> str:
    """The first line of the underlying reason of a database error."""
    reason: BaseException = exc
    if isinstance(exc, StatementError) and exc.orig is not None:
        reason = exc.orig
    text = str(reason).strip().splitlines()
    first = text[0] if text else type(reason).__name__
    return f"{type(reason).__name__}: {first}"


@contextmanager
def wrap_db_errors(
    url: URL,
    operation: str | Callable[[], str],
    *,
    also: tuple[type[Exception], ...] = (),
) -> Iterator[None]:
    """Re-raise database errors, unstorable values and ``also`` (Alembic's) as ``StorageError``.

    ``operation`` says what was being done ("read run 'x'"); pass a callable
    when building that text costs something, so it is only built on failure.
    """
    caught: tuple[type[Exception], ...] = (SQLAlchemyError, UnstorableValueError, *also)
    try:
        yield
    except caught as exc:
        what = operation if isinstance(operation, str) else operation()
        raise StorageError(
            f"database {mask_url(url)}: could not {what}: {describe_error(exc)}"
        ) from exc


@contextmanager
def driver_errors(connection: Connection, statement: str) -> Iterator[None]:
    """Wrap errors of DB-API calls made beside SQLAlchemy (a raw cursor, a ``COPY``).

    They become the ``DBAPIError`` SQLAlchemy would have raised, so ``wrap_db_errors``
    reports them like any other.
    """
    dbapi_error = connection.dialect.loaded_dbapi.Error
    try:
        yield
    except dbapi_error as exc:
        raise DBAPIError.instance(statement, None, exc, dbapi_error) from exc


@contextmanager
def connect(engine: Engine, operation: str | Callable[[], str]) -> Iterator[Connection]:
    """A connection of ``engine`` whose errors surface as ``StorageError`` naming ``operation``."""
    with wrap_db_errors(engine.url, operation), engine.connect() as connection:
        yield connection


@contextmanager
def write_transaction(engine: Engine, operation: str) -> Iterator[Connection]:
    """A transaction that takes the write lock at once (SQLite ``BEGIN IMMEDIATE``), its
    errors named by ``operation``: read-then-write claims cannot deadlock on upgrades."""
    with connect(engine, operation) as connection:
        connection.execution_options(**{WRITE_LOCK_OPTION: True})
        with connection.begin():
            yield connection


__all__ = [
    "UnstorableValueError",
    "connect",
    "describe_error",
    "driver_errors",
    "wrap_db_errors",
    "write_transaction",
]
