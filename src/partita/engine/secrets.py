"""The engine's secrets backend: connections and variables from the metadata store of the run.

``Connection.get`` and ``Variable`` (definitions layer) ask the ``SECRETS``
extension point after the environment; this module answers from the store
of the run being executed in this process (``use_store``: the driver's store,
or a local worker's own store, opened from the same database), and, when
that store is the memory store of ``dag.test()``, also from the store the
settings name, if it exists (so connections added with ``partita
connections add`` work in ``dag.test()`` too).

The design decision: one process-wide backend holding a weak reference to
the store last used by a run, because a process (a worker, a scheduler)
runs tasks against one database; no task ever opens the database itself.
Templates reach the same lookups through ``var`` and ``conn`` in the
context: objects whose attributes are looked up only when a template (or
a task) reads them, so a task that does not use them pays nothing.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec

from partita.definitions.connection import Connection
from partita.definitions.secrets import CONN_ENV_PREFIX, VAR_ENV_PREFIX
from partita.definitions.variable import Variable
from partita.exceptions import ConfigurationError, ConnectionURIError
from partita.masking import MASKER, SecretMasker, is_sensitive_name
from partita.settings import load_settings
from partita.storage.base import Storage
from partita.storage.records import EventRecord, LogLineRecord
from partita.storage.secrets import VariableRecord
from partita.storage.signing import is_sqlite_url


class StoreSecrets:
    """A ``SecretsBackend`` over the run's store, then (for a memory store) the settings' store."""

    def __init__(self) -> None:
        self._run_store: weakref.ReferenceType[Storage] | None = None
        self._settings_store: tuple[str, Storage] | None = None
        self._lock = threading.Lock()

    def use_store(self, storage: Storage) -> None:
        """Read connections and variables from ``storage`` from now on, in this process."""
        current = self._run_store
        if current is None or current() is not storage:
            self._run_store = weakref.ref(storage)

    def get_connection(self, conn_id: str) -> Connection | None:
        for store in self._stores():
            found = store.connections.get_connection(conn_id)
            if found is not None:
                return found
        return None

    def get_variable(self, key: str) -> str | None:
        for store in self._stores():
            found = store.variables.get_variable(key)
            if found is not None:
                return found.value
        return None

    def set_variable(self, key: str, value: str, description: str | None = None) -> None:
        self._writable_store().variables.set_variable(VariableRecord(key, value, description))

    def delete_variable(self, key: str) -> bool:
        return any([store.variables.delete_variable(key) for store in self._stores()])

    def _stores(self) -> list[Storage]:
        run_store = self._run_store() if self._run_store is not None else None
        if run_store is not None and run_store.persistent:
            return [run_store]
        stores = [run_store] if run_store is not None else []
        settings_store = self._existing_settings_store()
        if settings_store is not None:
            stores.append(settings_store)
        return stores

    def store(self) -> Storage:
        """The store task code writes to: the run's when persistent, else the settings'."""
        return self._writable_store()

    def _writable_store(self) -> Storage:
        stores = self._stores()
        persistent = [store for store in stores if store.persistent]
        if persistent:
            return persistent[0]
        if stores:
            return stores[0]
        return self._settings_store_for(load_settings().database_url)

    def _existing_settings_store(self) -> Storage | None:
        """The settings' store; None when it is a SQLite file that does not exist."""
        url = load_settings().database_url
        if is_sqlite_url(url) and not _sqlite_file_exists(url):
            return None
        return self._settings_store_for(url)

    def _settings_store_for(self, url: str) -> Storage:
        """The store at ``url`` (the settings' database), opened once while the URL stays."""
        # Imported here, not at the top: SQLAlchemy is not cheap, and dag.test() runs
        # without it unless a task reads a connection the environment does not hold.
        from partita.storage.factory import open_storage

        with self._lock:
            if self._settings_store is None or self._settings_store[0] != url:
                if self._settings_store is not None:
                    self._settings_store[1].close()
                self._settings_store = (url, open_storage(load_settings()))
            return self._settings_store[1]


def register_known_secrets(storage: Storage, masker: SecretMasker = MASKER) -> None:
    """Register with ``masker`` every secret ``storage`` and the environment hold.

    For a command about to print what a task produced (an output value may
    hold a password the task read): connection passwords and secret extras,
    and the values of secret-sounding variables. Secrets the keys cannot
    decrypt are not known, so they cannot be masked; they are skipped.
    """
    try:
        connections = storage.connections.list_connections()
        variables = storage.variables.list_variables()
    except ConfigurationError:  # no key (PostgreSQL) or a wrong one: nothing to learn
        connections, variables = [], []
    for name, text in os.environ.items():
        if name.startswith(VAR_ENV_PREFIX):
            variables.append(VariableRecord(name[len(VAR_ENV_PREFIX) :], text))
        elif name.startswith(CONN_ENV_PREFIX) and text:
            with contextlib.suppress(ConnectionURIError):
                connections.append(Connection.from_text(name, text, name))
    for connection in connections:
        connection.register_secrets(masker)
    for variable in variables:
        if is_sensitive_name(variable.key):
            masker.add(variable.value, name=variable.key)


def mask_lines(
    lines: Iterable[LogLineRecord], masker: SecretMasker = MASKER
) -> list[LogLineRecord]:
    """Log lines with every secret ``masker`` knows masked in their messages."""
    if masker.pattern is None:
        return list(lines)
    return [msgspec.structs.replace(x, message=masker.mask(x.message)) for x in lines]


def mask_events(events: Iterable[EventRecord], masker: SecretMasker = MASKER) -> list[EventRecord]:
    """Events (errors, tracebacks, callback errors) with the texts of their payloads masked."""
    if masker.pattern is None:
        return list(events)
    return [msgspec.structs.replace(e, payload=masker.redact(e.payload)) for e in events]


def _sqlite_file_exists(url: str) -> bool:
    """True when the SQLite URL names a file that exists (``sqlite:///path?options``)."""
    _, sep, rest = url.partition(":///")
    database = rest.split("?", 1)[0]
    return bool(sep and database and database != ":memory:" and Path(database).exists())


#: The backend of this process (registered for ``SECRETS`` by ``partita.bootstrap``).
STORE_SECRETS = StoreSecrets()


def use_store(storage: Storage) -> None:
    """Let task code in this process read connections and variables from ``storage``."""
    STORE_SECRETS.use_store(storage)


class _VariableValues:
    """``var.value.<key>`` / ``var.json.<key>`` in templates."""

    def __init__(self, deserialize_json: bool) -> None:
        self._json = deserialize_json

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        return Variable.get(key, deserialize_json=self._json)

    def get(self, key: str, default: Any = None) -> Any:
        """The variable, or ``default`` when it is not defined."""
        return Variable.get(key, default, deserialize_json=self._json)


class VariableAccessor:
    """``{{ var.value.key }}`` (text) and ``{{ var.json.key.field }}`` (parsed JSON)."""

    value = _VariableValues(False)
    json = _VariableValues(True)


class ConnectionAccessor:
    """``{{ conn.my_conn.host }}``: the connection ``my_conn`` (``conn.get("id")`` too)."""

    def __getattr__(self, conn_id: str) -> Connection:
        if conn_id.startswith("__"):
            raise AttributeError(conn_id)
        return Connection.get(conn_id)

    def get(self, conn_id: str) -> Connection:
        """The connection ``conn_id`` (for ids that are not Python names)."""
        return Connection.get(conn_id)


#: What ``var`` and ``conn`` are in every task's context.
VARIABLES = VariableAccessor()
CONNECTIONS = ConnectionAccessor()


__all__ = [
    "CONNECTIONS",
    "STORE_SECRETS",
    "VARIABLES",
    "ConnectionAccessor",
    "StoreSecrets",
    "VariableAccessor",
    "mask_events",
    "mask_lines",
    "register_known_secrets",
    "use_store",
]
