"""The stores of connections and variables (``partita connections``, ``partita variables``).

Both hold plain values in and out; what a backend does at rest is its own
business: the SQL store encrypts connection passwords and extras and
variable values with Fernet (``storage/fernet.py``), the memory store keeps
them in this process. ``reencrypt`` re-encrypts everything with the first
key (``partita rotate-fernet-key``).

The design decision: two small interfaces, not one "secrets" grab-bag,
each passing the same contract tests on memory, SQLite and PostgreSQL.
Reading a secret that does not decrypt raises ``SecretKeyError``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from partita.definitions.connection import Connection


@dataclass(frozen=True, slots=True)
class VariableRecord:
    """A stored variable: its key, its value as text, what it is for."""

    key: str
    value: str
    description: str | None = None


class ConnectionStore(ABC):
    """Connections by id."""

    @abstractmethod
    def get_connection(self, conn_id: str) -> Connection | None:
        """The connection (a new object each time), or None."""

    @abstractmethod
    def list_connections(self) -> list[Connection]:
        """Every connection, sorted by id."""

    @abstractmethod
    def set_connection(self, connection: Connection) -> None:
        """Create the connection, or replace the one with the same id."""

    @abstractmethod
    def delete_connection(self, conn_id: str) -> bool:
        """Delete it; False when there was none."""

    @abstractmethod
    def reencrypt(self) -> int:
        """Re-encrypt every stored secret with the first key; the number of connections."""


class VariableStore(ABC):
    """Variables by key."""

    @abstractmethod
    def get_variable(self, key: str) -> VariableRecord | None:
        """The variable, or None."""

    @abstractmethod
    def list_variables(self) -> list[VariableRecord]:
        """Every variable, sorted by key."""

    @abstractmethod
    def set_variable(self, record: VariableRecord) -> None:
        """Create the variable, or replace the one with the same key."""

    @abstractmethod
    def delete_variable(self, key: str) -> bool:
        """Delete it; False when there was none."""

    @abstractmethod
    def reencrypt(self) -> int:
        """Re-encrypt every stored value with the first key; the number of variables."""


__all__ = ["ConnectionStore", "VariableRecord", "VariableStore"]
