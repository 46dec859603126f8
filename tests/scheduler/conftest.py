"""Fixtures of the scheduler tests: ``storage`` on memory and SQLite.

A test module that also runs on PostgreSQL defines its own ``storage``
fixture (``params=ALL_KINDS``), which takes precedence over this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from partita.storage.base import Storage
from storage_backends import open_storage


@pytest.fixture(params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """A fresh ``Storage`` on memory and on a SQLite file."""
    with open_storage(request.param, request, tmp_path) as store:
        yield store
