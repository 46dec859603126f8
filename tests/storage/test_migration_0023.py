"""Revision 0023 (failed logins): a database made at the revision before it, holding a user,
upgrades to head and counts failed logins in its new table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from migration_helpers import revision_before, upgrade_with

from partita.storage.sql import SqlStorage, upgrade
from partita.storage.sql.migrate import head_revision


def _database_before_0023_with_a_user(url: str) -> None:
    before = revision_before("0023")
    upgrade_with(
        url,
        before,
        (
            "INSERT INTO web_user (username, role, password_hash, created_at) "
            "VALUES ('admin', 'admin', 'x', '2026-01-01 00:00:00+00:00')"
        ),
    )


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_database_before_0023_upgrades_and_counts_failed_logins(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_fresh_database_url")
    _database_before_0023_with_a_user(url)

    assert upgrade(url) == head_revision()

    now = datetime(2026, 6, 1, tzinfo=UTC)
    with SqlStorage(url, tmp_path / "storage") as storage:
        assert storage.auth.get_user("admin") is not None
        assert storage.auth.login_failures("key", now - timedelta(minutes=1)) == []
        storage.auth.record_login_failure("key", now, now - timedelta(minutes=1))
        assert storage.auth.login_failures("key", now - timedelta(minutes=1)) == [now]
