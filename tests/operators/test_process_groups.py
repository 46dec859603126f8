"""The group reaper: a command's whole process group dies with partita, with no window."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from partita.engine.host import pid_alive
from partita.operators.process_groups import GroupReaper


def _wait_gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not pid_alive(pid)


def test_a_group_is_listed_by_the_child_before_the_parent_says_anything(tmp_path: Path) -> None:
    # The parent never calls watch(): the listing must come from the child itself, so a
    # kill of partita between the child's start and watch() cannot leave the group alive.
    reaper = GroupReaper()
    pid_file = tmp_path / "sleep.pid"
    child = subprocess.Popen(
        ["bash", "-c", f'sleep 1000 & echo $! > "{pid_file}"; wait'],
        start_new_session=True,
        preexec_fn=reaper.child_setup(),
    )
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text().strip()):
        assert time.monotonic() < deadline, "bash never started its child"
        time.sleep(0.02)
    grandchild = int(pid_file.read_text())
    assert pid_alive(grandchild)
    reaper.close()  # what the death of this process does: the helper's pipe closes
    try:
        assert _wait_gone(grandchild), "the listed group outlived the reaper's owner"
    finally:
        child.kill()
        child.wait()
