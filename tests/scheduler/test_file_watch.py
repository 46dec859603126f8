"""The DAG folder watch: an unchanged folder is not stat-ed file by file; changes are seen."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from partita.scheduler import dag_files
from partita.scheduler.dag_files import DagFileProcessor
from partita.scheduler.file_watch import FolderWatch
from partita.storage.memory import MemoryStorage

DAG_FILE = """from partita import DAG, EmptyOperator

with DAG("{dag_id}", schedule=None) as dag:
    EmptyOperator(task_id="a")
"""


def test_a_watch_sees_new_changed_and_removed_files_also_in_sub_folders(tmp_path: Path) -> None:
    watch = FolderWatch(str(tmp_path), rescan_interval=3600)
    if not watch.active:
        pytest.skip("no inotify here")
    assert watch.changed()  # the first look is a full one
    assert not watch.changed()
    (tmp_path / "a.py").write_text("x = 1\n")
    assert watch.changed()
    assert not watch.changed()
    with (tmp_path / "a.py").open("a") as handle:  # in place: no new directory entry
        handle.write("y = 2\n")
    assert watch.changed()
    (tmp_path / "sub").mkdir()
    assert watch.changed()  # the new folder is watched from this look on
    (tmp_path / "sub" / "b.py").write_text("x = 1\n")
    assert watch.changed()
    os.remove(tmp_path / "sub" / "b.py")
    assert watch.changed()
    assert not watch.changed()
    watch.close()


def test_without_changes_the_processor_does_not_snapshot_the_folder_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for index in range(3):
        (tmp_path / f"d{index}.py").write_text(DAG_FILE.format(dag_id=f"d{index}"))
    storage = MemoryStorage()
    files = DagFileProcessor(
        [str(tmp_path)], storage.registry,
        import_timeout=30, default_timezone=None, paused_at_creation=False,
    )  # fmt: skip
    if not files._watches[str(tmp_path)].active:
        pytest.skip("no inotify here")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert files.run_once(now) == [str(tmp_path)]
    looks: list[str] = []
    real = dag_files.snapshot
    monkeypatch.setattr(dag_files, "snapshot", lambda loc: looks.append(loc) or real(loc))
    files.run_once(now)  # the watch's first full look
    looks.clear()
    for _ in range(5):
        assert files.run_once(now) == []
    assert looks == []  # nothing changed: no file was stat-ed
    (tmp_path / "d3.py").write_text(DAG_FILE.format(dag_id="d3"))
    assert files.run_once(now) == [str(tmp_path)]
    assert "d3" in files.dags
    files.close()
