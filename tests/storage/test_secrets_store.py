"""Connections and variables in the store: one contract on memory, SQLite and PostgreSQL,
then what only the SQL store does: Fernet at rest, a wrong key, rotation, the key file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from partita.definitions.connection import Connection
from partita.exceptions import ConfigurationError, SecretKeyError
from partita.settings import load_settings
from partita.storage.base import Storage
from partita.storage.fernet import SecretCipher, load_cipher, read_key_file
from partita.storage.secrets import VariableRecord
from partita.storage.sql import SqlStorage

PASSWORD = "pl41n-Passw0rd-at-rest"
KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _cipher(*keys: str) -> SecretCipher:
    return SecretCipher(list(keys), "the test keys")


def _warehouse(**changes: object) -> Connection:
    fields: dict[str, object] = {
        "conn_type": "postgres", "host": "db.example.com", "login": "etl", "password": PASSWORD,
        "schema": "dw", "port": 5432, "extra": '{"sslmode": "require"}', "description": "the DW",
    }  # fmt: skip
    fields.update(changes)
    return Connection("warehouse", **fields)  # type: ignore[arg-type]


# --- the contract ----------------------------------------------------------------------


def test_connections_are_stored_read_replaced_listed_and_deleted(storage: Storage) -> None:
    store = storage.connections
    assert store.get_connection("warehouse") is None
    store.set_connection(_warehouse())
    assert store.get_connection("warehouse") == _warehouse()
    store.set_connection(_warehouse(host="db2", password=None, extra=None, port=None))
    assert store.get_connection("warehouse") == _warehouse(
        host="db2", password=None, extra=None, port=None
    )
    store.set_connection(Connection("api", conn_type="http"))
    assert [c.conn_id for c in store.list_connections()] == ["api", "warehouse"]
    assert store.delete_connection("api") is True
    assert store.delete_connection("api") is False
    assert [c.conn_id for c in store.list_connections()] == ["warehouse"]


def test_a_connection_read_is_a_copy(storage: Storage) -> None:
    storage.connections.set_connection(_warehouse())
    storage.connections.get_connection("warehouse").host = "changed"  # type: ignore[union-attr]
    assert storage.connections.get_connection("warehouse") == _warehouse()


def test_variables_are_stored_read_replaced_listed_and_deleted(storage: Storage) -> None:
    store = storage.variables
    assert store.get_variable("a") is None
    store.set_variable(VariableRecord("b", '{"x": [1, 2]}', "json"))
    store.set_variable(VariableRecord("a", "text with ünïcode"))
    store.set_variable(VariableRecord("b", "replaced"))
    assert store.get_variable("a") == VariableRecord("a", "text with ünïcode")
    assert store.list_variables() == [VariableRecord("a", "text with ünïcode"),
                                      VariableRecord("b", "replaced")]  # fmt: skip
    assert store.delete_variable("a") is True
    assert store.delete_variable("a") is False


def test_reencrypt_keeps_every_value_and_counts_rows(storage: Storage) -> None:
    storage.connections.set_connection(_warehouse())
    storage.variables.set_variable(VariableRecord("k", "v"))
    assert storage.connections.reencrypt() == 1
    assert storage.variables.reencrypt() == 1
    assert storage.connections.get_connection("warehouse") == _warehouse()
    assert storage.variables.get_variable("k") == VariableRecord("k", "v")


# --- Fernet at rest (SQL) --------------------------------------------------------------


def test_the_database_file_holds_no_plain_secret(sqlite_url: str, tmp_path: Path) -> None:
    with SqlStorage(sqlite_url, tmp_path / "s") as storage:
        storage.connections.set_connection(_warehouse(extra='{"api_key": "extra-S3cret-v"}'))
        storage.variables.set_variable(VariableRecord("db_password", "var-S3cret-value"))
    data = Path(sqlite_url.removeprefix("sqlite:///")).read_bytes()
    for secret in (PASSWORD, "extra-S3cret-v", "var-S3cret-value"):
        assert secret.encode() not in data
    assert b"db.example.com" in data  # the other columns stay readable


@pytest.mark.postgres
def test_postgres_rows_hold_fernet_tokens(pg_clean_database_url: str, tmp_path: Path) -> None:
    with SqlStorage(pg_clean_database_url, tmp_path / "s") as storage:
        storage.connections.set_connection(_warehouse())
    engine = create_engine(pg_clean_database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT password FROM connection")).scalar_one()
    finally:
        engine.dispose()
    assert PASSWORD not in stored
    assert Fernet(os.environ["PARTITA_FERNET_KEY"]).decrypt(stored.encode()).decode() == PASSWORD


def test_a_wrong_key_fails_with_a_message_never_garbage(sqlite_url: str, tmp_path: Path) -> None:
    with SqlStorage(sqlite_url, tmp_path / "s", cipher=lambda: _cipher(KEY_A)) as storage:
        storage.connections.set_connection(_warehouse())
        storage.variables.set_variable(VariableRecord("k", "v"))
    with SqlStorage(sqlite_url, tmp_path / "s", cipher=lambda: _cipher(KEY_B)) as storage:
        with pytest.raises(SecretKeyError, match="the password of connection 'warehouse' cannot "
                           "be decrypted with the Fernet key"):  # fmt: skip
            storage.connections.get_connection("warehouse")
        with pytest.raises(SecretKeyError, match="variable 'k' cannot be decrypted"):
            storage.variables.list_variables()
        with pytest.raises(SecretKeyError):  # rotation with the wrong keys changes nothing
            storage.connections.reencrypt()
    with SqlStorage(sqlite_url, tmp_path / "s", cipher=lambda: _cipher(KEY_A)) as storage:
        assert storage.connections.get_connection("warehouse") == _warehouse()


def test_rotation_reencrypts_with_the_first_key_and_old_keys_stay_readable(
    sqlite_url: str, tmp_path: Path
) -> None:
    with SqlStorage(sqlite_url, tmp_path / "s", cipher=lambda: _cipher(KEY_A)) as storage:
        storage.connections.set_connection(_warehouse())
        storage.variables.set_variable(VariableRecord("k", "v"))
    with SqlStorage(sqlite_url, tmp_path / "s", cipher=lambda: _cipher(KEY_B, KEY_A)) as storage:
        assert storage.connections.get_connection("warehouse") == _warehouse()  # old key reads
        assert (storage.connections.reencrypt(), storage.variables.reencrypt()) == (1, 1)
    with SqlStorage(sqlite_url, tmp_path / "s", cipher=lambda: _cipher(KEY_B)) as storage:
        assert storage.connections.get_connection("warehouse") == _warehouse()
        assert storage.variables.get_variable("k") == VariableRecord("k", "v")


# --- where the key comes from ----------------------------------------------------------


def test_sqlite_without_a_key_generates_a_private_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PARTITA_FERNET_KEY")
    monkeypatch.setenv("PARTITA_HOME", str(tmp_path / "home"))
    settings = load_settings()
    with SqlStorage.from_settings(settings) as storage:
        assert not (tmp_path / "home" / "fernet.key").exists()  # only on first use
        storage.variables.set_variable(VariableRecord("k", "v"))
    path = tmp_path / "home" / "fernet.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with SqlStorage.from_settings(settings) as storage:
        assert storage.variables.get_variable("k") == VariableRecord("k", "v")
    path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        read_key_file(path)


def test_postgres_without_a_key_is_refused_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PARTITA_FERNET_KEY")
    monkeypatch.setenv("PARTITA_HOME", str(tmp_path))
    monkeypatch.setenv("PARTITA_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(ConfigurationError, match="PARTITA_FERNET_KEY is not set; with a "
                       "PostgreSQL metadata database"):  # fmt: skip
        load_cipher(load_settings())


def test_a_malformed_key_names_which_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTITA_FERNET_KEY", f"{KEY_A}, not-a-key")
    with pytest.raises(ConfigurationError, match="key 2 of PARTITA_FERNET_KEY is not a Fernet key"):
        load_cipher(load_settings())
