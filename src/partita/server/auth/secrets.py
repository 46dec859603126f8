"""The secrets of accounts: argon2 password hashes, random tokens, and their digests.

The design decision: passwords (chosen by people, guessable) are hashed with
argon2id, slow on purpose; API tokens and session ids (256 random bits, not
guessable) are stored as a SHA-256 digest, which is enough for them and
keeps the per-request lookup cheap.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

#: API tokens start with this, so a leaked one is recognisable (and greppable).
TOKEN_PREFIX = "ptk_"
#: Fewer characters than this is refused as a password.
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (False for a malformed hash)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def dummy_verify(password: str) -> None:
    """Spend the time a real check takes, so a missing user is not faster to find."""
    verify_password(_DUMMY_HASH, password)


def new_secret() -> str:
    """A fresh random secret (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def new_token() -> str:
    """A fresh API token."""
    return TOKEN_PREFIX + new_secret()


def digest(secret: str) -> str:
    """The SHA-256 hex digest stored for a token or a session id."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_password() -> str:
    """A random password for the first admin (about 120 bits)."""
    return secrets.token_urlsafe(15)


_DUMMY_HASH = _hasher.hash("partita-no-such-user")

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "TOKEN_PREFIX",
    "digest",
    "dummy_verify",
    "hash_password",
    "new_password",
    "new_secret",
    "new_token",
    "verify_password",
]
