"""``partita pools``: the pools of task slots the scheduler hands out.

The design decision: a pool is one row (name, slots); ``default_pool`` exists
without one (128 slots) and ``pools set default_pool N`` resizes it. The
scheduler reads the pools again every few seconds, so a change needs no restart.
"""

from __future__ import annotations

import click
from rich.table import Table

from partita.cli.console import make_console
from partita.cli.store import metadata_store
from partita.engine.admission import DEFAULT_POOL, DEFAULT_POOL_SLOTS
from partita.storage.run_queue import PoolRecord


@click.group()
def pools() -> None:
    """Set, list or delete the pools of task slots (pool= on a task)."""


@pools.command("set")
@click.argument("name")
@click.argument("slots", type=click.IntRange(min=0))
@click.option("--description", default=None, help="What the pool guards.")
def set_pool(name: str, slots: int, description: str | None) -> None:
    """Create pool NAME with SLOTS slots, or resize it."""
    with metadata_store() as storage:
        storage.pools.set_pool(PoolRecord(name, slots, description))
    click.echo(f"Pool {name!r}: {slots} slots.")


@pools.command("list")
def list_pools() -> None:
    """List the pools and their slots."""
    with metadata_store() as storage:
        found = {p.name: p for p in storage.pools.list_pools()}
    found.setdefault(DEFAULT_POOL, PoolRecord(DEFAULT_POOL, DEFAULT_POOL_SLOTS, "the default"))
    table = Table("pool", "slots", "description", box=None)
    for name in sorted(found):
        table.add_row(name, str(found[name].slots), found[name].description or "")
    make_console().print(table)


@pools.command("delete")
@click.argument("name")
def delete_pool(name: str) -> None:
    """Delete pool NAME (its tasks then use default_pool)."""
    with metadata_store() as storage:
        if not storage.pools.delete_pool(name):
            known = ", ".join(p.name for p in storage.pools.list_pools()) or "none"
            raise click.UsageError(f"no pool {name!r} is set; the pools set are: {known}")
    click.echo(f"Pool {name!r} deleted; its tasks now use {DEFAULT_POOL}.")


__all__ = ["pools"]
