"""Create a SQLAlchemy engine for partita's metadata database: SQLite or PostgreSQL.

The design decision: SQLite is tuned once per connection (WAL, synchronous
NORMAL, foreign keys, a busy timeout) and pysqlite's own transaction handling
is switched off so that SQLAlchemy emits ``BEGIN`` itself. That makes DDL
transactional (a failed migration rolls back) and lets a writer take the write
lock up front with ``BEGIN IMMEDIATE`` (``WRITE_LOCK_OPTION``), so concurrent
writers wait on the busy timeout instead of failing on a lock upgrade.
PostgreSQL always goes through psycopg 3. A SQLite database file is created
0600 (in a 0700 folder when partita makes it) before SQLite opens it, and
SQLite gives its ``-wal`` and ``-shm`` files the mode of the database file.
A URL is checked before any connection: one whose password holds an
unescaped ``@`` (or whose host or port is not one) is refused, and no
message ever shows the password.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from partita.exceptions import ConfigurationError
from partita.storage.files import create_private_file
from partita.storage.values import dumps_json, loads_json

if TYPE_CHECKING:
    from partita.settings import Settings

#: Execution option: on SQLite, start the transaction with ``BEGIN IMMEDIATE``.
WRITE_LOCK_OPTION = "partita_write_lock"
SQLITE_BUSY_TIMEOUT_MS = 30_000

_ACCEPTED = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite:// (in memory), "
    "postgresql://user:password@host:5432/dbname"
)
_HOST = re.compile(r"[A-Za-z0-9._-]+|\[?[0-9A-Fa-f:.]+\]?")
_ESCAPE_HINT = (
    "percent-encode special characters in the user name and password ('@' is %40, ':' %3A, "
    "'/' %2F; Python: urllib.parse.quote(password, safe=''))"
)


def mask_url(url: str | URL) -> str:
    """The URL as text with any password replaced by ``***``.

    For text, everything between ``scheme://user:`` and the last ``@`` is
    hidden, so a password holding an unescaped ``@`` is never shown in part.
    """
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    scheme, separator, rest = url.partition("://")
    userinfo, at, after = rest.rpartition("@")
    if not separator or not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{after}"


@dataclass(frozen=True)
class PoolOptions:
    """The connection pool of a PostgreSQL engine (the ``database_*`` settings)."""

    size: int = 5
    max_overflow: int = 10
    #: Seconds a thread waits for a free connection.
    timeout: float = 30.0
    #: Seconds opening one connection may take.
    connect_timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> PoolOptions:
        return cls(
            settings.database_pool_size, settings.database_max_overflow,
            settings.database_pool_timeout, settings.database_connect_timeout,
        )  # fmt: skip


def create_sql_engine(url: str | URL, pool: PoolOptions | None = None) -> Engine:
    """An engine for ``url``; raises ``ConfigurationError`` for URLs partita cannot use.

    ``pool`` sizes the pool of a PostgreSQL engine (SQLite keeps its own pooling)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(parsed)
    pool = pool or PoolOptions()
    return create_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=pool.size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.timeout,
        # libpq counts whole seconds (and 1 as 2): at least 2
        connect_args={"connect_timeout": max(2, math.ceil(pool.connect_timeout))},
        json_serializer=dumps_json,
        json_deserializer=loads_json,
    )


def normalize_url(url: str | URL) -> URL:
    """Parse ``url`` and pin the driver: pysqlite for SQLite, psycopg 3 for PostgreSQL."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        reason = "its port is not a number; " if "int()" in str(exc) else ""
        raise ConfigurationError(
            f"database URL {mask_url(str(url))!r} cannot be parsed; {reason}accepted forms: "
            f"{_ACCEPTED}; {_ESCAPE_HINT}"
        ) from None
    _check_host(url, parsed)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        return parsed
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    raise ConfigurationError(
        f"database URL {mask_url(parsed)!r} is not supported (backend {parsed.drivername!r}); "
        f"accepted forms: {_ACCEPTED}"
    )


def _check_host(url: str | URL, parsed: URL) -> None:
    """Refuse a host that is not one: what an unescaped '@' or a stray character makes."""
    host = parsed.host
    if host is None or host == "" or _HOST.fullmatch(host):
        return
    shown = mask_url(str(url)) if isinstance(url, str) else mask_url(parsed)
    if "@" in host:
        problem = "its password (or user name) holds an unescaped '@'"
    else:
        problem = "its host name holds characters a host name cannot have"
    raise ConfigurationError(f"database URL {shown!r} is refused: {problem}; {_ESCAPE_HINT}")


def _is_memory_sqlite(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or str(url.database).startswith("file::memory:")


def _create_sqlite_engine(url: URL) -> Engine:
    if _is_memory_sqlite(url):
        engine = create_engine(
            url,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
            json_serializer=dumps_json,
            json_deserializer=loads_json,
        )
    else:
        if not url.query.get("uri"):  # a file: URI names its own path; leave it alone
            _create_private_database_file(Path(str(url.database)).expanduser())
        engine = create_engine(url, json_serializer=dumps_json, json_deserializer=loads_json)
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _create_private_database_file(path: Path) -> None:
    """An empty file (a valid empty SQLite database) 0600, unless the database exists."""
    try:
        create_private_file(path)
    except OSError as exc:
        raise ConfigurationError(
            f"SQLite database {path} cannot be created ({exc.strerror or exc}); make its "
            "folder writable or point PARTITA_DATABASE_URL (or PARTITA_HOME) elsewhere"
        ) from exc


def _on_sqlite_connect(dbapi_connection: Any, connection_record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _on_sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    if connection.get_execution_options().get(WRITE_LOCK_OPTION):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


__all__ = ["WRITE_LOCK_OPTION", "PoolOptions", "create_sql_engine", "mask_url", "normalize_url"]
