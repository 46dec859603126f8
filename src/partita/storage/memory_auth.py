"""Users, API tokens and sessions in memory: the twin of the SQL auth store, for tests.

The design decision: one lock around three dictionaries, so every method is
one atomic step, as one transaction is in SQL.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from partita.storage.auth import (
    ApiTokenRecord,
    AuthStore,
    AuthStoreError,
    SessionRecord,
    UserRecord,
    unknown_user,
)


class MemoryAuthStore(AuthStore):
    """Users, tokens and sessions in dictionaries of this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[str, UserRecord] = {}
        self._tokens: dict[str, ApiTokenRecord] = {}
        self._sessions: dict[str, SessionRecord] = {}
        self._failures: dict[str, list[datetime]] = {}

    def create_user(self, user: UserRecord) -> None:
        with self._lock:
            if user.username in self._users:
                raise AuthStoreError(f"user {user.username!r} exists already")
            self._users[user.username] = user

    def get_user(self, username: str) -> UserRecord | None:
        return self._users.get(username)

    def list_users(self) -> list[UserRecord]:
        return sorted(self._users.values(), key=lambda u: u.username)

    def update_user(self, user: UserRecord) -> None:
        with self._lock:
            if user.username not in self._users:
                raise unknown_user(user.username)
            self._users[user.username] = user
            for key in [k for k, s in self._sessions.items() if s.username == user.username]:
                del self._sessions[key]

    def delete_user(self, username: str) -> bool:
        with self._lock:
            if self._users.pop(username, None) is None:
                return False
            for key in [k for k, t in self._tokens.items() if t.username == username]:
                del self._tokens[key]
            for key in [k for k, s in self._sessions.items() if s.username == username]:
                del self._sessions[key]
            return True

    def create_token(self, token: ApiTokenRecord) -> None:
        with self._lock:
            if token.username not in self._users:
                raise unknown_user(token.username)
            self._tokens[token.token_id] = token

    def find_token(self, token_hash: str) -> ApiTokenRecord | None:
        return next((t for t in self._tokens.values() if t.token_hash == token_hash), None)

    def list_tokens(self, username: str | None = None) -> list[ApiTokenRecord]:
        found = [t for t in self._tokens.values() if username is None or t.username == username]
        return sorted(found, key=lambda t: (t.username, t.created_at, t.token_id))

    def revoke_token(self, token_id: str) -> bool:
        with self._lock:
            return self._tokens.pop(token_id, None) is not None

    def create_session(self, session: SessionRecord) -> None:
        with self._lock:
            self._sessions[session.session_hash] = session

    def get_session(self, session_hash: str, now: datetime) -> SessionRecord | None:
        session = self._sessions.get(session_hash)
        if session is None or session.expires_at <= now:
            return None
        return session

    def delete_session(self, session_hash: str) -> None:
        with self._lock:
            self._sessions.pop(session_hash, None)

    def expired_session_hashes(self, before: datetime) -> list[str]:
        """Retention: the sessions that expired before ``before``."""
        return sorted(k for k, s in self._sessions.items() if s.expires_at < before)

    def delete_sessions(self, session_hashes: Sequence[str]) -> int:
        """Retention: delete these sessions; how many there were."""
        with self._lock:
            return sum(self._sessions.pop(k, None) is not None for k in session_hashes)

    def delete_expired_sessions(self, now: datetime) -> int:
        with self._lock:
            expired = [k for k, s in self._sessions.items() if s.expires_at <= now]
            for key in expired:
                del self._sessions[key]
            return len(expired)

    def record_login_failure(self, key: str, at: datetime, forget_before: datetime) -> None:
        with self._lock:
            for name in list(self._failures):
                kept = [t for t in self._failures[name] if t >= forget_before]
                if kept:
                    self._failures[name] = kept
                else:
                    del self._failures[name]
            self._failures.setdefault(key, []).append(at)

    def login_failures(self, key: str, since: datetime) -> list[datetime]:
        with self._lock:
            return sorted(t for t in self._failures.get(key, []) if t > since)

    def clear_login_failures(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


__all__ = ["MemoryAuthStore"]
