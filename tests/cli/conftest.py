"""Fixtures of the CLI tests: a private PARTITA_HOME, a runner, the test DAG folders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_helpers import SETTINGS_VARIABLES, Invoke
from click.testing import CliRunner, Result

from partita.cli.main import cli
from partita.settings import load_settings
from partita.storage.base import Storage
from partita.storage.factory import open_storage


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh PARTITA_HOME (with the default SQLite database) and a working directory."""
    for name in SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("PARTITA_HOME", str(home))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


@pytest.fixture
def invoke(cli_home: Path) -> Invoke:
    """Run ``partita ARGS...`` in this process; the result has stdout, stderr and exit_code."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(cli, list(args))

    return run


@pytest.fixture
def cli_storage(cli_home: Path) -> Iterator[Callable[[], Storage]]:
    """Opens the metadata store of ``cli_home`` (each call a new connection, closed at the end)."""
    opened: list[Storage] = []

    def open_it() -> Storage:
        storage = open_storage(load_settings())
        opened.append(storage)
        return storage

    yield open_it
    for storage in opened:
        storage.close()
