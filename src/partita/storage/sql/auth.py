"""Users, API tokens, sessions and failed logins on SQL: ``web_user``, ``api_token``,
``web_session`` and ``login_failure``.

The design decision: tokens and sessions reference their user with
``ON DELETE CASCADE``, so deleting a user is one statement that also ends
every way that user had in; lookups go by the primary key or the unique
digest column, one indexed read per request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from partita.storage.auth import (
    ApiTokenRecord,
    AuthStore,
    AuthStoreError,
    Role,
    SessionRecord,
    UserRecord,
    unknown_user,
)
from partita.storage.sql.errors import connect
from partita.storage.sql.models import api_token_table as tokens
from partita.storage.sql.models import login_failure_table as failures
from partita.storage.sql.models import web_session_table as sessions
from partita.storage.sql.models import web_user_table as users


def _user(row: Row[Any]) -> UserRecord:
    return UserRecord(row.username, Role(row.role), row.password_hash, row.created_at)


def _token(row: Row[Any]) -> ApiTokenRecord:
    return ApiTokenRecord(row.token_id, row.username, row.name, row.token_hash, row.created_at)


class SqlAuthStore(AuthStore):
    """Users, tokens and sessions in the metadata database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def _transaction(self, what: str) -> Iterator[Connection]:
        with connect(self._engine, what) as connection, connection.begin():
            yield connection

    def create_user(self, user: UserRecord) -> None:
        if self.get_user(user.username) is not None:
            raise AuthStoreError(f"user {user.username!r} exists already")
        values = {**_fields(user), "role": str(user.role)}
        with connect(self._engine, f"create user {user.username!r}") as connection:
            try:
                with connection.begin():
                    connection.execute(insert(users).values(**values))
            except IntegrityError:  # created meanwhile by another process
                raise AuthStoreError(f"user {user.username!r} exists already") from None

    def get_user(self, username: str) -> UserRecord | None:
        query = select(users).where(users.c.username == username)
        with connect(self._engine, f"read user {username!r}") as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else _user(row)

    def list_users(self) -> list[UserRecord]:
        with connect(self._engine, "list users") as connection:
            rows = connection.execute(select(users).order_by(users.c.username)).all()
        return [_user(row) for row in rows]

    def update_user(self, user: UserRecord) -> None:
        change = (
            update(users)
            .where(users.c.username == user.username)
            .values(role=str(user.role), password_hash=user.password_hash)
        )
        with self._transaction(f"update user {user.username!r}") as connection:
            if connection.execute(change).rowcount != 1:
                raise unknown_user(user.username)
            connection.execute(delete(sessions).where(sessions.c.username == user.username))

    def delete_user(self, username: str) -> bool:
        with self._transaction(f"delete user {username!r}") as connection:
            connection.execute(delete(tokens).where(tokens.c.username == username))
            connection.execute(delete(sessions).where(sessions.c.username == username))
            return (
                connection.execute(delete(users).where(users.c.username == username)).rowcount == 1
            )

    def create_token(self, token: ApiTokenRecord) -> None:
        if self.get_user(token.username) is None:
            raise unknown_user(token.username)
        with (
            connect(self._engine, f"create a token of user {token.username!r}") as connection,
            connection.begin(),
        ):
            connection.execute(insert(tokens).values(**_fields(token)))

    def find_token(self, token_hash: str) -> ApiTokenRecord | None:
        query = select(tokens).where(tokens.c.token_hash == token_hash)
        with connect(self._engine, "look up an API token") as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else _token(row)

    def list_tokens(self, username: str | None = None) -> list[ApiTokenRecord]:
        query = select(tokens).order_by(tokens.c.username, tokens.c.created_at, tokens.c.token_id)
        if username is not None:
            query = query.where(tokens.c.username == username)
        with connect(self._engine, "list API tokens") as connection:
            return [_token(row) for row in connection.execute(query)]

    def revoke_token(self, token_id: str) -> bool:
        with self._transaction(f"revoke token {token_id!r}") as connection:
            return (
                connection.execute(delete(tokens).where(tokens.c.token_id == token_id)).rowcount
                == 1
            )

    def create_session(self, session: SessionRecord) -> None:
        with (
            connect(self._engine, f"create a session of {session.username!r}") as connection,
            connection.begin(),
        ):
            connection.execute(insert(sessions).values(**_fields(session)))

    def get_session(self, session_hash: str, now: datetime) -> SessionRecord | None:
        query = select(sessions).where(
            sessions.c.session_hash == session_hash, sessions.c.expires_at > now
        )
        with connect(self._engine, "look up a session") as connection:
            row = connection.execute(query).one_or_none()
        if row is None:
            return None
        return SessionRecord(
            row.session_hash, row.username, row.csrf_token, row.created_at, row.expires_at
        )

    def delete_session(self, session_hash: str) -> None:
        with self._transaction("end a session") as connection:
            connection.execute(delete(sessions).where(sessions.c.session_hash == session_hash))

    def delete_expired_sessions(self, now: datetime) -> int:
        with self._transaction("delete expired sessions") as connection:
            return connection.execute(delete(sessions).where(sessions.c.expires_at <= now)).rowcount

    def record_login_failure(self, key: str, at: datetime, forget_before: datetime) -> None:
        with self._transaction("count a failed login") as connection:
            connection.execute(delete(failures).where(failures.c.failed_at < forget_before))
            connection.execute(insert(failures).values(key_hash=key, failed_at=at))

    def login_failures(self, key: str, since: datetime) -> list[datetime]:
        query = (
            select(failures.c.failed_at)
            .where(failures.c.key_hash == key, failures.c.failed_at > since)
            .order_by(failures.c.failed_at)
        )
        with connect(self._engine, "read failed logins") as connection:
            return list(connection.execute(query).scalars())

    def clear_login_failures(self, key: str) -> None:
        with self._transaction("forget failed logins") as connection:
            connection.execute(delete(failures).where(failures.c.key_hash == key))


def _fields(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__struct_fields__}


__all__ = ["SqlAuthStore"]
