"""Signed pickles: partita unpickles only what it pickled itself, with its own key.

A pickle can run any code when it is loaded, so whoever can write to the
storage folder or to the metadata database could make every reader of an
output run their code. Everything partita pickles (task outputs inline in the
database or in files, the filesystem IO manager's values) is therefore
stored as ``MAGIC + HMAC-SHA256(key, pickle) + pickle`` and verified before
``pickle.loads``; data without the prefix (written by an earlier partita, or
by someone else) or with a MAC that does not match raises ``SignatureError``.

The design decision: the key comes from ``PARTITA_SECRET_KEY`` when set
(required with PostgreSQL, where processes on several hosts share outputs and
each needs the same key); otherwise, for a SQLite database, from
``$PARTITA_HOME/secret.key``, generated on first use, 0600 in a 0700 home.
The key never lives in the storage folder, whose writers it guards against.
"""

from __future__ import annotations

import hashlib
import hmac
import pickle
import secrets
from pathlib import Path
from typing import Any

from partita.exceptions import ConfigurationError, SignatureError
from partita.settings import SECRET_KEY_VARIABLE, Settings
from partita.storage.files import read_private_key_file

#: What every signed value starts with; a pickle (protocol 2 or later) starts with 0x80.
MAGIC = b"PARTITA-SIG1"
MAC_SIZE = hashlib.sha256().digest_size
HEADER_SIZE = len(MAGIC) + MAC_SIZE
KEY_FILE_NAME = "secret.key"
_GENERATE_HINT = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


class PickleSigner:
    """Pickles values into signed bytes and loads them back after checking the signature."""

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("a signing key cannot be empty")
        self._key = key

    def mac(self, payload: bytes | memoryview) -> bytes:
        """The HMAC-SHA256 of ``payload`` under this key."""
        return hmac.digest(self._key, payload, "sha256")

    def sign(self, payload: bytes) -> bytes:
        """``payload`` with the signature header in front."""
        return MAGIC + self.mac(payload) + payload

    def dumps(self, value: Any) -> bytes:
        """``value`` pickled and signed; pickling errors propagate unchanged."""
        return self.sign(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    def verify(self, data: bytes, what: str) -> memoryview:
        """The payload of signed ``data`` (no copy); ``SignatureError`` names ``what`` if bad."""
        if not is_signed(data):
            raise SignatureError(
                f"{what} is not signed, so partita will not unpickle it (a pickle can run any "
                "code): it was written by a partita without signing, or by something else. If "
                "an earlier partita wrote it, run 'partita db upgrade' once to sign such "
                "outputs; otherwise re-run the task that produces it"
            )
        view = memoryview(data)
        payload = view[HEADER_SIZE:]
        if not hmac.compare_digest(bytes(view[len(MAGIC) : HEADER_SIZE]), self.mac(payload)):
            raise SignatureError(
                f"{what} fails its signature check, so partita will not unpickle it: it was "
                "changed after partita wrote it, or signed with another key (every host must "
                f"have the same {SECRET_KEY_VARIABLE}); re-run the task that produces it"
            )
        return payload

    def loads(self, data: bytes, what: str) -> Any:
        """The value of signed ``data``; ``SignatureError`` (naming ``what``) if it is not."""
        return pickle.loads(self.verify(data, what))

    def __repr__(self) -> str:
        return "PickleSigner(<key hidden>)"


def is_signed(data: bytes | memoryview) -> bool:
    """True when ``data`` carries partita's signature header (checked or not)."""
    return len(data) >= HEADER_SIZE and bytes(data[: len(MAGIC)]) == MAGIC


def is_sqlite_url(url: str) -> bool:
    """True for a ``sqlite://`` or ``sqlite+driver://`` URL."""
    return url.split(":", 1)[0].split("+", 1)[0].lower() == "sqlite"


def load_signer(settings: Settings, *, sqlite: bool | None = None) -> PickleSigner:
    """The signer of this installation: ``PARTITA_SECRET_KEY``, else the home's key file.

    ``sqlite`` says whether the metadata database is SQLite (default: judged from
    ``settings.database_url``); only then may the key come from a file, since other
    databases are shared by processes on several hosts. Raises ``ConfigurationError``.
    """
    if settings.secret_key is not None:
        return PickleSigner(settings.secret_key.get_secret_value().encode("utf-8"))
    if sqlite is None:
        sqlite = is_sqlite_url(settings.database_url)
    if not sqlite:
        raise ConfigurationError(
            f"{SECRET_KEY_VARIABLE} is not set; with a PostgreSQL metadata database every "
            "process of partita (on every host) must sign and check stored outputs with the "
            f"same key: set {SECRET_KEY_VARIABLE} to the same secret of 32 or more characters "
            f"everywhere (make one with: {_GENERATE_HINT})"
        )
    return PickleSigner(read_key_file(settings.home / KEY_FILE_NAME))


def read_key_file(path: Path) -> bytes:
    """The key in ``path``, generated (0600, in a 0700 folder) when the file does not exist."""
    new_key = secrets.token_hex(32).encode("ascii") + b"\n"
    text = read_private_key_file(path, new_key, "signing key file", SECRET_KEY_VARIABLE).strip()
    if len(text) < 32:
        raise ConfigurationError(
            f"signing key file {path} does not hold a key (fewer than 32 characters); restore "
            "it from a backup, or delete it so that partita makes a new one (outputs signed "
            "with the old key can then no longer be read)"
        )
    return text.encode("ascii")


__all__ = [
    "HEADER_SIZE",
    "KEY_FILE_NAME",
    "MAGIC",
    "PickleSigner",
    "is_signed",
    "is_sqlite_url",
    "load_signer",
    "read_key_file",
]
