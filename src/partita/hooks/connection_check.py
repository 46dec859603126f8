"""``partita connections test``: check that a connection reaches its system, by type.

- ``http`` / ``https``: a ``GET`` of the connection's base URL (the host,
  with ``schema`` or ``http`` as the protocol when the host has none, and the
  port), with the login and password as basic auth and the ``headers``
  extra; any answer below 400 passes.
- SQL types (``postgres``, ``postgresql``, ``sqlite``, ``mysql``, ``mssql``,
  ``oracle``): a SQLAlchemy engine made from the connection runs ``SELECT 1``.
- anything else with a host and a port: a TCP connection is opened.

The design decision: a test answers ``(ok, message)`` and never raises for a
system that is down or refuses, so the CLI can print one line either way;
it uses the standard library and SQLAlchemy (already a dependency), nothing
that the hooks of later operators would have to agree with.
"""

from __future__ import annotations

import base64
import socket
import urllib.error
import urllib.request

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from partita.definitions.connection import Connection
from partita.masking import mask

#: Seconds a test waits for an answer.
TIMEOUT = 10.0
HTTP_TYPES = frozenset({"http", "https"})
#: Connection type -> SQLAlchemy dialect+driver.
SQL_DRIVERS = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "sqlite": "sqlite",
    "mysql": "mysql",
    "mssql": "mssql",
    "oracle": "oracle",
}


def describe_check(conn_type: str | None) -> str:
    """What ``check_connection`` does for a connection of this type."""
    if conn_type in HTTP_TYPES:
        return "an HTTP GET of its base URL"
    if conn_type in SQL_DRIVERS:
        return "SELECT 1 through a SQLAlchemy engine"
    return "a TCP connection to its host and port"


def check_connection(connection: Connection, timeout: float = TIMEOUT) -> tuple[bool, str]:
    """Try to reach the connection's system: ``(ok, what happened)``, secrets masked."""
    connection.register_secrets()
    conn_type = connection.conn_type or ""
    if conn_type in HTTP_TYPES:
        ok, message = _check_http(connection, timeout)
    elif conn_type in SQL_DRIVERS:
        ok, message = _check_sql(connection, SQL_DRIVERS[conn_type])
    else:
        ok, message = _check_tcp(connection, timeout)
    return ok, mask(message)


def http_base_url(connection: Connection) -> str:
    """The base URL of an HTTP connection (Airflow's rule: the host, else schema://host:port)."""
    host = connection.host or ""
    base = host if "://" in host else f"{connection.schema or 'http'}://{host}"
    if connection.port is not None:
        base = f"{base.rstrip('/')}:{connection.port}"
    return base


def _check_http(connection: Connection, timeout: float) -> tuple[bool, str]:
    if not connection.host:
        return False, "an HTTP connection needs a host to test"
    url = http_base_url(connection)
    headers: dict[str, str] = {}
    extra_headers = connection.extra_dejson.get("headers")
    if isinstance(extra_headers, dict):
        headers.update({str(k): str(v) for k, v in extra_headers.items()})
    if connection.login or connection.password:
        pair = f"{connection.login or ''}:{connection.password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    request = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, f"GET {url} failed: {reason}"
    if status < 400:
        return True, f"GET {url} answered HTTP {status}"
    return False, f"GET {url} answered HTTP {status}"


def sqlalchemy_url(connection: Connection, driver: str) -> URL:
    """The SQLAlchemy URL of a SQL connection (a SQLite connection's host is its file)."""
    if driver == "sqlite":
        return URL.create("sqlite", database=connection.host or connection.schema or None)
    return URL.create(
        driver,
        username=connection.login,
        password=connection.password,
        host=connection.host,
        port=connection.port,
        database=connection.schema,
    )


def _check_sql(connection: Connection, driver: str) -> tuple[bool, str]:
    url = sqlalchemy_url(connection, driver)
    shown = url.render_as_string(hide_password=True)
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ImportError) as exc:
        return False, f"cannot make an engine for {shown}: {exc} (is its driver installed?)"
    try:
        with engine.connect() as db:
            db.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return False, f"cannot connect to {shown}: {first}"
    finally:
        engine.dispose()
    return True, f"connected to {shown} and ran SELECT 1"


def _check_tcp(connection: Connection, timeout: float) -> tuple[bool, str]:
    if not connection.host or connection.port is None:
        return False, (
            f"connection type {connection.conn_type!r} is tested by opening a TCP connection, "
            "which needs a host and a port; this connection lacks one"
        )
    where = f"{connection.host}:{connection.port}"
    try:
        with socket.create_connection((connection.host, connection.port), timeout=timeout):
            pass
    except OSError as exc:
        return False, f"cannot open a TCP connection to {where}: {exc.strerror or exc}"
    return True, f"opened a TCP connection to {where}"


__all__ = ["check_connection", "describe_check", "http_base_url", "sqlalchemy_url"]
