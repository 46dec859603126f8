"""IO managers: where asset values (and IO-managed task outputs) are stored and loaded from."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from partita import (
    DAG,
    AssetIn,
    AssetKey,
    FilesystemIOManager,
    InMemoryIOManager,
    InputContext,
    IOManager,
    OutputContext,
    TaskState,
    asset,
    materialize,
    task,
)
from partita.exceptions import ResourceError
from partita.storage.memory import MemoryStorage
from partita.storage.signing import PickleSigner
from partita.storage.sql import SqlStorage


def unpickle_signed(path: Path) -> Any:
    """The value of a signed pickle file, checked with the tests' key (tests/conftest.py)."""
    key = os.environ["PARTITA_SECRET_KEY"].encode()
    return PickleSigner(key).loads(path.read_bytes(), str(path))


@asset(key=["raw", "numbers"])
def raw_numbers() -> list[int]:
    return [3, 1, 2]


@asset(key=["clean", "numbers"], ins={"raw": AssetIn(key=["raw", "numbers"])})
def clean_numbers(raw: list[int]) -> list[int]:
    return sorted(raw)


def test_filesystem_io_manager_pickles_each_asset_under_its_key_path(tmp_path: Path) -> None:
    io = FilesystemIOManager(base_dir=str(tmp_path))
    result = materialize([raw_numbers, clean_numbers], resources={"io_manager": io})
    assert result.success
    stored = tmp_path / "clean" / "numbers.pkl"
    assert unpickle_signed(stored) == [1, 2, 3]
    assert unpickle_signed(tmp_path / "raw" / "numbers.pkl") == [3, 1, 2]
    (record,) = result.materializations_of("clean/numbers")
    assert record.location == str(stored)
    assert record.metadata["path"] == {"type": "path", "value": str(stored)}


def test_a_later_run_in_another_process_loads_the_upstream_from_files(tmp_path: Path) -> None:
    io = FilesystemIOManager(base_dir=str(tmp_path))
    assert materialize([raw_numbers], resources={"io_manager": io}).success
    script = textwrap.dedent(
        f"""
        from partita import AssetIn, FilesystemIOManager, asset, materialize

        @asset(key=["clean", "numbers"], ins={{"raw": AssetIn(key=["raw", "numbers"])}})
        def clean_numbers(raw):
            return sorted(raw)

        io = FilesystemIOManager(base_dir={str(tmp_path)!r})
        result = materialize([clean_numbers], resources={{"io_manager": io}})
        print(result.success, result.output("clean/numbers"))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout.strip() == "True [1, 2, 3]", done.stderr


def test_never_stored_upstream_names_the_asset_and_the_file(tmp_path: Path) -> None:
    io = FilesystemIOManager(base_dir=str(tmp_path))
    result = materialize(
        [raw_numbers, clean_numbers], selection="clean/numbers", resources={"io_manager": io}
    )
    error = result.error("clean__numbers") or ""
    assert (
        "asset 'clean/numbers' needs upstream asset ['raw', 'numbers'], which was never " in error
    )
    assert f"no file {tmp_path / 'raw' / 'numbers.pkl'}" in error
    assert "partita assets materialize" in error and "--select raw/numbers" in error


def test_the_default_io_manager_of_a_persistent_store_writes_under_its_storage_dir(
    sqlite_url: str, tmp_path: Path
) -> None:
    with SqlStorage(sqlite_url, tmp_path / "storage") as storage:
        result = materialize([raw_numbers], storage=storage)
        assert result.success
        path = tmp_path / "storage" / "raw" / "numbers.pkl"
        assert unpickle_signed(path) == [3, 1, 2]
        (record,) = storage.assets.list_materializations(AssetKey(["raw", "numbers"]))
        assert record.location == str(path)


def test_filesystem_io_manager_without_base_dir_uses_partita_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PARTITA_STORAGE_DIR", "PARTITA_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PARTITA_HOME", str(tmp_path / "home"))
    result = materialize([raw_numbers], resources={"io_manager": FilesystemIOManager()})
    assert result.success
    assert (tmp_path / "home" / "storage" / "raw" / "numbers.pkl").is_file()


def test_an_in_memory_io_manager_shared_by_two_calls_passes_values_between_them() -> None:
    io = InMemoryIOManager()
    assert materialize([raw_numbers], resources={"io_manager": io}).success
    second = materialize([clean_numbers], resources={"io_manager": io})
    assert second.output("clean/numbers") == [1, 2, 3]
    assert set(io.values) == {("raw", "numbers"), ("clean", "numbers")}


class RecordingIOManager(IOManager):
    """A custom IO manager: keeps values and says what it did."""

    def __init__(self) -> None:
        self.stored: dict[tuple[str, ...], Any] = {}
        self.loads: list[tuple[str, str]] = []

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        self.stored[tuple(context.get_identifier())] = obj
        context.location = "recording://" + "/".join(context.get_identifier())
        context.add_output_metadata({"rows": len(obj)})

    def load_input(self, context: InputContext) -> Any:
        self.loads.append((context.task_id, context.name))
        return self.stored[tuple(context.get_identifier())]


def test_io_manager_key_picks_a_custom_io_manager_per_asset() -> None:
    warehouse = RecordingIOManager()

    @asset(io_manager_key="warehouse")
    def table() -> list[int]:
        return [1, 2]

    @asset
    def summary(table: list[int]) -> int:
        return len(table)

    io = InMemoryIOManager()
    result = materialize([table, summary], resources={"warehouse": warehouse, "io_manager": io})
    assert result.success
    assert warehouse.stored == {("table",): [1, 2]}
    assert warehouse.loads == [("summary", "table")]  # loaded by the IO manager that stored it
    assert list(io.values) == [("summary",)]
    (record,) = result.materializations_of("table")
    assert (record.location, record.metadata) == ("recording://table", {"rows": 2})


def test_a_missing_io_manager_is_rejected_before_the_run() -> None:
    @asset(io_manager_key="lake")
    def in_the_lake() -> int:
        return 1

    storage = MemoryStorage()
    with pytest.raises(ResourceError, match="asset 'in_the_lake' needs resource 'lake'"):
        materialize([in_the_lake], storage=storage)
    assert storage.runs.list_runs() == []
    with pytest.raises(
        ResourceError, match="uses resource 'lake' as an IO manager, but it is a str"
    ):
        materialize([in_the_lake], resources={"lake": "not an io manager"})


def test_a_task_output_with_an_io_manager_key_is_loaded_through_it_downstream() -> None:
    store = RecordingIOManager()

    @task(io_manager_key="big")
    def produce() -> list[int]:
        return list(range(5))

    @task
    def count(values: list[int]) -> int:
        return len(values)

    with DAG("io_tasks", resources={"big": store}) as d:
        count(produce())
    storage = MemoryStorage()
    result = d.test(storage=storage)
    assert result.task_states == {"produce": TaskState.SUCCESS, "count": TaskState.SUCCESS}
    assert result.output("count") == 5
    ((identifier, value),) = store.stored.items()
    assert identifier[0] == "io_tasks" and identifier[2:] == ("produce", "return_value")
    assert value == [0, 1, 2, 3, 4]
    assert storage.outputs.list_records(result.run_id)[0].task_id == "count"  # not produce
    assert result.output("produce") == [0, 1, 2, 3, 4]


def test_an_io_manager_is_found_by_its_key_only() -> None:
    @task(io_manager_key="big")
    def produce() -> int:
        return 1

    with DAG("by_key") as d:
        produce()
    with pytest.raises(ResourceError, match="task 'produce' needs resource 'big'"):
        d.test(resources={"io_manager": InMemoryIOManager()})
