"""Connections and variables in dictionaries of this process (``MemoryStorage``).

The design decision: nothing is encrypted (nothing leaves the process), and
every read returns a copy, so a caller changing a ``Connection`` it got never
changes the stored one.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from partita.definitions.connection import Connection
from partita.storage.secrets import ConnectionStore, VariableRecord, VariableStore


class MemoryConnectionStore(ConnectionStore):
    """Connections in a dict, behind a lock."""

    def __init__(self) -> None:
        self._connections: dict[str, Connection] = {}
        self._lock = threading.Lock()

    def get_connection(self, conn_id: str) -> Connection | None:
        with self._lock:
            found = self._connections.get(conn_id)
        return None if found is None else replace(found)

    def list_connections(self) -> list[Connection]:
        with self._lock:
            return [replace(self._connections[k]) for k in sorted(self._connections)]

    def set_connection(self, connection: Connection) -> None:
        with self._lock:
            self._connections[connection.conn_id] = replace(connection)

    def delete_connection(self, conn_id: str) -> bool:
        with self._lock:
            return self._connections.pop(conn_id, None) is not None

    def reencrypt(self) -> int:
        with self._lock:
            return len(self._connections)


class MemoryVariableStore(VariableStore):
    """Variables in a dict, behind a lock."""

    def __init__(self) -> None:
        self._variables: dict[str, VariableRecord] = {}
        self._lock = threading.Lock()

    def get_variable(self, key: str) -> VariableRecord | None:
        with self._lock:
            return self._variables.get(key)

    def list_variables(self) -> list[VariableRecord]:
        with self._lock:
            return [self._variables[k] for k in sorted(self._variables)]

    def set_variable(self, record: VariableRecord) -> None:
        with self._lock:
            self._variables[record.key] = record

    def delete_variable(self, key: str) -> bool:
        with self._lock:
            return self._variables.pop(key, None) is not None

    def reencrypt(self) -> int:
        with self._lock:
            return len(self._variables)


__all__ = ["MemoryConnectionStore", "MemoryVariableStore"]
