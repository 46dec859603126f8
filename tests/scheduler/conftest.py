"""Fixtures of the scheduler tests: ``storage`` on memory and SQLite.

A test module that also runs on PostgreSQL defines its own ``storage``
fixture, which takes precedence over this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from partita.storage.base import Storage
from partita.storage.memory import MemoryStorage
from partita.storage.sql import SqlStorage


@pytest.fixture(params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """A fresh ``Storage`` on memory and on a SQLite file."""
    if request.param == "memory":
        yield MemoryStorage()
        return
    with SqlStorage(f"sqlite:///{tmp_path / 'p.db'}", tmp_path / "storage") as store:
        yield store
