"""A limit on failed logins per client address and username, kept in the server's memory.

The design decision: only failures count, in a sliding window, per
(address, username) pair; a blocked pair learns how long to wait
(``Retry-After``). The counts live in the server process: several servers
behind one proxy each keep their own (the limit is then per server).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class LoginLimiter:
    """At most ``attempts`` failures per key within ``window`` seconds."""

    def __init__(
        self, attempts: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.attempts = attempts
        self.window = window
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: tuple[str, str]) -> float | None:
        """Seconds to wait before ``key`` may try again, or None when it may now."""
        with self._lock:
            failures = self._recent(key)
            if len(failures) < self.attempts:
                return None
            return max(0.0, failures[0] + self.window - self._clock())

    def failed(self, key: tuple[str, str]) -> None:
        """Count a failed login of ``key``."""
        with self._lock:
            self._recent(key).append(self._clock())

    def succeeded(self, key: tuple[str, str]) -> None:
        """Forget the failures of ``key``."""
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        horizon = self._clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if len(self._failures) > 100_000:  # a flood of names: drop the idle ones
            for idle in [k for k, v in self._failures.items() if not v and k != key]:
                del self._failures[idle]
        return failures


__all__ = ["LoginLimiter"]
