"""``partita dags list`` and ``partita dags show``: what a DAG folder defines, and one DAG's shape.

The design decision: ``dags list`` exits 1 when any file failed to import,
after printing every DAG that did load, so a CI step running it catches a
broken DAG file without hiding the healthy ones.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from partita.cli.console import make_console
from partita.cli.locate import find_dag
from partita.cli.tree import dag_tree
from partita.dag_index import DagIndex
from partita.discovery import Discovery, discover, display_path
from partita.exceptions import DagLoadError
from partita.settings import load_settings

#: The folder ``dags list`` reads when no path is given.
DEFAULT_DAGS_FOLDER = "dags"


@click.group()
def dags() -> None:
    """List the DAGs a file, folder or module defines, or show one DAG."""


@dags.command("list")
@click.argument("path", required=False)
@click.option("-v", "--verbose", is_flag=True, help="Show the full traceback of import errors.")
@click.pass_context
def list_dags(ctx: click.Context, path: str | None, verbose: bool) -> None:
    """List the DAGs defined in PATH (a .py file, a folder or a module; default: ./dags).

    Each file is imported in a separate importer process, stopped when it takes
    longer than the import timeout (PARTITA_IMPORT_TIMEOUT, default 30 s).
    Import errors are listed after the DAGs; the exit code is then 1.
    """
    if path is None and not Path(DEFAULT_DAGS_FOLDER).exists():
        raise DagLoadError(
            f"no PATH given and there is no ./{DEFAULT_DAGS_FOLDER} folder here; "
            "give a file, folder or module: partita dags list PATH"
        )
    settings = load_settings()
    result = discover(
        path or DEFAULT_DAGS_FOLDER,
        import_timeout=settings.import_timeout,
        index=DagIndex.load(settings.dag_index_file),
    )
    console = make_console()
    if result.dags:
        console.print(_dags_table(result))
    else:
        console.print(Text(f"No DAGs found in {path or DEFAULT_DAGS_FOLDER}."))
    if result.errors:
        _print_errors(result, verbose)
        ctx.exit(1)


@dags.command("show")
@click.argument("path")
@click.argument("dag_id")
def show_dag(path: str, dag_id: str) -> None:
    """Show the tasks of DAG_ID (defined in PATH) as a tree of dependencies."""
    make_console().print(dag_tree(find_dag(path, dag_id)))


def _dags_table(result: Discovery) -> Table:
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("dag_id", overflow="fold")
    table.add_column("tasks", justify="right")
    table.add_column("schedule")
    table.add_column("tags")
    table.add_column("file", overflow="fold")
    for dag_id in sorted(result.dags):
        dag = result.dags[dag_id]
        table.add_row(
            Text(dag_id),
            str(dag.task_count),
            Text(dag.schedule if dag.schedule is not None else "-"),
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
