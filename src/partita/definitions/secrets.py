"""Where task code finds connections and variables: the environment, then a secrets backend.

``Connection.get`` and ``Variable.get`` look first at the environment
(``PARTITA_CONN_<ID>``, ``PARTITA_VAR_<KEY>``, the id or key upper-cased, as
Airflow's ``AIRFLOW_CONN_`` / ``AIRFLOW_VAR_`` variables), then ask the
``SECRETS`` backend, which the engine provides: the metadata store of the
run being executed in this process (a worker's own store in a worker
process), or the store the settings name.

The design decision: the definitions layer never touches a store; it
declares the small ``SecretsBackend`` protocol and an extension point, and
``partita.bootstrap`` registers the engine's implementation, so operators and
hooks (which use only definitions) read connections the same way in every
process.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol

from partita.definitions.extensions import ExtensionPoint

if TYPE_CHECKING:
    from partita.definitions.connection import Connection

#: ``PARTITA_CONN_<CONN_ID>`` holds a connection as a URI or as JSON.
CONN_ENV_PREFIX = "PARTITA_CONN_"
#: ``PARTITA_VAR_<KEY>`` holds a variable's value (text; JSON for ``deserialize_json``).
VAR_ENV_PREFIX = "PARTITA_VAR_"


class SecretsBackend(Protocol):
    """Reads connections and reads and writes variables, after the environment."""

    def get_connection(self, conn_id: str) -> Connection | None:
        """The connection, or None when this backend has none with that id."""
        ...

    def get_variable(self, key: str) -> str | None:
        """The variable's stored text, or None."""
        ...

    def set_variable(self, key: str, value: str, description: str | None = None) -> None:
        """Create or replace a variable."""
        ...

    def delete_variable(self, key: str) -> bool:
        """Delete a variable; False when there was none."""
        ...


#: The backend behind ``Connection.get`` and ``Variable``; the engine's, by default.
SECRETS: ExtensionPoint[SecretsBackend] = ExtensionPoint("the secrets backend")


def connection_env_name(conn_id: str) -> str:
    """The environment variable that overrides connection ``conn_id``."""
    return CONN_ENV_PREFIX + conn_id.upper()


def variable_env_name(key: str) -> str:
    """The environment variable that overrides variable ``key``."""
    return VAR_ENV_PREFIX + key.upper()


def env_connection_text(conn_id: str) -> str | None:
    """The text of ``PARTITA_CONN_<CONN_ID>`` (a URI or JSON), or None when unset or empty."""
    return os.environ.get(connection_env_name(conn_id)) or None


def env_variable(key: str) -> str | None:
    """The value of ``PARTITA_VAR_<KEY>``, or None when unset."""
    return os.environ.get(variable_env_name(key))


__all__ = [
    "CONN_ENV_PREFIX",
    "SECRETS",
    "VAR_ENV_PREFIX",
    "SecretsBackend",
    "connection_env_name",
    "env_connection_text",
    "env_variable",
    "variable_env_name",
]
