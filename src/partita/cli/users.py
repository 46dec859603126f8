"""``partita users create|list|delete|set-password``: the accounts of the web server.

The design decision: a password is never an option (it would stay in the
shell's history and in ``ps``); it is typed at a hidden prompt, or read from
the first line of standard input with ``--password-stdin`` for scripts.
"""

from __future__ import annotations

import sys

import click
from rich.table import Table

from partita.cli.console import format_time, make_console
from partita.cli.store import metadata_store
from partita.server.auth.accounts import (
    AccountError,
    check_password,
    create_user,
    delete_account,
    parse_role,
    set_password,
)
from partita.storage.auth import Role, unknown_user

_password_stdin = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)


def read_password(from_stdin: bool) -> str:
    """The new password: stdin's first line, or typed twice at a hidden prompt."""
    if from_stdin:
        return check_password(sys.stdin.readline().rstrip("\r\n"))
    if not sys.stdin.isatty():
        raise click.UsageError(
            "no terminal to type the password at; pipe it in with --password-stdin"
        )
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return check_password(password)


@click.group()
def users() -> None:
    """Create, list and delete the users of the web server, or set a password."""


@users.command("create")
@click.option("--username", required=True, help="The login name.")
@click.option(
    "--role",
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="admin: everything; operator: trigger, cancel, clear, mark, pause; viewer: read only.",
)
@_password_stdin
def create(username: str, role: str, password_stdin: bool) -> None:
    """Create a user with a role and a password."""
    with metadata_store() as storage:
        if storage.auth.get_user(username) is not None:
            raise AccountError(
                f"user {username!r} exists already; 'partita users set-password {username}' "
                "changes the password"
            )
        user = create_user(storage.auth, username, parse_role(role), read_password(password_stdin))
    click.echo(f"Created user {user.username!r} ({user.role}).")


@users.command("list")
def list_users() -> None:
    """List the users and their roles."""
    with metadata_store() as storage:
        found = storage.auth.list_users()
    console = make_console()
    if not found:
        console.print("No users yet: 'partita users create' adds one (or start the web server).")
        return
    table = Table("username", "role", "created")
    for user in found:
        table.add_row(user.username, str(user.role), format_time(user.created_at))
    console.print(table)


@users.command("delete")
@click.argument("username")
def delete(username: str) -> None:
    """Delete USERNAME, with their API tokens and sessions."""
    with metadata_store() as storage:
        delete_account(storage.auth, username)
    click.echo(f"Deleted user {username!r} and their tokens and sessions.")


@users.command("set-password")
@click.argument("username")
@_password_stdin
def set_user_password(username: str, password_stdin: bool) -> None:
    """Set the password of USERNAME."""
    with metadata_store() as storage:
        if storage.auth.get_user(username) is None:
            raise unknown_user(username)
        set_password(storage.auth, username, read_password(password_stdin))
    click.echo(f"Password of {username!r} changed.")


__all__ = ["users"]
