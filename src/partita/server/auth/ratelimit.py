"""A limit on failed logins per client address and username, kept in the metadata database.

The design decision: only failures count, in a sliding window, per
(address, username) pair; a blocked pair learns how long to wait
(``Retry-After``). The failures are rows of the auth store (``login_failure``,
keyed by a SHA-256 digest of the pair, so no username is stored twice), so
several web server processes on one database share one limit: a client that
spreads its guesses over the servers behind a proxy is blocked as soon as
one server would block it. Each failure also forgets the failures older than
the window, so the table holds one window of failures at most.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from partita.storage.auth import AuthStore


def _now() -> datetime:
    return datetime.now(UTC)


class LoginLimiter:
    """At most ``attempts`` failures per key within ``window`` seconds, counted in ``store``."""

    def __init__(
        self,
        store: AuthStore,
        attempts: int,
        window: float,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.attempts = attempts
        self.window = window
        self._store = store
        self._clock = clock

    def retry_after(self, key: tuple[str, str]) -> float | None:
        """Seconds to wait before ``key`` may try again, or None when it may now."""
        now = self._clock()
        span = timedelta(seconds=self.window)
        failures = self._store.login_failures(_digest(key), now - span)
        if len(failures) < self.attempts:
            return None
        # The oldest failure that still blocks leaves the window first.
        oldest = failures[len(failures) - self.attempts]
        return max(0.0, (oldest + span - now).total_seconds())

    def failed(self, key: tuple[str, str]) -> None:
        """Count a failed login of ``key``."""
        now = self._clock()
        self._store.record_login_failure(_digest(key), now, now - timedelta(seconds=self.window))

    def succeeded(self, key: tuple[str, str]) -> None:
        """Forget the failures of ``key``."""
        self._store.clear_login_failures(_digest(key))


def _digest(key: tuple[str, str]) -> str:
    address, username = key
    return hashlib.sha256(f"{address}\x00{username}".encode()).hexdigest()


__all__ = ["LoginLimiter"]
