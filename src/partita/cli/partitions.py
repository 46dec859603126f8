"""``partita partitions add|list|delete``: the keys of dynamic partitions definitions.

``DynamicPartitionsDefinition(name="files")`` has the keys the metadata store
holds under ``files``; these commands add, list and delete them (a sensor or a
task can too, with ``context.instance.add_dynamic_partitions``).

The design decision: the commands need no code location: a dynamic
definition is named by its ``name``, and its keys are plain rows, so they can
be added before the code that uses them is deployed.
"""

from __future__ import annotations

import click
from rich.table import Table

from partita.cli.console import make_console
from partita.cli.store import metadata_store


@click.group()
def partitions() -> None:
    """Add, list or delete the keys of dynamic partitions (DynamicPartitionsDefinition)."""


@partitions.command("add")
@click.argument("name")
@click.argument("keys", nargs=-1, required=True)
def add_partitions(name: str, keys: tuple[str, ...]) -> None:
    """Add KEYS to dynamic partitions NAME (keys already there are left as they are)."""
    with metadata_store() as storage:
        added = storage.partitions.add_partitions(name, list(keys))
    known = len(set(keys)) - len(added)
    note = f" ({known} already there)" if known else ""
    click.echo(f"Added {len(added)} partition(s) to {name!r}{note}.")


@partitions.command("delete")
@click.argument("name")
@click.argument("keys", nargs=-1, required=True)
def delete_partitions(name: str, keys: tuple[str, ...]) -> None:
    """Delete KEYS from dynamic partitions NAME; exits 2 when none of them was there."""
    with metadata_store() as storage:
        deleted = storage.partitions.delete_partitions(name, list(keys))
    if not deleted:
        raise click.ClickException(
            f"dynamic partitions {name!r} has none of {', '.join(keys)}; "
            f"'partita partitions list {name}' shows its keys"
        )
    missing = len(set(keys)) - len(deleted)
    note = f" ({missing} not there)" if missing else ""
    click.echo(f"Deleted {len(deleted)} partition(s) from {name!r}{note}.")


@partitions.command("list")
@click.argument("name", required=False)
def list_partitions(name: str | None) -> None:
    """List the keys of dynamic partitions NAME, or every NAME with its number of keys."""
    console = make_console()
    with metadata_store() as storage:
        if name is None:
            names = storage.partitions.partitions_def_names()
        else:
            keys = storage.partitions.get_dynamic_partitions(name)
    if name is not None:
        if not keys:
            click.echo(f"Dynamic partitions {name!r} has no keys.")
        for key in keys:
            click.echo(key)
        return
    if not names:
        click.echo("No dynamic partitions have keys yet ('partita partitions add NAME KEY...').")
        return
    table = Table("name", "keys", box=None)
    for found, count in names.items():
        table.add_row(found, str(count))
    console.print(table)


__all__ = ["partitions"]
