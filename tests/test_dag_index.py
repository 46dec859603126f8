"""Tests of ``partita.dag_index``: fresh while a file is unchanged, saved atomically, a cache."""

from __future__ import annotations

import json
from pathlib import Path

from partita.dag_index import DagIndex, IndexEntry
from partita.importer import DagSummary, FileResult


def result_of(path: Path, *dag_ids: str, error: str | None = None) -> FileResult:
    dags = tuple(DagSummary(d, 1, None, (), str(path)) for d in dag_ids)
    return FileResult(str(path), dags=dags, error=error)


def test_an_entry_is_fresh_until_its_file_changes(tmp_path: Path) -> None:
    file = tmp_path / "a.py"
    file.write_text("x = 1\n")
    index = DagIndex(tmp_path / "index.json")
    index.record(file, file.stat(), result_of(file, "etl"))
    assert index.fresh(file) == IndexEntry(
        file.stat().st_mtime_ns, file.stat().st_size, ("etl",), None
    )
    file.write_text("x = 22\n")
    assert index.fresh(file) is None
    assert index.fresh(tmp_path / "never.py") is None


def test_saved_and_loaded_with_the_first_line_of_errors(tmp_path: Path) -> None:
    path = tmp_path / "home" / "dag_index.json"
    file = tmp_path / "a.py"
    file.write_text("x = 1\n")
    index = DagIndex(path)
    index.record(file, file.stat(), result_of(file, error="ValueError: x (line 1)\nTraceback"))
    index.save()
    assert [p.name for p in path.parent.iterdir()] == ["dag_index.json"]  # no temporary left
    loaded = DagIndex.load(path)
    entry = loaded.fresh(file)
    assert entry is not None and entry.error == "ValueError: x (line 1)"
    assert json.loads(path.read_text())["version"] == 1


def test_a_missing_or_unreadable_index_is_empty(tmp_path: Path) -> None:
    assert DagIndex.load(tmp_path / "none.json").entries == {}
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert DagIndex.load(broken).entries == {}
    broken.write_text(json.dumps({"version": 99, "files": {}}))
    assert DagIndex.load(broken).entries == {}


def test_an_unwritable_home_is_not_an_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("a file where the home folder should be")
    file = tmp_path / "a.py"
    file.write_text("x = 1\n")
    index = DagIndex(home / "dag_index.json")
    index.record(file, file.stat(), result_of(file, "etl"))
    index.save()  # a cache: nothing raised, the next command imports again
    assert home.read_text().startswith("a file")


def test_entries_of_deleted_files_are_forgotten(tmp_path: Path) -> None:
    kept, gone = tmp_path / "kept.py", tmp_path / "gone.py"
    for file in (kept, gone):
        file.write_text("x = 1\n")
    index = DagIndex(None)
    for file in (kept, gone):
        index.record(file, file.stat(), result_of(file, file.stem))
    index.forget_missing(tmp_path, [kept])
    assert list(index.entries) == [str(kept)]
