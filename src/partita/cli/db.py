"""``partita db upgrade``: bring the metadata database to the schema this partita needs.

The design decision: the command only names the database and the revision;
the migration itself (Alembic, one locked transaction) is the storage
layer's ``upgrade``, which every store also runs when it opens a database.
Only this command passes the signing key to it, so only this command signs
the outputs an earlier partita stored unsigned (revision 0006, once).
"""

from __future__ import annotations

import click
from rich.text import Text

from partita.cli.console import make_console
from partita.settings import load_settings
from partita.storage.signing import load_signer
from partita.storage.sql.engine import mask_url, normalize_url
from partita.storage.sql.migrate import upgrade
from partita.storage.sql.resign import OutputResigner


@click.group()
def db() -> None:
    """Manage the metadata database."""


@db.command("upgrade")
def upgrade_db() -> None:
    """Migrate the metadata database to the newest schema (a no-op when it is there)."""
    settings = load_settings()
    normalize_url(settings.database_url)  # a bad URL is the first thing to report
    resigner = OutputResigner(load_signer(settings), settings.storage_dir)
    revision = upgrade(settings.database_url, resigner=resigner)
    console = make_console()
    line = Text(f"Database {mask_url(settings.database_url)} is at schema revision ")
    line.append(revision, style="bold")
    console.print(line)
    if resigner.signed_rows or resigner.signed_files:
        console.print(
            Text(
                f"Signed {resigner.signed_rows + resigner.signed_files} outputs stored unsigned "
                f"by an earlier partita ({resigner.signed_rows} in the database, "
                f"{resigner.signed_files} files under {settings.storage_dir})"
            )
        )
    if resigner.skipped_reason:
        console.print(Text(f"Note: {resigner.skipped_reason}", style="yellow"))


__all__ = ["db"]
