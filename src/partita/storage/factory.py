"""Open the metadata store that partita's settings name.

The design decision: callers above the storage layer (CLI, scheduler, server)
never pick a backend class themselves; they pass ``Settings`` (or a URL) here
and get a ``Storage``. Only the SQL store is persistent, so it is the only one
opened from settings; the in-memory store is built directly by ``dag.test()``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy.engine import URL

from partita.settings import DEFAULT_INLINE_OUTPUT_LIMIT, Settings, load_settings
from partita.storage.base import Storage
from partita.storage.sql.store import SqlStorage


def open_storage(settings: Settings) -> Storage:
    """The metadata store of ``settings.database_url``, migrated to the newest schema."""
    return SqlStorage.from_settings(settings)


def open_storage_url(
    url: str | URL, storage_dir: Path, inline_output_limit: int = DEFAULT_INLINE_OUTPUT_LIMIT
) -> Storage:
    """The metadata store at ``url``, with large outputs written under ``storage_dir``."""
    return SqlStorage(url, storage_dir, inline_output_limit)


def open_store(url: str | None = None) -> Storage:
    """The metadata store of the current settings, or the database at ``url``.

    The settings are read as the ``partita`` command reads them (``PARTITA_HOME``,
    ``PARTITA_DATABASE_URL``, ``partita.yaml``); ``url`` replaces only the database:
    large outputs are still looked for in the settings' storage folder, and stored
    values are checked with the settings' signing key. The store
    is a context manager; close it (or use ``with``) when done::

        from partita import RunResult, open_store

        with open_store() as store:
            result = RunResult(store, "manual__2025-01-31T06:00:00+00:00__1a2b3c")
            print(result.state, result.output("extract"))
    """
    settings = load_settings()
    if url is not None:
        settings = replace(settings, database_url=url)
    return open_storage(settings)


__all__ = ["open_storage", "open_storage_url", "open_store"]
