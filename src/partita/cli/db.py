"""``partita db upgrade``: bring the metadata database to the schema this partita needs.

The design decision: the command only names the database and the revision;
the migration itself (Alembic, one locked transaction) is the storage
layer's ``upgrade``, which every store also runs when it opens a database.
Only this command passes the signing key to it, so only this command signs
the outputs an earlier partita stored unsigned (revision 0006, once).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
from rich.text import Text

from partita.cli.console import make_console
from partita.cli.store import metadata_store
from partita.definitions.durations import DurationError, parse_duration
from partita.settings import load_settings
from partita.storage.retention import (
    DEFAULT_BATCH_SIZE,
    RETENTION_TABLES,
    TABLE_DESCRIPTIONS,
    RetentionPolicy,
    check_tables,
    clean,
)
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


class DurationType(click.ParamType):
    """A duration such as ``30d`` or ``12h`` (``definitions.durations``)."""

    name = "DURATION"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(str(value))
        except DurationError as exc:
            self.fail(str(exc), param, ctx)


@db.command("clean")
@click.option(
    "--older-than",
    type=DurationType(),
    required=True,
    help="Delete what ended longer ago than this (e.g. 30d, 12h, 1h30m).",
)
@click.option(
    "--keep-last",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="N",
    help="Keep the N newest runs of each DAG, ticks of each sensor or schedule and "
    "materializations of each asset partition, however old.",
)
@click.option(
    "--tables",
    default=",".join(RETENTION_TABLES),
    show_default=True,
    help="What to clean, comma-separated: " + ", ".join(RETENTION_TABLES) + ".",
)
@click.option("--dry-run", is_flag=True, help="Print what would be deleted; delete nothing.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Rows (runs, backfills, ticks...) deleted per transaction.",
)
def clean_db(
    older_than: timedelta, keep_last: int, tables: str, dry_run: bool, batch_size: int
) -> None:  # fmt: skip
    """Delete finished runs, backfills, ticks and asset events older than --older-than, in batches.

    Queued and running runs are never deleted; a run goes with its task
    instances, events, log lines and outputs (files included). The newest
    materialization of each asset partition and sensor run keys always stay.
    Each batch is its own short transaction, so a scheduler running meanwhile
    is not held up.
    """
    chosen = check_tables(tables.split(","))
    now = datetime.now(UTC)
    cutoff = now - older_than
    policy = RetentionPolicy(cutoff, keep_last, chosen, now=now)
    console = make_console()
    with metadata_store() as storage:
        if dry_run:
            counts = {
                t: storage.retention.count(policy, t) for t in RETENTION_TABLES if t in chosen
            }
        else:
            counts = clean(storage.retention, policy, batch_size=batch_size)
    verb = "Would delete" if dry_run else "Deleted"
    console.print(Text(f"{verb}, ended before {cutoff.isoformat(timespec='seconds')}:"))
    for table, count in counts.items():
        console.print(Text(f"  {count} {TABLE_DESCRIPTIONS[table]}"))


__all__ = ["clean_db", "db"]
