"""Signed pickles (``storage/signing.py``): partita loads only what it pickled with its key.

The attack each test stands for: someone who can write the storage folder or the
metadata database puts a pickle there whose loading runs their code. The proof
that it is refused is a marker file the malicious pickle would create.
"""

from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, update

from partita import AssetKey, FilesystemIOManager, asset, materialize
from partita.exceptions import ConfigurationError, SignatureError
from partita.settings import load_settings
from partita.storage.records import WriteBatch
from partita.storage.signing import (
    HEADER_SIZE,
    KEY_FILE_NAME,
    MAGIC,
    PickleSigner,
    is_signed,
    load_signer,
)
from partita.storage.sql import SqlStorage
from partita.storage.sql.models import task_output_table

KEY = b"k" * 32


class RunsCode:
    """Unpickling this calls ``exec``: what an attacker would store."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


def evil_pickle(marker: Path) -> bytes:
    return pickle.dumps(RunsCode(marker))


# -- the signer ---------------------------------------------------------------------------------


def test_signed_values_round_trip_and_carry_the_header() -> None:
    signer = PickleSigner(KEY)
    data = signer.dumps({"a": [1, 2.5]})
    assert data.startswith(MAGIC) and is_signed(data)
    assert signer.loads(data, "x") == {"a": [1, 2.5]}
    assert pickle.loads(data[HEADER_SIZE:]) == {"a": [1, 2.5]}


def test_an_unsigned_pickle_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(SignatureError) as caught:
        PickleSigner(KEY).loads(evil_pickle(marker), "output 'x'")
    assert "output 'x' is not signed" in str(caught.value)
    assert "partita db upgrade" in str(caught.value)
    assert not marker.exists()


def test_a_tampered_or_foreign_signature_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    signer = PickleSigner(KEY)
    good = signer.dumps("fine")
    swapped = good[:HEADER_SIZE] + evil_pickle(marker)  # a valid MAC over another payload
    forged = PickleSigner(b"attacker key " * 3).sign(evil_pickle(marker))
    for data in (swapped, forged, good[:-1] + b"!"):
        with pytest.raises(SignatureError, match="fails its signature check"):
            signer.loads(data, "output 'x'")
    assert not marker.exists()


# -- outputs of the SQL store --------------------------------------------------------------------


def test_a_tampered_inline_output_in_the_database_is_refused(
    sqlite_url: str, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    with SqlStorage(sqlite_url, tmp_path / "storage", signer=PickleSigner(KEY)) as store:
        record = store.outputs.encode("r1", "load", -1, "rows", [1, 2, 3])
        store.write(WriteBatch(outputs=[record]))
        engine = create_engine(sqlite_url)
        with engine.begin() as connection:
            connection.execute(update(task_output_table).values(payload=evil_pickle(marker)))
        engine.dispose()
        stored = store.outputs.get_record("r1", "load", -1, "rows")
        assert stored is not None
        with pytest.raises(SignatureError) as caught:
            store.outputs.load(stored)
    assert "output 'rows' of run 'r1', task 'load' (map index -1) (inline) is not signed" in str(
        caught.value
    )
    assert not marker.exists()


def test_a_replaced_output_file_is_refused_naming_the_file(sqlite_url: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    storage = tmp_path / "storage"
    with SqlStorage(sqlite_url, storage, inline_output_limit=0, signer=PickleSigner(KEY)) as store:
        record = store.outputs.encode("r1", "load", -1, "rows", [1, 2, 3])
        assert is_signed(Path(record.location).read_bytes())
        assert store.outputs.load(record) == [1, 2, 3]
        Path(record.location).write_bytes(evil_pickle(marker))
        with pytest.raises(SignatureError) as caught:
            store.outputs.load(record)
    assert f"file {record.location} is not signed" in str(caught.value)
    assert not marker.exists()


def test_a_store_opened_with_another_key_cannot_read_the_outputs(
    sqlite_url: str, tmp_path: Path
) -> None:
    with SqlStorage(sqlite_url, tmp_path / "s", signer=PickleSigner(KEY)) as store:
        record = store.outputs.encode("r1", "t", -1, "k", "value")
        store.write(WriteBatch(outputs=[record]))
    with SqlStorage(sqlite_url, tmp_path / "s", signer=PickleSigner(b"other" * 8)) as store:
        stored = store.outputs.get_record("r1", "t", -1, "k")
        assert stored is not None
        with pytest.raises(SignatureError, match="same PARTITA_SECRET_KEY"):
            store.outputs.load(stored)


# -- the filesystem IO manager -------------------------------------------------------------------


@asset
def numbers() -> list[int]:
    return [3, 1, 2]


@asset
def total(numbers: list[int]) -> int:
    return sum(numbers)


def test_a_replaced_io_manager_file_fails_the_reader_and_runs_nothing(tmp_path: Path) -> None:
    io = FilesystemIOManager(base_dir=str(tmp_path / "values"))
    assert materialize([numbers], resources={"io_manager": io}).success
    marker = tmp_path / "ran"
    (tmp_path / "values" / "numbers.pkl").write_bytes(evil_pickle(marker))
    result = materialize([numbers, total], selection="total", resources={"io_manager": io})
    assert not result.success
    error = result.error("total") or ""
    assert "SignatureError" in error
    assert f"FilesystemIOManager: file {tmp_path / 'values' / 'numbers.pkl'} is not signed" in error
    assert not marker.exists()


def test_the_default_io_manager_signs_with_the_stores_key(sqlite_url: str, tmp_path: Path) -> None:
    signer = PickleSigner(KEY)
    with SqlStorage(sqlite_url, tmp_path / "storage", signer=signer) as store:
        assert materialize([numbers], storage=store).success
        (record,) = store.assets.list_materializations(AssetKey(["numbers"]))
    assert record.location is not None
    assert signer.loads(Path(record.location).read_bytes(), "numbers") == [3, 1, 2]


# -- where the key comes from --------------------------------------------------------------------


@pytest.fixture
def no_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No PARTITA_SECRET_KEY, a fresh PARTITA_HOME (returned), the default SQLite database."""
    for name in ("PARTITA_SECRET_KEY", "PARTITA_DATABASE_URL", "PARTITA_STORAGE_DIR"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("PARTITA_HOME", str(home))
    return home


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_without_the_variable_a_sqlite_install_makes_a_private_key_file(
    no_key: Path, umask: int
) -> None:
    previous = os.umask(umask)
    try:
        first = load_signer(load_settings())
    finally:
        os.umask(previous)
    key_file = no_key / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(no_key.stat().st_mode) == 0o700
    again = load_signer(load_settings())
    assert again.loads(first.dumps("same key"), "x") == "same key"
    assert len(key_file.read_text().strip()) == 64


def test_the_variable_wins_over_the_key_file(no_key: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTITA_SECRET_KEY", "e" * 40)
    signer = load_signer(load_settings())
    assert PickleSigner(b"e" * 40).loads(signer.dumps(1), "x") == 1
    assert not (no_key / KEY_FILE_NAME).exists()


def test_postgresql_needs_the_variable(no_key: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTITA_DATABASE_URL", "postgresql://u:hunter2@db/partita")
    with pytest.raises(ConfigurationError) as caught:
        load_signer(load_settings())
    assert "PARTITA_SECRET_KEY is not set" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert not no_key.exists()  # no key file is made for a shared database


def test_a_short_variable_is_refused(no_key: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTITA_SECRET_KEY", "short")
    with pytest.raises(ConfigurationError, match=r"too short \(5 characters\); use a random"):
        load_settings()


def test_a_key_file_others_can_read_is_refused(no_key: Path) -> None:
    load_signer(load_settings())
    (no_key / KEY_FILE_NAME).chmod(0o644)
    with pytest.raises(ConfigurationError, match=r"can be read by other users \(mode 0644\)"):
        load_signer(load_settings())


def test_an_empty_key_file_is_refused(no_key: Path) -> None:
    no_key.mkdir(mode=0o700)
    (no_key / KEY_FILE_NAME).write_text("")
    (no_key / KEY_FILE_NAME).chmod(0o600)
    with pytest.raises(ConfigurationError, match="does not hold a key"):
        load_signer(load_settings())


def test_sql_storage_without_a_signer_uses_the_settings_key(
    no_key: Path, sqlite_url: str, tmp_path: Path
) -> None:
    with SqlStorage(sqlite_url, tmp_path / "storage", inline_output_limit=0) as store:
        record = store.outputs.encode("r", "t", -1, "k", "v")
    key = (no_key / KEY_FILE_NAME).read_text().strip().encode()
    assert PickleSigner(key).loads(Path(record.location).read_bytes(), "x") == "v"


@pytest.mark.postgres
def test_a_postgresql_store_signs_with_the_variable(
    pg_clean_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SqlStorage(pg_clean_database_url, tmp_path / "s") as store:
        record = store.outputs.encode("r", "t", -1, "k", {"x": 1})
        store.write(WriteBatch(outputs=[record]))
        stored = store.outputs.get_record("r", "t", -1, "k")
        assert stored is not None and stored.payload is not None
        assert is_signed(stored.payload)
        assert store.outputs.load(stored) == {"x": 1}
    monkeypatch.delenv("PARTITA_SECRET_KEY")
    with pytest.raises(ConfigurationError, match="PARTITA_SECRET_KEY is not set"):
        SqlStorage(pg_clean_database_url, tmp_path / "s")
