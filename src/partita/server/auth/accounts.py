"""Create and change accounts: users, passwords, API tokens, and the first admin.

Used by the ``partita users`` and ``partita tokens`` commands and by the
server at start. Every function validates its input at this boundary and
raises ``AccountError`` with a message naming the fix.

The design decision: the first admin's random password is printed once and
kept in ``$PARTITA_HOME/admin-password`` created with mode 0600 in the same
``open`` call (never a moment readable by others); partita never writes it
anywhere else.
"""

from __future__ import annotations

import os
import re
import secrets as stdlib_secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from partita.exceptions import PartitaError
from partita.server.auth.secrets import (
    MIN_PASSWORD_LENGTH,
    digest,
    hash_password,
    new_password,
    new_token,
)
from partita.storage.auth import ApiTokenRecord, AuthStore, Role, UserRecord, unknown_user

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD_FILE = "admin-password"
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


class AccountError(PartitaError):
    """A user or token request that cannot be done as asked; the message says why."""


def parse_role(text: str) -> Role:
    """The role named ``text``, or an error listing the roles."""
    try:
        return Role(text)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise AccountError(f"unknown role {text!r}; the roles are: {names}") from None


def check_username(username: str) -> str:
    """``username`` if it is a valid name; an error saying what a name may hold."""
    if not _USERNAME.match(username):
        raise AccountError(
            f"invalid username {username!r}: use 1 to 100 letters, digits, '.', '_', '@' or "
            "'-', starting with a letter or digit"
        )
    return username


def check_password(password: str) -> str:
    """``password`` if it is long enough."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters"
        )
    return password


def create_user(store: AuthStore, username: str, role: Role, password: str) -> UserRecord:
    """Add a user with an argon2 hash of ``password``."""
    check_username(username)
    check_password(password)
    if store.get_user(username) is not None:
        raise AccountError(
            f"user {username!r} exists already; 'partita users set-password {username}' "
            "changes the password"
        )
    user = UserRecord(username, role, hash_password(password), datetime.now(UTC))
    store.create_user(user)
    return user


def set_password(store: AuthStore, username: str, password: str) -> None:
    """Replace a user's password."""
    check_password(password)
    user = store.get_user(username)
    if user is None:
        raise unknown_user(username)
    store.update_user(UserRecord(username, user.role, hash_password(password), user.created_at))


def _refuse_last_admin(store: AuthStore, user: UserRecord, doing: str) -> None:
    admins = [u for u in store.list_users() if u.role is Role.ADMIN]
    if user.role is Role.ADMIN and len(admins) == 1:
        raise AccountError(
            f"{user.username!r} is the only admin; create another admin first "
            f"('partita users create --role admin'), then {doing}"
        )


def delete_account(store: AuthStore, username: str) -> None:
    """Delete a user with their tokens and sessions (never the only admin)."""
    user = store.get_user(username)
    if user is None:
        raise unknown_user(username)
    _refuse_last_admin(store, user, f"delete {username!r}")
    store.delete_user(username)


def set_role(store: AuthStore, username: str, role: Role) -> None:
    """Give a user another role (the only admin keeps theirs)."""
    user = store.get_user(username)
    if user is None:
        raise unknown_user(username)
    if role is not Role.ADMIN:
        _refuse_last_admin(store, user, f"change the role of {username!r}")
    store.update_user(UserRecord(username, role, user.password_hash, user.created_at))


@dataclass(frozen=True)
class NewToken:
    """A token just created: its record and the secret, shown this once."""

    record: ApiTokenRecord
    secret: str


def create_token(store: AuthStore, username: str, name: str | None = None) -> NewToken:
    """A new API token of ``username``; only its digest is stored."""
    if store.get_user(username) is None:
        raise unknown_user(username)
    secret = new_token()
    token_id = stdlib_secrets.token_hex(6)
    now = datetime.now(UTC)
    record = ApiTokenRecord(token_id, username, name or f"token-{token_id}", digest(secret), now)
    store.create_token(record)
    return NewToken(record, secret)


@dataclass(frozen=True)
class InitialAdmin:
    """The admin made at first start, and where its password was written."""

    username: str
    password: str
    password_file: Path


def ensure_initial_admin(store: AuthStore, home: Path) -> InitialAdmin | None:
    """When there is no user at all, create ``admin`` with a random password (else None)."""
    if store.list_users():
        return None
    password = new_password()
    create_user(store, ADMIN_USERNAME, Role.ADMIN, password)
    home.mkdir(parents=True, exist_ok=True)
    path = home / ADMIN_PASSWORD_FILE
    path.unlink(missing_ok=True)  # a file left from an older database: not ours to trust
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    return InitialAdmin(ADMIN_USERNAME, password, path)


__all__ = [
    "ADMIN_PASSWORD_FILE",
    "ADMIN_USERNAME",
    "AccountError",
    "InitialAdmin",
    "NewToken",
    "check_password",
    "check_username",
    "create_token",
    "create_user",
    "delete_account",
    "ensure_initial_admin",
    "parse_role",
    "set_password",
    "set_role",
]
