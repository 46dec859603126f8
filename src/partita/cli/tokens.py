"""``partita tokens create|list|revoke``: API tokens for scripts (``Authorization: Bearer``).

The design decision: a token's secret is printed once, when it is created;
the database keeps only its SHA-256 digest, so ``list`` shows ids and names,
and a lost token is revoked and replaced, never recovered.
"""

from __future__ import annotations

import click
from rich.table import Table

from partita.cli.console import format_time, make_console
from partita.cli.store import metadata_store
from partita.server.auth.accounts import AccountError, create_token


@click.group()
def tokens() -> None:
    """Create, list or revoke the API tokens of users."""


@tokens.command("create")
@click.option("--user", "username", required=True, help="The user the token acts as.")
@click.option("--name", default=None, help="A name to recognise the token by (e.g. 'ci').")
def create(username: str, name: str | None) -> None:
    """Create an API token for --user; its secret is printed once."""
    if name is not None and not 1 <= len(name) <= 250:
        raise click.BadParameter("use 1 to 250 characters", param_hint="--name")
    with metadata_store() as storage:
        new = create_token(storage.auth, username, name)
    click.echo(f"Created token {new.record.token_id} ({new.record.name!r}) of {username!r}:")
    click.echo(new.secret)
    click.echo("It is shown only now: send it as 'Authorization: Bearer <token>'.", err=True)


@tokens.command("list")
@click.option("--user", "username", default=None, help="Only the tokens of this user.")
def list_tokens(username: str | None) -> None:
    """List API tokens (ids and names; never their secrets)."""
    with metadata_store() as storage:
        found = storage.auth.list_tokens(username)
    console = make_console()
    if not found:
        console.print("No API tokens: 'partita tokens create --user U' makes one.")
        return
    table = Table("id", "user", "name", "created")
    for token in found:
        table.add_row(token.token_id, token.username, token.name, format_time(token.created_at))
    console.print(table)


@tokens.command("revoke")
@click.argument("token_id")
def revoke(token_id: str) -> None:
    """Revoke the API token TOKEN_ID (see 'partita tokens list')."""
    with metadata_store() as storage:
        if not storage.auth.revoke_token(token_id):
            raise AccountError(
                f"no API token {token_id!r}; 'partita tokens list' shows the token ids"
            )
    click.echo(f"Revoked token {token_id}.")


__all__ = ["tokens"]
