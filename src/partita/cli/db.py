"""``partita db upgrade``: bring the metadata database to the schema this partita needs.

The design decision: the command only names the database and the revision;
the migration itself (Alembic, one locked transaction) is the storage
layer's ``upgrade``, which every store also runs when it opens a database.
"""

from __future__ import annotations

import click
from rich.text import Text

from partita.cli.console import make_console
from partita.settings import load_settings
from partita.storage.sql.engine import mask_url
from partita.storage.sql.migrate import upgrade


@click.group()
def db() -> None:
    """Manage the metadata database."""


@db.command("upgrade")
def upgrade_db() -> None:
    """Migrate the metadata database to the newest schema (a no-op when it is there)."""
    settings = load_settings()
    revision = upgrade(settings.database_url)
    line = Text(f"Database {mask_url(settings.database_url)} is at schema revision ")
    line.append(revision, style="bold")
    make_console().print(line)


__all__ = ["db"]
