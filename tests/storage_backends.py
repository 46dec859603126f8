"""A ``Storage`` of each kind for the storage fixtures: memory, SQLite and PostgreSQL.

``tests/storage/conftest.py`` and ``tests/scheduler/conftest.py`` build their
``storage`` fixtures from ``open_storage``; a test module that needs other
store options (an inline-output limit) builds its own the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from partita.storage.base import Storage
from partita.storage.memory import MemoryStorage
from partita.storage.sql import SqlStorage

#: The fixture params of every kind; the PostgreSQL one is marked ``postgres``.
ALL_KINDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def open_storage(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, **options: Any
) -> Iterator[Storage]:
    """A fresh store of ``kind`` ("memory", "sqlite", "postgres"); ``options`` go to SqlStorage."""
    if kind == "memory":
        yield MemoryStorage()
        return
    url = request.getfixturevalue("sqlite_url" if kind == "sqlite" else "pg_clean_database_url")
    with SqlStorage(url, tmp_path / "storage", **options) as store:
        yield store
