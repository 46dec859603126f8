"""Shared pytest fixtures.

Fixtures here are shared by several test folders; each block below is owned
by one part of the code base and its fixture names carry a prefix, so blocks
can be added without collisions.
"""

from __future__ import annotations

# --- storage fixtures (prefixes pg_ / sqlite_) ------------------------------------------
#
# PostgreSQL tests run only when PARTITA_TEST_POSTGRES_URL names a server
# (e.g. postgresql://postgres@127.0.0.1:5432/test). The session gets a database
# of its own, ``partita_test_<random hex>``, created through the server's
# ``postgres`` database and dropped at the end, so concurrent sessions never
# share state and nothing is left behind.
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_URL_VARIABLE = "PARTITA_TEST_POSTGRES_URL"


@contextmanager
def _pg_temporary_database(server_url: str) -> Iterator[str]:
    """Create a fresh, uniquely named database on the server; drop it afterwards."""
    server = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"partita_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """The PostgreSQL server the tests may use; skips the test when none is configured."""
    url = os.environ.get(PG_URL_VARIABLE)
    if not url:
        pytest.skip(f"set {PG_URL_VARIABLE} to a PostgreSQL URL to run the PostgreSQL tests")
    return url


@pytest.fixture(scope="session")
def pg_database_url(pg_server_url: str) -> Iterator[str]:
    """A database of this test session alone (created empty, dropped at the end)."""
    with _pg_temporary_database(pg_server_url) as url:
        yield url


@pytest.fixture
def pg_clean_database_url(pg_database_url: str) -> str:
    """The session's database with every table (except alembic_version) emptied."""
    engine = create_engine(make_url(pg_database_url))
    try:
        with engine.begin() as connection:
            tables = connection.scalars(
                text(
                    "SELECT quote_ident(tablename) FROM pg_tables "
                    "WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
                )
            ).all()
            if tables:
                connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()
    return pg_database_url


@pytest.fixture
def pg_fresh_database_url(pg_server_url: str) -> Iterator[str]:
    """A new empty database for one test (slower: use it only to test migrations)."""
    with _pg_temporary_database(pg_server_url) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a SQLite file (not yet created) in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'partita.db'}"


#: The signing key of stored pickles in tests (storage/signing.py). Without it every test
#: that opens a store would write a key file into $PARTITA_HOME, by default ./.partita,
#: and a PostgreSQL store would not open. Tests of the key file unset it.
TEST_SECRET_KEY = "partita-test-signing-key-0123456789abcdef"


@pytest.fixture(scope="session", autouse=True)
def signing_key_for_tests() -> Iterator[None]:
    """PARTITA_SECRET_KEY set for the whole session (subprocesses inherit it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PARTITA_SECRET_KEY", TEST_SECRET_KEY)
        yield


#: The Fernet key of connections and variables in tests (storage/fernet.py), for the same
#: reason: without it a SQLite store would write $PARTITA_HOME/fernet.key on first use, and a
#: PostgreSQL store could not read or write a connection. Tests of the key file unset it.
TEST_FERNET_KEY = "8Y3l1v4l3nq6e4Yp1e2iJp3Z2kq4pW6y6n0m3Xy9Z0U="


@pytest.fixture(scope="session", autouse=True)
def fernet_key_for_tests() -> Iterator[None]:
    """PARTITA_FERNET_KEY set for the whole session (subprocesses inherit it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PARTITA_FERNET_KEY", TEST_FERNET_KEY)
        yield


# --- end of storage fixtures -----------------------------------------------------------
