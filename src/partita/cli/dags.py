"""``partita dags list|show|pause|unpause``: what a DAG folder defines, one DAG's shape, pausing.

The design decision: ``dags list`` exits 1 when any file failed to import,
after printing every DAG that did load, so a CI step running it catches a
broken DAG file without hiding the healthy ones. The files are imported in
the importer process (``discovery.discover``); what it found is recorded in
the DAG registry of the metadata database (``registry_sync``), which is what
``pause`` and ``unpause`` change: they need no scheduler running.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from partita.cli.console import format_time, make_console
from partita.cli.locate import find_dag
from partita.cli.store import metadata_store
from partita.cli.tree import dag_tree
from partita.dag_index import DagIndex
from partita.discovery import Discovery, discover, display_path
from partita.exceptions import DagLoadError, DagNotFoundError
from partita.registry_sync import code_location_of, record_discovery
from partita.settings import Settings, load_settings
from partita.storage.dag_records import DagRecord, unknown_dag

#: The folder ``dags list`` reads when no path is given.
DEFAULT_DAGS_FOLDER = "dags"


@click.group()
def dags() -> None:
    """List the DAGs a file, folder or module defines, show one DAG, pause or unpause one."""


@dags.command("list")
@click.argument("path", required=False)
@click.option("-v", "--verbose", is_flag=True, help="Show the full traceback of import errors.")
@click.pass_context
def list_dags(ctx: click.Context, path: str | None, verbose: bool) -> None:
    """List the DAGs defined in PATH (a .py file, a folder or a module; default: ./dags).

    Each file is imported in a separate importer process, stopped when it takes
    longer than the import timeout (PARTITA_IMPORT_TIMEOUT, default 30 s).
    What was found is recorded in the metadata database (paused? next run?).
    Import errors are listed after the DAGs; the exit code is then 1.
    """
    if path is None and not Path(DEFAULT_DAGS_FOLDER).exists():
        raise DagLoadError(
            f"no PATH given and there is no ./{DEFAULT_DAGS_FOLDER} folder here; "
            "give a file, folder or module: partita dags list PATH"
        )
    settings = load_settings()
    target = path or DEFAULT_DAGS_FOLDER
    result, rows = _load_and_record(settings, target)
    console = make_console()
    if result.dags:
        console.print(_dags_table(result, rows))
    else:
        console.print(Text(f"No DAGs found in {path or DEFAULT_DAGS_FOLDER}."))
    if result.errors:
        _print_errors(result, verbose)
        ctx.exit(1)


@dags.command("pause")
@click.argument("dag_id")
@click.argument("path", required=False)
def pause_dag(dag_id: str, path: str | None) -> None:
    """Pause DAG_ID: the scheduler creates no runs of it until it is unpaused.

    A DAG not in the metadata database yet is looked up in PATH (a file,
    folder or module) when given.
    """
    _set_paused(dag_id, path, paused=True)


@dags.command("unpause")
@click.argument("dag_id")
@click.argument("path", required=False)
def unpause_dag(dag_id: str, path: str | None) -> None:
    """Unpause DAG_ID: the scheduler creates its runs again (from its next run on).

    A DAG not in the metadata database yet is looked up in PATH (a file,
    folder or module) when given.
    """
    _set_paused(dag_id, path, paused=False)


def _load_and_record(settings: Settings, target: str) -> tuple[Discovery, dict[str, DagRecord]]:
    """Import ``target`` (in the importer), record what it defines in the DAG registry.

    Returns what was found and the registry rows of its code location.
    """
    started, parsed_at = time.perf_counter(), datetime.now(UTC)
    result = discover(
        target,
        import_timeout=settings.import_timeout,
        index=DagIndex.load(settings.dag_index_file),
        default_timezone=settings.default_timezone,
    )
    duration = time.perf_counter() - started
    location = code_location_of(target)
    with metadata_store(settings) as storage:
        record_discovery(
            storage.registry, result, code_location=location, parsed_at=parsed_at,
            duration=duration, paused_at_creation=settings.dags_paused_at_creation,
        )  # fmt: skip
        rows = {r.dag_id: r for r in storage.registry.list_dags(code_location=location)}
    return result, rows


def _set_paused(dag_id: str, path: str | None, *, paused: bool) -> None:
    settings = load_settings()
    with metadata_store(settings) as storage:
        known = storage.registry.get_dag(dag_id) is not None
    if not known:
        if path is None:
            raise unknown_dag(dag_id)
        result, _ = _load_and_record(settings, path)
        if dag_id not in result.dags:
            found = ", ".join(sorted(result.dags)) or "none"
            raise DagNotFoundError(f"DAG {dag_id!r} is not defined in {path}; it defines: {found}")
    with metadata_store(settings) as storage:
        record = storage.registry.set_paused(dag_id, paused)
    state = "paused" if record.is_paused else "unpaused"
    make_console().print(Text(f"DAG {dag_id!r} is {state}."))


@dags.command("show")
@click.argument("path")
@click.argument("dag_id")
def show_dag(path: str, dag_id: str) -> None:
    """Show the tasks of DAG_ID (defined in PATH) as a tree of dependencies."""
    make_console().print(dag_tree(find_dag(path, dag_id)))


def _dags_table(result: Discovery, rows: dict[str, DagRecord]) -> Table:
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("dag_id", overflow="fold")
    table.add_column("tasks", justify="right")
    table.add_column("schedule")
    table.add_column("paused")
    table.add_column("next run (UTC)")
    table.add_column("tags")
    table.add_column("file", overflow="fold")
    for dag_id in sorted(result.dags):
        dag = result.dags[dag_id]
        row = rows.get(dag_id)
        table.add_row(
            Text(dag_id),
            str(dag.task_count),
            Text(dag.schedule if dag.schedule is not None else "-"),
            "-" if row is None else ("yes" if row.is_paused else "no"),
            format_time(None if row is None else row.next_dagrun_create_after),
            Text(", ".join(dag.tags) or "-"),
            Text(display_path(result.sources[dag_id])),
        )
    return table


def _print_errors(result: Discovery, verbose: bool) -> None:
    err = make_console(stderr=True)
    count = len(result.errors)
    err.print(Text(f"\n{count} import error{'s' if count > 1 else ''}:", style="bold red"))
    for source, message in result.errors.items():
        if verbose:
            err.print(Text(f"\n{display_path(source)}:", style="bold"))
            err.print(Text(message))
        else:
            line = Text(f"  {display_path(source)}: ", style="bold")
            line.append(message.splitlines()[0] if message else "")
            err.print(line)
    if not verbose:
        err.print(Text("(run with --verbose to see the tracebacks)", style="dim"))


__all__ = ["DEFAULT_DAGS_FOLDER", "dags"]
