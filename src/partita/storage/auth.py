"""The web server's accounts: users, API tokens and login sessions, behind one small interface.

``AuthStore`` keeps three kinds of rows: a ``UserRecord`` (name, role,
argon2 password hash), an ``ApiTokenRecord`` (a named bearer token of one
user) and a ``SessionRecord`` (one logged-in browser). The memory and SQL
backends pass the same contract tests.

The design decision: the store never sees a secret. Passwords arrive
already hashed (argon2, by the server's auth package); tokens and session
ids are random 256-bit strings of which only a SHA-256 digest is stored and
looked up, so a copy of the database lets nobody log in. Deleting a user
deletes their tokens and sessions with it. Failed logins are kept here too
(by a digest of address and username), so every web server process on one
database enforces one limit.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from enum import StrEnum

import msgspec

from partita.exceptions import PartitaError


class Role(StrEnum):
    """What a user may do: admin everything, operator run things, viewer read only."""

    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what ``needed`` may (admin > operator > viewer)."""
        return _RANK[self] >= _RANK[needed]


_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


class AuthStoreError(PartitaError):
    """A user or token that cannot be written as asked (it exists already, or is unknown)."""


class UserRecord(msgspec.Struct, frozen=True):
    """One user of the web server and the API."""

    username: str
    role: Role
    password_hash: str
    created_at: datetime


class ApiTokenRecord(msgspec.Struct, frozen=True):
    """One API token: ``token_id`` names it (shown in lists), ``token_hash`` finds it."""

    token_id: str
    username: str
    name: str
    token_hash: str
    created_at: datetime


class SessionRecord(msgspec.Struct, frozen=True):
    """One logged-in browser: its session id's digest, its CSRF token, when it expires."""

    session_hash: str
    username: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime


class AuthStore(ABC):
    """Users, their API tokens and their login sessions."""

    @abstractmethod
    def create_user(self, user: UserRecord) -> None:
        """Insert a user; ``AuthStoreError`` when the username is taken."""

    @abstractmethod
    def get_user(self, username: str) -> UserRecord | None:
        """The user, or None."""

    @abstractmethod
    def list_users(self) -> list[UserRecord]:
        """Every user, sorted by username."""

    @abstractmethod
    def update_user(self, user: UserRecord) -> None:
        """Replace a user's role and password hash and end their sessions (they log in again);
        ``AuthStoreError`` when unknown."""

    @abstractmethod
    def delete_user(self, username: str) -> bool:
        """Delete a user with their tokens and sessions; False when there was none."""

    @abstractmethod
    def create_token(self, token: ApiTokenRecord) -> None:
        """Insert a token; ``AuthStoreError`` when its user is unknown."""

    @abstractmethod
    def find_token(self, token_hash: str) -> ApiTokenRecord | None:
        """The token whose digest is ``token_hash``, or None."""

    @abstractmethod
    def list_tokens(self, username: str | None = None) -> list[ApiTokenRecord]:
        """Tokens (of one user, or all), sorted by user then creation time."""

    @abstractmethod
    def revoke_token(self, token_id: str) -> bool:
        """Delete a token; False when there was none."""

    @abstractmethod
    def create_session(self, session: SessionRecord) -> None:
        """Insert a session."""

    @abstractmethod
    def get_session(self, session_hash: str, now: datetime) -> SessionRecord | None:
        """The session if it exists and has not expired at ``now``, else None."""

    @abstractmethod
    def delete_session(self, session_hash: str) -> None:
        """End a session (logout); nothing happens when there is none."""

    @abstractmethod
    def delete_expired_sessions(self, now: datetime) -> int:
        """Delete the sessions expired at ``now``; return how many."""

    @abstractmethod
    def record_login_failure(self, key: str, at: datetime, forget_before: datetime) -> None:
        """Count a failed login of ``key`` (a digest of address and username) at ``at``, and
        forget every failure (of any key) before ``forget_before``."""

    @abstractmethod
    def login_failures(self, key: str, since: datetime) -> list[datetime]:
        """The failed logins of ``key`` after ``since``, oldest first."""

    @abstractmethod
    def clear_login_failures(self, key: str) -> None:
        """Forget the failed logins of ``key`` (it logged in)."""


def unknown_user(username: str) -> AuthStoreError:
    """The error for a username no user has, with the fix."""
    return AuthStoreError(
        f"no user {username!r}; 'partita users list' shows the users, "
        "'partita users create' adds one"
    )


__all__ = [
    "ApiTokenRecord",
    "AuthStore",
    "AuthStoreError",
    "Role",
    "SessionRecord",
    "UserRecord",
    "unknown_user",
]
