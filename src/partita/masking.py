"""Hide secrets in what partita shows or stores: one process-wide registry of secret values.

A secret is registered when it is read: a connection's password and its
secret extras (``Connection.get``), a variable whose key sounds secret
(``Variable.get``), or anything a task passes to ``mask_secret``. From then
on, in this process, every occurrence of it is replaced by ``***`` in task
log lines (also what the task prints), in the error and traceback stored for
a failed try, and in what the CLI prints, also inside longer strings. A
secret is also registered percent-encoded (as it appears in a connection URI)
and, when it spans several lines, line by line.

The design decision: ``mask`` costs one attribute test when nothing is
registered, so tasks that never touch a secret pay nothing; with secrets it
is one compiled regular expression (every secret, longest first), rebuilt
only when a new secret is added. Values shorter than ``MIN_SECRET_CHARS``
are not registered: masking every ``"ab"`` would hide ordinary text.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

#: What a secret is replaced by.
MASK = "***"
#: Shorter values are not masked (they would hide ordinary words).
MIN_SECRET_CHARS = 4
#: A key or name containing one of these (any case) holds a secret.
SENSITIVE_WORDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "private_key",
    "passphrase",
    "authorization",
    "credential",
)


def is_sensitive_name(name: str | None) -> bool:
    """True when a key named ``name`` holds a secret (``db_password``, ``API_KEY``...)."""
    if not name:
        return False
    lowered = name.lower().replace("-", "_")
    return any(word in lowered for word in SENSITIVE_WORDS)


class SecretMasker:
    """The secrets of this process and the pattern that finds them; safe from any thread."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        #: None while nothing is registered: ``mask`` then returns its input at once.
        self.pattern: re.Pattern[str] | None = None

    def add(self, value: Any, name: str | None = None) -> None:
        """Register ``value`` (a string, or every string inside a dict, list or tuple).

        In a dict, only the values under sensitive keys count, unless ``name``
        (the name of the whole value) is sensitive, when every string does.
        """
        found: list[str] = []
        everything = is_sensitive_name(name) or (name is None and not isinstance(value, Mapping))
        _collect(value, everything, found)
        new = {
            variant
            for secret in found
            for variant in _variants(secret)
            if len(variant) >= MIN_SECRET_CHARS and variant != MASK
        }
        if not new:
            return
        with self._lock:
            if new <= self._secrets:
                return
            self._secrets |= new
            ordered = sorted(self._secrets, key=len, reverse=True)
            self.pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def mask(self, text: str) -> str:
        """``text`` with every registered secret replaced by ``***``."""
        pattern = self.pattern
        if pattern is None:
            return text
        return pattern.sub(MASK, text)

    def redact(self, value: Any, name: str | None = None) -> Any:
        """A copy of ``value`` for display: secrets masked, sensitive keys' values ``***``."""
        if isinstance(value, str):
            return MASK if value and is_sensitive_name(name) else self.mask(value)
        if isinstance(value, Mapping):
            return {k: self.redact(v, str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.redact(v, name) for v in value)
        if (
            value is not None
            and not isinstance(value, (bool, int, float))
            and (is_sensitive_name(name))
        ):
            return MASK
        return value

    def clear(self) -> None:
        """Forget every secret (tests)."""
        with self._lock:
            self._secrets.clear()
            self.pattern = None


def _collect(value: Any, all_strings: bool, found: list[str]) -> None:
    if isinstance(value, str):
        if all_strings:
            found.append(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _collect(item, all_strings or is_sensitive_name(str(key)), found)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _collect(item, all_strings, found)
    elif all_strings and isinstance(value, (int, float)) and not isinstance(value, bool):
        found.append(str(value))


def _variants(secret: str) -> set[str]:
    """The forms a secret is seen in: as is, percent-encoded, and each of its lines."""
    variants = {secret, quote(secret, safe="")}
    if "\n" in secret:
        variants.update(line.strip() for line in secret.splitlines())
    return variants


#: The registry of this process.
MASKER = SecretMasker()


def mask_secret(value: Any, name: str | None = None) -> None:
    """Hide ``value`` from now on in this process's task logs, errors and CLI output.

    ``value`` is a string, or a dict / list of them (in a dict, the values of
    sensitive keys such as ``password`` or ``api_key``; all of them when
    ``name`` is sensitive). Airflow's ``mask_secret``, for secrets partita
    did not read itself::

        token = fetch_token()
        mask_secret(token)
        print(f"using {token}")   # the log shows: using ***
    """
    MASKER.add(value, name)


def mask(text: str) -> str:
    """``text`` with every secret registered in this process replaced by ``***``."""
    return MASKER.mask(text)


__all__ = [
    "MASK",
    "MASKER",
    "MIN_SECRET_CHARS",
    "SENSITIVE_WORDS",
    "SecretMasker",
    "is_sensitive_name",
    "mask",
    "mask_secret",
]
