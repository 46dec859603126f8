"""Fixtures of the storage contract tests: ``storage`` on memory, SQLite and PostgreSQL.

A test module that needs other store options (an inline-output limit) defines
its own ``storage`` fixture, which takes precedence over this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from partita.storage.base import Storage
from storage_backends import ALL_KINDS, open_storage


@pytest.fixture(params=ALL_KINDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """A fresh ``Storage`` of each kind: memory, SQLite and (marked ``postgres``) PostgreSQL."""
    with open_storage(request.param, request, tmp_path) as store:
        yield store
