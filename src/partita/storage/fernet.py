"""Secrets at rest: connection passwords and extras, and variable values, encrypted with Fernet.

The keys come from ``PARTITA_FERNET_KEY``: one Fernet key, or several
separated by commas, newest first (a ``MultiFernet``: the first encrypts,
every one decrypts, so an old key stays readable while ``partita
rotate-fernet-key`` re-encrypts with the new one). Without the variable, a
SQLite installation (one machine) uses ``$PARTITA_HOME/fernet.key``,
generated on first use, 0600 in a 0700 home, one key per line; a PostgreSQL
installation must set the variable, since processes on other hosts must
decrypt with the same keys.

The design decision: as for the signing key (``storage/signing.py``), the
key is never stored next to what it protects, and a value that does not
decrypt is an error naming the key setting, never a garbage value. The
cipher is loaded on first use, so stores that never touch a secret never
need a key.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from partita.exceptions import ConfigurationError, SecretKeyError
from partita.settings import FERNET_KEY_VARIABLE, Settings
from partita.storage.files import create_private_file, read_private_key_file
from partita.storage.signing import is_sqlite_url

KEY_FILE_NAME = "fernet.key"
_GENERATE_HINT = (
    "python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


class SecretCipher:
    """Encrypts with the first key, decrypts with any; ``source`` names where the keys came from."""

    def __init__(self, keys: list[str], source: str) -> None:
        if not keys:
            raise ConfigurationError(f"{source} holds no Fernet key; {_GENERATE_HINT}")
        self.keys = keys
        self.source = source
        self._fernet = MultiFernet([_fernet(key, source, n) for n, key in enumerate(keys, 1)])

    def encrypt(self, text: str) -> str:
        """``text`` encrypted with the first key (a Fernet token, as text)."""
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str, what: str) -> str:
        """The text of ``token``; ``SecretKeyError`` naming ``what`` when no key opens it."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise self._wrong_key(what) from None

    def rotate(self, token: str, what: str) -> str:
        """``token`` re-encrypted with the first key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise self._wrong_key(what) from None

    def _wrong_key(self, what: str) -> SecretKeyError:
        return SecretKeyError(
            f"{what} cannot be decrypted with the Fernet key(s) of {self.source}: it was "
            "encrypted with another key. Set PARTITA_FERNET_KEY to the key it was encrypted "
            "with (several keys: new,old separated by commas, the new one first), or store "
            "the value again"
        )

    def __repr__(self) -> str:
        return f"SecretCipher({len(self.keys)} key(s) from {self.source})"


def _fernet(key: str, source: str, number: int) -> Fernet:
    try:
        return Fernet(key.strip().encode("ascii"))
    except (ValueError, UnicodeError):
        raise ConfigurationError(
            f"key {number} of {source} is not a Fernet key (32 url-safe base64-encoded bytes); "
            f"make one with: {_GENERATE_HINT}"
        ) from None


def split_keys(text: str) -> list[str]:
    """The keys in ``text``: separated by commas or new lines, blanks dropped."""
    return [key.strip() for key in text.replace("\n", ",").split(",") if key.strip()]


def load_cipher(settings: Settings, *, sqlite: bool | None = None) -> SecretCipher:
    """The cipher of this installation: ``PARTITA_FERNET_KEY``, else the home's key file.

    ``sqlite`` says whether the metadata database is SQLite (default: judged from
    the settings' URL); only then may the keys come from a file.
    """
    if settings.fernet_key is not None:
        keys = split_keys(settings.fernet_key.get_secret_value())
        return SecretCipher(keys, FERNET_KEY_VARIABLE)
    if sqlite is None:
        sqlite = is_sqlite_url(settings.database_url)
    if not sqlite:
        raise ConfigurationError(
            f"{FERNET_KEY_VARIABLE} is not set; with a PostgreSQL metadata database every "
            "process of partita (on every host) must encrypt and decrypt connections and "
            f"variables with the same key: set {FERNET_KEY_VARIABLE} to the same Fernet key "
            f"everywhere (make one with: {_GENERATE_HINT})"
        )
    path = key_file(settings)
    return SecretCipher(read_key_file(path), str(path))


def key_file(settings: Settings) -> Path:
    """Where a single machine keeps its Fernet keys."""
    return settings.home / KEY_FILE_NAME


def read_key_file(path: Path) -> list[str]:
    """The keys in ``path`` (newest first), the file generated (0600) when it does not exist."""
    new_key = Fernet.generate_key() + b"\n"
    text = read_private_key_file(path, new_key, "Fernet key file", FERNET_KEY_VARIABLE)
    return split_keys(text)


def prepend_file_key(path: Path) -> list[str]:
    """Put a new key first in the key file (the old ones stay for reading); the keys now."""
    keys = [Fernet.generate_key().decode("ascii"), *read_key_file(path)]
    temp = path.with_name(path.name + ".new")
    temp.unlink(missing_ok=True)
    create_private_file(temp, ("\n".join(keys) + "\n").encode("ascii"))
    os.replace(temp, path)
    return keys


__all__ = [
    "KEY_FILE_NAME",
    "SecretCipher",
    "key_file",
    "load_cipher",
    "prepend_file_key",
    "read_key_file",
    "split_keys",
]
