"""A private home: what partita creates is 0700 (folders) and 0600 (files), whatever the umask.

``partita run`` here writes every kind of file partita makes: the home, the
SQLite database with its ``-wal`` and ``-shm`` files, the signing key, a
large output in the storage folder, and an asset value of the default IO
manager (``storage/files.py``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_helpers import EXAMPLES, Invoke, run_id_of

from partita.storage.base import Storage
from partita.storage.signing import KEY_FILE_NAME

ASSETS = Path(__file__).resolve().parent / "assets_location"


@pytest.fixture(params=[0o000, 0o022], ids=["umask000", "umask022"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_everything_partita_creates_under_its_home_is_private(
    invoke: Invoke,
    cli_home: Path,
    cli_storage: Callable[[], Storage],
    umask: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARTITA_INLINE_OUTPUT_LIMIT", "0")  # every output goes to a file
    result = invoke("run", str(EXAMPLES), "etl")
    assert result.exit_code == 0, result.output
    assert invoke("assets", "materialize", str(ASSETS)).exit_code == 0
    assert cli_storage().runs.get_run(run_id_of(result.stdout))  # holds -wal and -shm open

    assert mode(cli_home) == 0o700
    files = [cli_home / "partita.db", cli_home / KEY_FILE_NAME]
    files += [cli_home / "partita.db-wal", cli_home / "partita.db-shm"]
    storage = cli_home / "storage"
    folders = [p for p in storage.rglob("*") if p.is_dir()] + [storage]
    values = [p for p in storage.rglob("*") if p.is_file()]
    assert any(p.is_relative_to(storage / "outputs") for p in values)
    assert any(not p.is_relative_to(storage / "outputs") for p in values)  # IO manager's
    wrong = {str(p): oct(mode(p)) for p in files + values if mode(p) != 0o600}
    wrong |= {str(p): oct(mode(p)) for p in folders if mode(p) != 0o700}
    assert wrong == {}


def test_an_existing_home_keeps_its_mode(invoke: Invoke, cli_home: Path, umask: int) -> None:
    cli_home.mkdir(mode=0o755)
    cli_home.chmod(0o755)
    assert invoke("runs", "list").exit_code == 0
    assert mode(cli_home) == 0o755  # partita does not change a folder it did not create
    assert mode(cli_home / "partita.db") == 0o600
