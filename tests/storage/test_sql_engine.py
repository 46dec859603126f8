"""Which database URLs partita accepts, and how it says no."""

from __future__ import annotations

from pathlib import Path

import pytest

from partita.exceptions import ConfigurationError
from partita.storage.sql import create_sql_engine
from partita.storage.sql.engine import mask_url, normalize_url


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:pw@db:5432/partita",
        "postgres://u:pw@db:5432/partita",
        "postgresql+psycopg://u:pw@db:5432/partita",
    ],
)
def test_postgresql_urls_use_psycopg_3(url: str) -> None:
    normalized = normalize_url(url)
    assert normalized.drivername == "postgresql+psycopg"
    assert (normalized.host, normalized.database) == ("db", "partita")


@pytest.mark.parametrize(
    "url",
    [
        "mysql://admin:hunter2@db/partita",
        "postgresql+psycopg2://admin:hunter2@db/partita",
        "sqlite+aiosqlite:///x.db",
    ],
)
def test_unsupported_backends_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError, match="not supported") as caught:
        create_sql_engine(url)
    message = str(caught.value)
    assert "hunter2" not in message
    assert "sqlite:///" in message and "postgresql://" in message


def test_an_unparsable_url_is_a_configuration_error_with_the_password_masked() -> None:
    with pytest.raises(ConfigurationError, match="cannot be parsed") as caught:
        create_sql_engine("not a url://admin:hunter2@")
    assert "hunter2" not in str(caught.value)


def test_mask_url_hides_passwords_in_text() -> None:
    assert mask_url("postgresql://u:secret@h/db") == "postgresql://u:***@h/db"
    assert mask_url("sqlite:///a.db") == "sqlite:///a.db"


def test_sqlite_engine_creates_the_parent_folder(tmp_path: Path) -> None:
    database = tmp_path / "deep" / "er" / "partita.db"
    engine = create_sql_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()
    assert database.is_file()


def test_in_memory_sqlite_keeps_one_database_across_connections() -> None:
    engine = create_sql_engine("sqlite://")
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
    finally:
        engine.dispose()


# -- bad characters in a URL: refused, and the password is never shown -------------------------


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql://admin:hun@ter2@db:5432/partita", "holds an unescaped '@'"),
        ("postgresql://admin:h@u@n@ter2@db/partita", "holds an unescaped '@'"),
        ("postgresql://admin:hunter2@db base/partita", "host name holds characters"),
        ("postgresql://admin:hunter2@db:port/partita", "its port is not a number"),
        ("postgresql://admin:hun@ter2@db:port/partita", "cannot be parsed"),
    ],
)
def test_a_url_with_bad_characters_is_refused_without_showing_the_password(
    url: str, problem: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        create_sql_engine(url)
    message = str(caught.value)
    assert problem in message
    assert "%40" in message  # how to write it instead
    for piece in ("hunter2", "ter2", "hun@", "@ter", "h@u"):
        assert piece not in message  # no piece of the password


def test_an_escaped_at_sign_in_the_password_is_fine() -> None:
    url = normalize_url("postgresql://admin:hun%40ter2@db:5432/partita")
    assert (url.password, url.host) == ("hun@ter2", "db")
    assert normalize_url("postgresql://admin:pw@[::1]:5432/partita").host is not None
    assert normalize_url("postgresql://admin@/partita?host=/run/postgresql").host is None


def test_mask_url_hides_a_password_with_an_unescaped_at_sign_whole() -> None:
    assert mask_url("postgresql://u:se@cr@et@h/db") == "postgresql://u:***@h/db"
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert mask_url("sqlite:////tmp/a@b.db") == "sqlite:////tmp/a@b.db"


def test_a_postgresql_engine_pool_follows_the_pool_options() -> None:
    from partita.storage.sql.engine import PoolOptions

    engine = create_sql_engine("postgresql://u:pw@db:5432/partita", PoolOptions(7, 2, 4.0, 3.0))
    try:
        pool = engine.pool
        assert (pool.size(), pool._max_overflow, pool.timeout()) == (7, 2, 4.0)  # type: ignore[attr-defined]
    finally:
        engine.dispose()


@pytest.mark.slow
def test_a_postgresql_server_that_does_not_answer_fails_after_the_connect_timeout(
    tmp_path: Path,
) -> None:
    """A server that accepts the TCP connection and says nothing (a hung host): opening
    the store fails with a clear error after database_connect_timeout, not never."""
    import socket
    import threading

    from partita.exceptions import PartitaError
    from partita.settings import load_settings
    from partita.storage.sql import SqlStorage

    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        env = {
            "PARTITA_HOME": str(tmp_path / "home"),
            "PARTITA_DATABASE_URL": f"postgresql://u:pw@127.0.0.1:{port}/partita",
            "PARTITA_SECRET_KEY": "connect-timeout-test-key-0123456789abcdef",
            "PARTITA_DATABASE_CONNECT_TIMEOUT": "2",
        }
        errors: list[BaseException] = []

        def open_it() -> None:
            try:
                SqlStorage.from_settings(load_settings(env=env, cwd=tmp_path)).close()
            except BaseException as exc:
                errors.append(exc)

        opener = threading.Thread(target=open_it, daemon=True)
        opener.start()
        opener.join(60)
        assert not opener.is_alive(), "opening the store never gave up"
    [error] = errors
    assert isinstance(error, PartitaError)
    assert "timeout" in str(error).lower() and "pw@" not in str(error)
