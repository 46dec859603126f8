"""What the web server masks: every secret the store it serves (and its environment) holds.

A task masks what it read in its own process; the web server never read
those secrets, and a task may print a secret it got another way. So the
server keeps its own masker, built from the served store's connection
passwords, secret extras and secret-sounding variables
(``register_known_secrets``), and passes through it every text a task or a
user produced before showing it: log lines (read and followed), stored
errors and tracebacks, output previews, rendered templates and
problem+json messages.

The design decision: the masker is rebuilt from the store at most every
``secrets_refresh`` seconds (a connection added with the CLI is masked that
long after at the latest), and at once after a change made through the
server itself (``invalidate``); it is a new masker each time, so a deleted
secret stops being masked. A store whose secrets cannot be read (no or a
wrong Fernet key) masks nothing it cannot decrypt, as the CLI does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from partita.engine.secrets import mask_events, mask_lines, register_known_secrets
from partita.masking import SecretMasker
from partita.storage.base import Storage
from partita.storage.records import EventRecord, LogLineRecord


class ServerSecrets:
    """The masker of one web server, kept fresh from its store."""

    def __init__(self, storage: Storage, refresh: float) -> None:
        self._storage = storage
        self._refresh = refresh
        self._lock = threading.Lock()
        self._masker: SecretMasker | None = None
        self._built_at = 0.0

    def masker(self) -> SecretMasker:
        """The current masker (rebuilt from the store when stale)."""
        masker = self._masker
        if masker is not None and time.monotonic() - self._built_at < self._refresh:
            return masker
        with self._lock:
            fresh = SecretMasker()
            register_known_secrets(self._storage, fresh)
            self._masker, self._built_at = fresh, time.monotonic()
            return fresh

    def invalidate(self) -> None:
        """Read the store again before the next masking (a secret was added or changed)."""
        self._masker = None

    def mask(self, text: str) -> str:
        """``text`` with every known secret replaced by ``***``."""
        return self.masker().mask(text) if text else text

    def mask_optional(self, text: str | None) -> str | None:
        """``mask`` for a text that may be missing."""
        return None if text is None else self.mask(text)

    def redact(self, value: Any) -> Any:
        """A copy of ``value`` (text, dict, list) with secrets masked in every string."""
        return self.masker().redact(value)

    def lines(self, lines: Iterable[LogLineRecord]) -> list[LogLineRecord]:
        """Log lines with their messages masked."""
        return mask_lines(lines, self.masker())

    def events(self, events: Iterable[EventRecord]) -> list[EventRecord]:
        """Events (errors, tracebacks, callback errors) with their payloads' texts masked."""
        return mask_events(events, self.masker())


__all__ = ["ServerSecrets"]
