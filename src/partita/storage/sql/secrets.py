"""Connections and variables on SQL: the ``connection`` and ``variable`` tables.

The design decision: a connection's password and extras and a variable's
value are written as Fernet tokens and decrypted when read (``SecretCipher``,
loaded on first use through ``cipher()``, so a store that never touches a
secret needs no key); the other columns stay clear so ``partita connections
list`` can say what exists. A token that no key opens raises
``SecretKeyError`` naming the connection or variable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Row, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from partita.definitions.connection import Connection
from partita.storage.secrets import ConnectionStore, VariableRecord, VariableStore
from partita.storage.sql.engine import WRITE_LOCK_OPTION
from partita.storage.sql.errors import connect
from partita.storage.sql.models import connection_table as connections
from partita.storage.sql.models import variable_table as variables

if TYPE_CHECKING:
    from partita.settings import Settings
    from partita.storage.fernet import SecretCipher

#: Returns the installation's cipher (loaded once, on first use).
CipherSource = Callable[[], "SecretCipher"]


def lazy_cipher(load: CipherSource) -> CipherSource:
    """A function returning ``load()``, called once, on the first call (thread-safe)."""
    lock = threading.Lock()
    loaded: list[SecretCipher] = []

    def cipher() -> SecretCipher:
        if not loaded:
            with lock:
                if not loaded:
                    loaded.append(load())
        return loaded[0]

    return cipher


def settings_cipher(settings: Callable[[], Settings], *, sqlite: bool | None) -> CipherSource:
    """The cipher the settings name (``storage.fernet.load_cipher``), loaded on first use."""

    def load() -> SecretCipher:
        # Imported on first use, not at the top: cryptography takes tens of milliseconds
        # to import, and most commands that open a store never touch a secret.
        from partita.storage.fernet import load_cipher

        return load_cipher(settings(), sqlite=sqlite)

    return lazy_cipher(load)


def _upsert(engine: Engine, table: Table, values: dict[str, Any], what: str) -> None:
    """Insert ``values`` into ``table``, or update the row with the same primary key."""
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values(**values)
    key = [column.name for column in table.primary_key.columns]
    statement = statement.on_conflict_do_update(
        index_elements=key,
        set_={name: statement.excluded[name] for name in values if name not in key},
    )
    with connect(engine, what) as connection, connection.begin():
        connection.execute(statement)


def _delete(engine: Engine, table: Table, key: str, what: str) -> bool:
    column = next(iter(table.primary_key.columns))
    with connect(engine, what) as connection, connection.begin():
        return connection.execute(delete(table).where(column == key)).rowcount == 1


class SqlConnectionStore(ConnectionStore):
    """Connections in ``connection``; password and extra encrypted."""

    def __init__(self, engine: Engine, cipher: CipherSource) -> None:
        self._engine = engine
        self._cipher = cipher

    def get_connection(self, conn_id: str) -> Connection | None:
        query = select(connections).where(connections.c.conn_id == conn_id)
        with connect(self._engine, f"read connection {conn_id!r}") as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else self._connection(row)

    def list_connections(self) -> list[Connection]:
        query = select(connections).order_by(connections.c.conn_id)
        with connect(self._engine, "list the connections") as connection:
            rows = connection.execute(query).all()
        return [self._connection(row) for row in rows]

    def set_connection(self, connection: Connection) -> None:
        cipher = self._cipher()
        values = {
            "conn_id": connection.conn_id,
            "conn_type": connection.conn_type,
            "host": connection.host,
            "login": connection.login,
            "password": _encrypt(cipher, connection.password),
            "schema": connection.schema,
            "port": connection.port,
            "extra": _encrypt(cipher, connection.extra),
            "description": connection.description,
        }
        _upsert(self._engine, connections, values, f"store connection {connection.conn_id!r}")

    def delete_connection(self, conn_id: str) -> bool:
        return _delete(self._engine, connections, conn_id, f"delete connection {conn_id!r}")

    def reencrypt(self) -> int:
        cipher = self._cipher()
        columns = connections.c
        with connect(self._engine, "re-encrypt the connections") as connection:
            connection.execution_options(**{WRITE_LOCK_OPTION: True})
            with connection.begin():
                rows = connection.execute(
                    select(columns.conn_id, columns.password, columns.extra)
                ).all()
                for conn_id, password, extra in rows:
                    what = f"connection {conn_id!r}"
                    connection.execute(
                        update(connections)
                        .where(columns.conn_id == conn_id)
                        .values(
                            password=_rotate(cipher, password, f"the password of {what}"),
                            extra=_rotate(cipher, extra, f"the extra of {what}"),
                        )
                    )
        return len(rows)

    def _connection(self, row: Row[Any]) -> Connection:
        cipher = self._cipher() if row.password is not None or row.extra is not None else None
        what = f"connection {row.conn_id!r}"
        return Connection(
            row.conn_id,
            conn_type=row.conn_type,
            host=row.host,
            login=row.login,
            password=_decrypt(cipher, row.password, f"the password of {what}"),
            schema=row.schema,
            port=row.port,
            extra=_decrypt(cipher, row.extra, f"the extra of {what}"),
            description=row.description,
        )


class SqlVariableStore(VariableStore):
    """Variables in ``variable``; values encrypted."""

    def __init__(self, engine: Engine, cipher: CipherSource) -> None:
        self._engine = engine
        self._cipher = cipher

    def get_variable(self, key: str) -> VariableRecord | None:
        query = select(variables).where(variables.c.key == key)
        with connect(self._engine, f"read variable {key!r}") as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else self._record(row)

    def list_variables(self) -> list[VariableRecord]:
        query = select(variables).order_by(variables.c.key)
        with connect(self._engine, "list the variables") as connection:
            rows = connection.execute(query).all()
        return [self._record(row) for row in rows]

    def set_variable(self, record: VariableRecord) -> None:
        values = {
            "key": record.key,
            "value": self._cipher().encrypt(record.value),
            "description": record.description,
        }
        _upsert(self._engine, variables, values, f"store variable {record.key!r}")

    def delete_variable(self, key: str) -> bool:
        return _delete(self._engine, variables, key, f"delete variable {key!r}")

    def reencrypt(self) -> int:
        cipher = self._cipher()
        with connect(self._engine, "re-encrypt the variables") as connection:
            connection.execution_options(**{WRITE_LOCK_OPTION: True})
            with connection.begin():
                rows = connection.execute(select(variables.c.key, variables.c.value)).all()
                for key, value in rows:
                    connection.execute(
                        update(variables)
                        .where(variables.c.key == key)
                        .values(value=cipher.rotate(value, f"variable {key!r}"))
                    )
        return len(rows)

    def _record(self, row: Row[Any]) -> VariableRecord:
        value = self._cipher().decrypt(row.value, f"variable {row.key!r}")
        return VariableRecord(row.key, value, row.description)


def _encrypt(cipher: SecretCipher, text: str | None) -> str | None:
    return None if text is None else cipher.encrypt(text)


def _decrypt(cipher: SecretCipher | None, token: str | None, what: str) -> str | None:
    return None if token is None or cipher is None else cipher.decrypt(token, what)


def _rotate(cipher: SecretCipher, token: str | None, what: str) -> str | None:
    return None if token is None else cipher.rotate(token, what)


__all__ = [
    "CipherSource",
    "SqlConnectionStore",
    "SqlVariableStore",
    "lazy_cipher",
    "settings_cipher",
]
