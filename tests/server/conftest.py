"""Fixtures of the web server tests: the app on SQLite and PostgreSQL (``server_helpers``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from asset_world import build_asset_world
from server_helpers import ApiWorld, build_world

from partita.storage.sql import SqlStorage


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiWorld]:
    """The API on SQLite and on PostgreSQL."""
    url = request.getfixturevalue(
        "sqlite_url" if request.param == "sqlite" else "pg_clean_database_url"
    )
    with SqlStorage(url, tmp_path / "storage") as storage:
        yield from build_world(storage, tmp_path / "home")


@pytest.fixture
def sqlite_world(sqlite_url: str, tmp_path: Path) -> Iterator[ApiWorld]:
    """The API on SQLite only (for tests of the server itself, not of the store)."""
    with SqlStorage(sqlite_url, tmp_path / "storage") as storage:
        yield from build_world(storage, tmp_path / "home")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def assets_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[ApiWorld, str]]:
    """The API on SQLite and PostgreSQL with assets, partitions, sensor ticks and a backfill
    (``asset_world``): the world and the backfill's id."""
    url = request.getfixturevalue(
        "sqlite_url" if request.param == "sqlite" else "pg_clean_database_url"
    )
    with SqlStorage(url, tmp_path / "storage") as storage:
        yield from build_asset_world(storage, tmp_path / "home")
