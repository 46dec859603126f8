"""The CLI starts without its heavy libraries: --help and --version load no subcommand."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from partita.cli.main import SUBCOMMANDS, cli, collector_paused

HEAVY = ("sqlalchemy", "alembic", "pydantic", "jinja2", "jsonschema", "yaml", "rich")


@pytest.mark.parametrize("option", ["--help", "--version"])
def test_help_and_version_import_no_heavy_library(option: str) -> None:
    probe = (
        "import io, sys, contextlib\n"
        "from partita.cli.main import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    code = cli.main([{option!r}], standalone_mode=False)\n"
        "assert code == 0 and out.getvalue(), (code, out.getvalue())\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
        "cli_modules = [m for m in sys.modules if m.startswith('partita.cli.')]\n"
        "print(sorted(m for m in cli_modules if m != 'partita.cli.main'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["[]", "[]"]


def test_each_help_line_is_the_first_line_of_the_commands_docstring() -> None:
    ctx = cli.make_context("partita", [], resilient_parsing=True)
    for name, subcommand in SUBCOMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.help is not None, name
        assert subcommand.short_help == command.help.strip().splitlines()[0], name


def test_help_lists_every_subcommand() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "partita.cli.main", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    listed = done.stdout.split("Commands:", 1)[1]
    for name in SUBCOMMANDS:
        assert f"  {name} " in listed


def test_the_collector_is_paused_while_a_command_loads_and_enabled_after() -> None:
    assert gc.isenabled()
    with collector_paused(freeze=False):
        assert not gc.isenabled()
    assert gc.isenabled()
    assert not cli.freeze_after_loading  # only the console script freezes (its process ends)
