"""Open the metadata store the way every CLI command does: settings, store, orphan check.

The design decision: a command never builds a store itself; it asks here, so
each opening also records as failed the runs of this host whose process died
(``fail_orphaned_runs``), and a killed ``partita run`` never stays ``running``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from partita.cli.recovery import fail_orphaned_runs
from partita.settings import Settings, load_settings
from partita.storage.base import Storage
from partita.storage.factory import open_storage


@contextmanager
def metadata_store(settings: Settings | None = None) -> Iterator[Storage]:
    """The metadata store named by the settings (read now when not given), closed afterwards."""
    storage = open_storage(settings if settings is not None else load_settings())
    try:
        fail_orphaned_runs(storage)
        yield storage
    finally:
        storage.close()


__all__ = ["metadata_store"]
