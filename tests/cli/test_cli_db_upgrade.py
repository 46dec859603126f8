"""``partita db upgrade`` signs, once, the outputs an earlier partita stored unsigned (0006)."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from cli_helpers import Invoke
from sqlalchemy import text

from partita.definitions.states import RunState
from partita.exceptions import SignatureError, StorageError
from partita.settings import load_settings
from partita.storage.base import Storage
from partita.storage.signing import KEY_FILE_NAME, PickleSigner, is_signed
from partita.storage.sql import create_sql_engine, upgrade
from partita.storage.sql.migrate import alembic_config, current_revision, head_revision
from partita.storage.sql.resign import OutputResigner


def make_0002_database(url: str, rows: list[tuple[str, str, bytes | None]]) -> None:
    """A database at revision 0002 holding run 'old' and task outputs (key, location, payload)."""
    engine = create_sql_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0002")
            connection.exec_driver_sql(
                "INSERT INTO dag_run (run_id, dag_id, dag_version, state, run_type, conf) "
                "VALUES ('old', 'etl', 'v', 'success', 'manual', '{\"n\": 1}')"
            )
            for key, location, payload in rows:
                connection.execute(
                    text(
                        "INSERT INTO task_output (run_id, task_id, map_index, key, location, "
                        "size, payload) VALUES ('old', 'extract', -1, :key, :location, 0, :p)"
                    ),
                    {"key": key, "location": location, "p": payload},
                )
    finally:
        engine.dispose()


def revision_of(url: str) -> str | None:
    engine = create_sql_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


@pytest.fixture
def old_install(cli_home: Path) -> dict[str, Path]:
    """$PARTITA_HOME as an earlier partita left it: unsigned outputs inline and in files."""
    settings = load_settings()
    storage = settings.storage_dir
    big = storage / "outputs" / "old" / "extract" / "-1" / "big.pkl"
    asset = storage / "warehouse" / "users.pkl"
    not_a_pickle = storage / "notes.pkl"
    for path, data in ((big, pickle.dumps(list(range(5)))), (asset, pickle.dumps({"u": 1}))):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    not_a_pickle.write_text("hello")
    make_0002_database(
        settings.database_url,
        [("small", "inline", pickle.dumps("small value")), ("big", str(big), None)],
    )
    return {"big": big, "asset": asset, "notes": not_a_pickle}


def test_db_upgrade_signs_earlier_outputs_once_and_the_run_survives(
    invoke: Invoke, old_install: dict[str, Path], cli_storage: Callable[[], Storage]
) -> None:
    url = load_settings().database_url
    before = invoke("runs", "list")  # any other command stops and says what to run
    assert before.exit_code == 2
    assert "run 'partita db upgrade' once" in before.stderr
    assert revision_of(url) == "0002"

    result = invoke("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"schema revision {head_revision()}" in result.stdout
    assert "Signed 3 outputs stored unsigned by an earlier partita (1 in the database, 2 files" in (
        " ".join(result.stdout.split())
    )

    store = cli_storage()
    run = store.runs.get_run("old")
    assert (run.state, run.conf) == (RunState.SUCCESS, {"n": 1})
    records = {r.key: r for r in store.outputs.list_records("old")}
    assert store.outputs.load(records["small"]) == "small value"
    assert store.outputs.load(records["big"]) == list(range(5))
    key = (load_settings().home / KEY_FILE_NAME).read_text().strip().encode()
    assert PickleSigner(key).loads(old_install["asset"].read_bytes(), "users") == {"u": 1}
    assert old_install["notes"].read_text() == "hello"  # not a pickle: left alone

    again = invoke("db", "upgrade")
    assert again.exit_code == 0 and "Signed" not in again.stdout


def _revision_before_signing() -> str:
    """The revision just below 0006 (the one that signs earlier outputs)."""
    script = ScriptDirectory.from_config(alembic_config())
    before = script.get_revision("0006").down_revision
    assert isinstance(before, str)
    return before


def test_an_unsigned_output_added_after_the_upgrade_is_never_signed(
    invoke: Invoke, old_install: dict[str, Path], cli_storage: Callable[[], Storage]
) -> None:
    assert invoke("db", "upgrade").exit_code == 0
    url = load_settings().database_url
    engine = create_sql_engine(url)
    try:
        with engine.begin() as connection:  # back to 0006: the revisions after it undone
            command.downgrade(alembic_config(connection), "0006")
        with engine.begin() as connection:  # a database writer replays the migration
            connection.exec_driver_sql(
                "INSERT INTO task_output (run_id, task_id, map_index, key, location, size, "
                "payload) VALUES ('old', 'extract', -1, 'planted', 'inline', 1, X'8004')"
            )
            connection.execute(
                text("UPDATE alembic_version SET version_num = :before"),
                {"before": _revision_before_signing()},
            )
    finally:
        engine.dispose()
    old_install["asset"].write_bytes(pickle.dumps("planted too"))

    result = invoke("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "already holds signed outputs" in " ".join(result.stdout.split())
    assert "Signed" not in result.stdout
    store = cli_storage()
    planted = store.outputs.get_record("old", "extract", -1, "planted")
    assert planted is not None
    with pytest.raises(SignatureError):
        store.outputs.load(planted)
    assert not is_signed(old_install["asset"].read_bytes())


def test_a_database_without_outputs_migrates_on_open(
    invoke: Invoke, cli_home: Path, cli_storage: Callable[[], Storage]
) -> None:
    make_0002_database(load_settings().database_url, [])
    assert invoke("runs", "list").exit_code == 0
    assert revision_of(load_settings().database_url) == head_revision()
    assert cli_storage().runs.get_run("old").state is RunState.SUCCESS


def test_upgrade_without_a_resigner_names_the_command(tmp_path: Path, sqlite_url: str) -> None:
    make_0002_database(sqlite_url, [("small", "inline", pickle.dumps(1))])
    with pytest.raises(StorageError, match="run 'partita db upgrade' once"):
        upgrade(sqlite_url)
    assert revision_of(sqlite_url) == "0002"


@pytest.mark.postgres
def test_signing_earlier_outputs_on_postgresql(pg_fresh_database_url: str, tmp_path: Path) -> None:
    make_0002_database(pg_fresh_database_url, [("small", "inline", pickle.dumps([1, 2]))])
    signer = PickleSigner(b"p" * 32)
    resigner = OutputResigner(signer, tmp_path / "storage")
    assert upgrade(pg_fresh_database_url, resigner=resigner) == head_revision()
    assert resigner.signed_rows == 1
    engine = create_sql_engine(pg_fresh_database_url)
    try:
        with engine.connect() as connection:
            payload = connection.exec_driver_sql("SELECT payload FROM task_output").scalar_one()
            run = connection.exec_driver_sql("SELECT conf FROM dag_run").scalar_one()
    finally:
        engine.dispose()
    assert signer.loads(payload, "x") == [1, 2] and run == {"n": 1}
    again = OutputResigner(signer, tmp_path / "storage")
    upgrade(pg_fresh_database_url, resigner=again)
    assert again.signed_rows == 0
