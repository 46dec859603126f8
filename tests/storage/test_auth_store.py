"""The auth store's contract (users, API tokens, sessions) on memory, SQLite and PostgreSQL,
and the migration that adds its tables (0019) to a database holding runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from migration_helpers import OLD_RUN, downgrade_to, revision_before, upgrade_with
from sqlalchemy import inspect

from partita.definitions.states import RunState
from partita.storage.auth import (
    ApiTokenRecord,
    AuthStoreError,
    Role,
    SessionRecord,
    UserRecord,
)
from partita.storage.base import Storage
from partita.storage.records import DagRunRecord, WriteBatch
from partita.storage.sql import SqlStorage, create_sql_engine

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def user(name: str, role: Role = Role.VIEWER) -> UserRecord:
    return UserRecord(name, role, f"hash-of-{name}", T0)


def test_users_are_created_listed_updated_and_deleted(storage: Storage) -> None:
    storage.auth.create_user(user("zoe", Role.ADMIN))
    storage.auth.create_user(user("ann"))
    assert [u.username for u in storage.auth.list_users()] == ["ann", "zoe"]
    assert storage.auth.get_user("zoe") == user("zoe", Role.ADMIN)
    assert storage.auth.get_user("nobody") is None

    storage.auth.create_session(SessionRecord("s1", "ann", "c", T0, T0 + timedelta(days=1)))
    storage.auth.update_user(UserRecord("ann", Role.OPERATOR, "new-hash", T0))
    assert storage.auth.get_session("s1", T0) is None  # a new password: log in again
    got = storage.auth.get_user("ann")
    assert got is not None and (got.role, got.password_hash) == (Role.OPERATOR, "new-hash")
    assert isinstance(got.role, Role)

    assert storage.auth.delete_user("ann") is True
    assert storage.auth.delete_user("ann") is False
    assert storage.auth.get_user("ann") is None


def test_a_taken_username_and_an_unknown_user_are_refused(storage: Storage) -> None:
    storage.auth.create_user(user("ann"))
    with pytest.raises(AuthStoreError, match="user 'ann' exists already"):
        storage.auth.create_user(user("ann"))
    with pytest.raises(AuthStoreError, match="no user 'bob'; 'partita users list'"):
        storage.auth.update_user(user("bob"))
    with pytest.raises(AuthStoreError, match="no user 'bob'"):
        storage.auth.create_token(ApiTokenRecord("t1", "bob", "ci", "h1", T0))


def test_tokens_are_found_by_digest_listed_and_revoked(storage: Storage) -> None:
    storage.auth.create_user(user("ann"))
    storage.auth.create_user(user("bob"))
    storage.auth.create_token(ApiTokenRecord("t2", "bob", "ci", "h2", T0))
    storage.auth.create_token(ApiTokenRecord("t1", "ann", "laptop", "h1", T0))
    assert storage.auth.find_token("h2") == ApiTokenRecord("t2", "bob", "ci", "h2", T0)
    assert storage.auth.find_token("nope") is None
    assert [t.token_id for t in storage.auth.list_tokens()] == ["t1", "t2"]
    assert [t.token_id for t in storage.auth.list_tokens("bob")] == ["t2"]
    assert storage.auth.revoke_token("t2") is True
    assert storage.auth.revoke_token("t2") is False
    assert storage.auth.find_token("h2") is None


def test_sessions_expire_and_end(storage: Storage) -> None:
    storage.auth.create_user(user("ann"))
    live = SessionRecord("s1", "ann", "csrf1", T0, T0 + timedelta(hours=1))
    old = SessionRecord("s2", "ann", "csrf2", T0, T0 + timedelta(minutes=1))
    storage.auth.create_session(live)
    storage.auth.create_session(old)
    later = T0 + timedelta(minutes=5)
    assert storage.auth.get_session("s1", later) == live
    assert storage.auth.get_session("s2", later) is None  # expired
    assert storage.auth.delete_expired_sessions(later) == 1
    storage.auth.delete_session("s1")
    assert storage.auth.get_session("s1", T0) is None
    storage.auth.delete_session("s1")  # twice is fine


def test_deleting_a_user_ends_their_tokens_and_sessions(storage: Storage) -> None:
    storage.auth.create_user(user("ann"))
    storage.auth.create_user(user("bob"))
    storage.auth.create_token(ApiTokenRecord("t1", "ann", "ci", "h1", T0))
    storage.auth.create_token(ApiTokenRecord("t2", "bob", "ci", "h2", T0))
    storage.auth.create_session(SessionRecord("s1", "ann", "c", T0, T0 + timedelta(days=1)))
    storage.auth.delete_user("ann")
    assert storage.auth.find_token("h1") is None
    assert storage.auth.get_session("s1", T0) is None
    assert [t.token_id for t in storage.auth.list_tokens()] == ["t2"]


def test_runs_are_paged_and_counted(storage: Storage) -> None:
    runs = [
        DagRunRecord(f"r{i}", "etl" if i % 2 else "other", "v", RunState.SUCCESS,
                     queued_at=T0 + timedelta(minutes=i))
        for i in range(7)
    ]  # fmt: skip
    storage.write(WriteBatch(runs=runs))
    assert [r.run_id for r in storage.runs.list_runs(limit=3, offset=2)] == ["r4", "r3", "r2"]
    assert [r.run_id for r in storage.runs.list_runs("etl", limit=2, offset=1)] == ["r3", "r1"]
    assert storage.runs.count_runs() == 7
    assert storage.runs.count_runs("etl") == 3
    assert storage.runs.count_runs(states=[RunState.FAILED]) == 0


def test_pages_go_on_past_the_newest_queued_runs_to_the_unqueued_ones(storage: Storage) -> None:
    runs = [DagRunRecord(f"q{i}", "etl", "v", RunState.SUCCESS, queued_at=T0 + timedelta(i))
            for i in range(3)]  # fmt: skip
    runs += [DagRunRecord(f"u{i}", "etl", "v", RunState.SUCCESS) for i in range(3)]
    storage.write(WriteBatch(runs=runs))
    pages = [[r.run_id for r in storage.runs.list_runs(limit=2, offset=o)] for o in (0, 2, 4, 6)]
    assert pages == [["q2", "q1"], ["q0", "u2"], ["u1", "u0"], []]
    assert [r.run_id for r in storage.runs.list_runs(limit=10, offset=4)] == ["u1", "u0"]


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])]
)
def test_upgrading_the_previous_head_adds_the_auth_tables_and_keeps_runs(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("sqlite_url" if database == "sqlite" else "pg_fresh_database_url")
    assert "web_user" not in upgrade_with(url, revision_before("0019"), OLD_RUN)
    with SqlStorage(url, tmp_path / "storage") as store:  # migrates to head on open
        assert store.runs.get_run("old").state is RunState.SUCCESS
        assert store.runs.count_runs() == 1
        store.auth.create_user(user("ann"))
        assert [u.username for u in store.auth.list_users()] == ["ann"]
    engine = create_sql_engine(url)
    try:
        indexes = {ix["name"] for ix in inspect(engine).get_indexes("dag_run")}
        assert "ix_dag_run_queued_at_run_id" in indexes
    finally:
        engine.dispose()
    assert "web_user" not in downgrade_to(url, revision_before("0019"))


def test_failed_logins_are_counted_per_key_and_forgotten(storage: Storage) -> None:
    auth = storage.auth
    for second in (0, 10, 20):
        auth.record_login_failure("k1", T0 + timedelta(seconds=second), T0)
    auth.record_login_failure("k2", T0 + timedelta(seconds=25), T0)

    assert auth.login_failures("k1", T0 + timedelta(seconds=5)) == [
        T0 + timedelta(seconds=10),
        T0 + timedelta(seconds=20),
    ]
    auth.clear_login_failures("k1")
    assert auth.login_failures("k1", T0 - timedelta(seconds=1)) == []
    assert auth.login_failures("k2", T0) == [T0 + timedelta(seconds=25)]
    # A failure forgets every failure older than its window, of any key.
    auth.record_login_failure("k3", T0 + timedelta(seconds=90), T0 + timedelta(seconds=30))
    assert auth.login_failures("k2", T0) == []
    assert auth.login_failures("k3", T0) == [T0 + timedelta(seconds=90)]
