"""``partita run --workers N`` as a real subprocess: its workers end with it, however it ends."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import TEST_DAGS, partita_command, subprocess_env

from partita.cli.recovery import pid_alive
from partita.definitions.states import RunState, TaskState
from partita.storage.base import Storage


def _children(pid: int) -> list[int]:
    """The process ids of ``pid``'s whole process tree (forkserver and workers)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        path = Path(f"/proc/{parent}/task/{parent}/children")
        kids = [int(p) for p in path.read_text().split()] if path.exists() else []
        found.extend(kids)
        todo.extend(kids)
    return found


def _wait_until_napping(process: subprocess.Popen[str], storage: Storage) -> str:
    """The run id, once its first task succeeded (the second then sleeps for minutes)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        for run in storage.runs.list_runs("sleepy"):
            states = {ti.task_id: ti.state for ti in storage.runs.get_task_instances(run.run_id)}
            if states.get("warm_up") is TaskState.SUCCESS:
                return run.run_id
        time.sleep(0.1)
    pytest.fail("the run never got to its sleeping task")


@pytest.mark.slow
def test_sigterm_records_the_run_failed_and_stops_the_workers(
    cli_home: Path, cli_storage: Callable[[], Storage]
) -> None:
    process = subprocess.Popen(
        partita_command("run", str(TEST_DAGS), "sleepy", "--workers", "1"),
        env=subprocess_env(cli_home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    storage = cli_storage()
    run_id = _wait_until_napping(process, storage)
    tree = _children(process.pid)
    assert len(tree) >= 2  # the forkserver and the worker
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM
    assert "Traceback" not in stderr
    assert storage.runs.get_run(run_id).state is RunState.FAILED
    states = {ti.task_id: ti.state for ti in storage.runs.get_task_instances(run_id)}
    assert states["nap"] is TaskState.CANCELLED
    deadline = time.monotonic() + 10
    while any(pid_alive(pid) for pid in tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(pid_alive(pid) for pid in tree)


@pytest.mark.slow
def test_workers_die_with_a_partita_run_killed_with_sigkill(
    cli_home: Path, cli_storage: Callable[[], Storage]
) -> None:
    process = subprocess.Popen(
        partita_command("run", str(TEST_DAGS), "sleepy", "--workers", "1"),
        env=subprocess_env(cli_home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _wait_until_napping(process, cli_storage())
    tree = _children(process.pid)
    assert len(tree) >= 2
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while any(pid_alive(pid) for pid in tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(pid_alive(pid) for pid in tree), "a worker outlived its partita run"
