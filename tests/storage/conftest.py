"""Fixtures of the storage contract tests: ``storage`` on memory, SQLite and PostgreSQL.

A test module that needs another setup (an inline-output limit, a retention
size) defines its own ``storage`` fixture, which takes precedence over this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from partita.storage.base import Storage
from partita.storage.memory import MemoryStorage
from partita.storage.sql import SqlStorage


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """A fresh ``Storage`` of each kind: memory, SQLite and (marked ``postgres``) PostgreSQL."""
    if request.param == "memory":
        yield MemoryStorage()
        return
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("pg_clean_database_url")
    with SqlStorage(url, tmp_path / "storage") as store:
        yield store
