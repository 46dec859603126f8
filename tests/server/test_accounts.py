"""The first admin and the account checks (``server/auth/accounts.py``), in process."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from partita.server.auth.accounts import AccountError, ensure_initial_admin, parse_role
from partita.server.auth.secrets import verify_password
from partita.storage.auth import Role
from partita.storage.memory import MemoryStorage


def test_the_first_admin_is_made_once_with_a_private_password_file(tmp_path: Path) -> None:
    storage = MemoryStorage()
    admin = ensure_initial_admin(storage.auth, tmp_path / "home")
    assert admin is not None and admin.username == "admin"
    assert admin.password_file.read_text().strip() == admin.password
    assert stat.S_IMODE(admin.password_file.stat().st_mode) == 0o600
    user = storage.auth.get_user("admin")
    assert user is not None and user.role is Role.ADMIN
    assert verify_password(user.password_hash, admin.password)
    assert ensure_initial_admin(storage.auth, tmp_path / "home") is None  # users exist


def test_an_unknown_role_names_the_roles() -> None:
    with pytest.raises(AccountError, match="unknown role 'king'; the roles are: admin, operator"):
        parse_role("king")
