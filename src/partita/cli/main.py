"""The ``partita`` command: the Click group, its subcommands, and how errors become exit codes.

The design decision: no command catches errors itself. ``PartitaGroup.main``
runs the command and maps what escapes it: a user mistake (``PartitaError``,
a bad option, a missing file) prints one line ``Error: ...`` on stderr and
exits 2; anything else is a bug, which prints one line and exits 1, or the
full traceback with ``--debug``. ``CliRunner`` goes through the same path as
the installed script, so tests see exactly what users see.

Exit codes: 0 success; 1 a run or an import failed (or an internal error);
2 bad input; 130 interrupted (143 for SIGTERM during ``partita run``).
"""

from __future__ import annotations

import errno
import gc
import importlib
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click

from partita import __version__
from partita.exceptions import DagNotFoundError, PartitaError
from partita.masking import mask

EXIT_BAD_INPUT = 2
EXIT_INTERNAL_ERROR = 1
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Subcommand:
    """Where a subcommand lives ("module:attribute") and its line in ``partita --help``.

    ``short_help`` is the first line of the command's docstring (a test checks it).
    """

    target: str
    short_help: str


#: The subcommands. A command's module is imported only when it runs, and ``partita --help``
#: prints ``short_help`` from here, so neither pays for SQLAlchemy, Alembic or Rich.
#: (``tests/cli/test_cli_startup.py`` checks each line against the command's docstring.)
SUBCOMMANDS: dict[str, Subcommand] = {
    "assets": Subcommand(
        "partita.cli.assets:assets",
        "List assets with their last materialization and staleness, or materialize some.",
    ),
    "backfill": Subcommand(
        "partita.cli.backfill:backfill",
        "Run a DAG over a range of past dates; list, follow or cancel backfills.",
    ),
    "connections": Subcommand(
        "partita.cli.connections:connections",
        "Add, list, show, delete or test connections to outside systems.",
    ),
    "dags": Subcommand(
        "partita.cli.dags:dags",
        "List the DAGs a file, folder or module defines, show one DAG, pause or unpause one.",
    ),
    "db": Subcommand("partita.cli.db:db", "Manage the metadata database."),
    "dev": Subcommand(
        "partita.cli.scheduler:dev",
        "Run partita on this machine (the scheduler, its executor, the web server) until Ctrl-C.",
    ),
    "init": Subcommand(
        "partita.cli.init:init",
        "Create a new partita project in DIRECTORY (default: the current folder).",
    ),
    "logs": Subcommand(
        "partita.cli.logs:logs",
        "Print the log of TASK_ID in RUN_ID (every try, or only --try N).",
    ),
    "partitions": Subcommand(
        "partita.cli.partitions:partitions",
        "Add, list or delete the keys of dynamic partitions (DynamicPartitionsDefinition).",
    ),
    "pools": Subcommand(
        "partita.cli.pools:pools", "Set, list or delete the pools of task slots (pool= on a task)."
    ),
    "rotate-fernet-key": Subcommand(
        "partita.cli.fernet_key:rotate_fernet_key",
        "Re-encrypt connections and variables with the first Fernet key (old keys stay readable).",
    ),
    "run": Subcommand(
        "partita.cli.run:run",
        "Run DAG_ID (defined in PATH) now and record it in the metadata DB.",
    ),
    "runs": Subcommand(
        "partita.cli.runs:runs", "List recorded runs, show one, retry or cancel one."
    ),
    "scheduler": Subcommand(
        "partita.cli.scheduler:scheduler",
        "Run the scheduler: load DAGs, queue scheduled runs, run queued runs, until stopped.",
    ),
    "schedules": Subcommand(
        "partita.cli.sensors:schedules",
        "List Dagster-style schedules, start or stop one, or show its ticks.",
    ),
    "sensors": Subcommand(
        "partita.cli.sensors:sensors",
        "List sensors, start or stop one, show its ticks, or preview what it would request.",
    ),
    "tasks": Subcommand(
        "partita.cli.tasks:tasks", "Inspect, clear or mark the task instances of recorded runs."
    ),
    "tokens": Subcommand(
        "partita.cli.tokens:tokens", "Create, list or revoke the API tokens of users."
    ),
    "trigger": Subcommand(
        "partita.cli.trigger:trigger",
        "Queue a run of DAG_ID for the scheduler; with --wait, follow it to its end.",
    ),
    "users": Subcommand(
        "partita.cli.users:users",
        "Create, list and delete the users of the web server, or set a password.",
    ),
    "variables": Subcommand(
        "partita.cli.variables:variables",
        "Set, get, list or delete variables (values shared by DAGs).",
    ),
    "webserver": Subcommand(
        "partita.cli.webserver:webserver",
        "Serve the REST API (/api/v1) on --host and --port until Ctrl-C or SIGTERM.",
    ),
    "worker": Subcommand(
        "partita.cli.worker:worker",
        "Run a Celery worker: run the task instances the scheduler sends to its queues.",
    ),
}


@dataclass
class CliState:
    """What the top-level options set, read back when an error escapes a command."""

    debug: bool = False


class PartitaGroup(click.Group):
    """A Click group whose ``main`` prints errors as one line and picks the exit code.

    Its subcommands are loaded from ``SUBCOMMANDS`` when asked for (Click's lazy group),
    and its help lists them from the same table without loading them.
    """

    #: Freeze what a command's import allocated (``collector_paused``): set by the console
    #: script, whose process ends with the command; not in a process that goes on (tests).
    freeze_after_loading = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        subcommand = SUBCOMMANDS.get(cmd_name)
        if subcommand is None:
            return None
        module_name, _, attribute = subcommand.target.partition(":")
        with collector_paused(freeze=self.freeze_after_loading):
            module = importlib.import_module(module_name)
        command = getattr(module, attribute)
        if not isinstance(command, click.Command):  # pragma: no cover - a typo in SUBCOMMANDS
            raise TypeError(f"{subcommand.target} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUBCOMMANDS[name].short_help) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        state = CliState()
        extra.setdefault("obj", state)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = result if isinstance(result, int) else 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException as exc:
            code = report_error(exc, debug=state.debug)
        if standalone_mode:
            sys.exit(code)
        return code


@contextmanager
def collector_paused(*, freeze: bool) -> Iterator[None]:
    """No garbage collection while a command's modules are imported; then maybe freeze them.

    Importing SQLAlchemy and the store allocates hundreds of thousands of objects,
    which set off several full collections (a fifth of ``partita runs list``'s time)
    that find nothing: modules live as long as the process. With ``freeze``,
    ``gc.freeze`` then moves what was imported out of the collector's sight for the
    rest of the command.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        if freeze:
            gc.freeze()


def report_error(exc: BaseException, *, debug: bool) -> int:
    """Print ``exc`` for a person (one line; a traceback with ``debug``); return the exit code."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        click.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
        return 0
    if isinstance(exc, click.UsageError):
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        _print_error(exc.format_message() + hint)
        return EXIT_BAD_INPUT
    if isinstance(exc, click.ClickException):
        _print_error(exc.format_message())
        return EXIT_BAD_INPUT
    if isinstance(exc, (click.Abort, KeyboardInterrupt)):
        click.echo("Aborted.", err=True)
        return EXIT_INTERRUPTED
    if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
        return 1  # the reader of our output went away (``partita runs list | head``)
    if isinstance(exc, (PartitaError, OSError)):
        if debug:
            traceback.print_exception(exc)
        _print_error(str(exc))
        if isinstance(exc, DagNotFoundError) and exc.details:
            click.echo(exc.details, err=True)
        return EXIT_BAD_INPUT
    if debug:
        traceback.print_exception(exc)
        _print_error(f"internal error: {type(exc).__name__}: {exc}")
    else:
        _print_error(
            f"internal error: {type(exc).__name__}: {exc} "
            "(this is a bug in partita; run with 'partita --debug ...' to see the traceback)"
        )
    return EXIT_INTERNAL_ERROR


def _print_error(message: str) -> None:
    one_line = " ".join(part.strip() for part in message.strip().splitlines() if part.strip())
    click.echo(f"Error: {mask(one_line)}", err=True)  # secrets read by the command: ***


@click.group("partita", cls=PartitaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="partita")
@click.option(
    "--debug",
    is_flag=True,
    envvar="PARTITA_DEBUG",
    help="Show the full traceback of errors (also PARTITA_DEBUG=1).",
)
@click.pass_obj
def cli(state: CliState, debug: bool) -> None:
    """partita: run and inspect workflows (DAGs of tasks) and data assets.

    DAGs and assets are loaded from a .py file, a folder of them, or a dotted
    module name (its module-level Definitions, if it has one). Runs are
    recorded in the metadata database named by the settings
    ($PARTITA_HOME/partita.db by default; PARTITA_DATABASE_URL for PostgreSQL).
    """
    state.debug = debug


def main(argv: list[str] | None = None) -> None:
    """The console script ``partita``."""
    cli.freeze_after_loading = True
    cli.main(argv, prog_name="partita")


if __name__ == "__main__":
    main()


__all__ = ["CliState", "PartitaGroup", "cli", "main", "report_error"]
