"""``partita runs cancel`` against a real ``partita run`` process: the owner stops the run.

The owner sees the request at its next heartbeat, interrupts the running
task (a Python ``time.sleep``) or sends SIGTERM to its command's process
group and SIGKILL after the grace period, and records the run cancelled.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import TEST_DAGS, partita_command, subprocess_env

from partita.cli.recovery import pid_alive
from partita.definitions.states import RunState, TaskState
from partita.storage.base import Storage
from partita.storage.group_commit import HEARTBEAT_INTERVAL
from partita.storage.records import EventKind

pytestmark = pytest.mark.slow

#: Beyond grace + heartbeat: starting Python, recording the end, a loaded machine.
SLACK = 10.0


def _partita(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        partita_command(*args),
        env={**subprocess_env(home), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_run(
    open_storage: Callable[[], Storage], process: subprocess.Popen[str], dag_id: str, task: str
) -> str:
    """Wait until ``task`` of the run succeeded (the task after it then runs); the run's id."""
    storage = open_storage()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"partita run ended early: {process.communicate()}")
        for run in storage.runs.list_runs(dag_id):
            states = {ti.task_id: ti.state for ti in storage.runs.get_task_instances(run.run_id)}
            if states.get(task) is TaskState.SUCCESS:
                return run.run_id
        time.sleep(0.1)
    pytest.fail(f"task {task} never succeeded")


def _cancel(home: Path, run_id: str, grace: float, *more: str) -> str:
    cancelled = subprocess.run(
        partita_command("runs", "cancel", run_id, "--grace", str(grace), *more),
        env=subprocess_env(home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cancelled.returncode == 0, cancelled.stderr
    assert "requested" in cancelled.stdout
    return cancelled.stdout


def test_cancel_interrupts_a_python_task_and_records_the_run_cancelled(
    cli_home: Path, cli_storage: Callable[[], Storage]
) -> None:
    process = _partita(cli_home, "run", str(TEST_DAGS / "sleepy.py"), "sleepy")
    run_id = _wait_for_run(cli_storage, process, "sleepy", "warm_up")
    started = time.monotonic()

    said = _cancel(cli_home, run_id, 1, "--wait")  # returns once the run has ended
    assert f"Run {run_id} ended cancelled." in said
    out, err = process.communicate(timeout=SLACK)
    took = time.monotonic() - started

    assert process.returncode == 1, (out, err)
    assert took < 1 + HEARTBEAT_INTERVAL + SLACK
    assert "cancelled" in out.splitlines()[0]
    storage = cli_storage()
    run = storage.runs.get_run(run_id)
    assert run.state is RunState.CANCELLED and run.end_date is not None
    states = {ti.task_id: ti.state for ti in storage.runs.get_task_instances(run_id)}
    assert states == {
        "warm_up": TaskState.SUCCESS,
        "nap": TaskState.CANCELLED,
        "after": TaskState.CANCELLED,
    }
    last = storage.events.read_events(run_id, kinds=[EventKind.RUN_STATE])[-1]
    assert last.payload["state"] == "cancelled"
    assert "cancelled by an operator" in last.payload["message"]


def test_cancel_stops_a_bash_command_and_what_it_started(
    cli_home: Path, cli_storage: Callable[[], Storage], tmp_path: Path
) -> None:
    pid_file = tmp_path / "sleep.pid"
    process = _partita(
        cli_home,
        "run",
        str(TEST_DAGS / "control.py"),
        "holding",
        env={"CONTROL_PID_FILE": str(pid_file)},
    )
    sleep_pid = _read_pid(pid_file)
    run_id = _wait_for_run(cli_storage, process, "holding", "warm_up")
    started = time.monotonic()

    _cancel(cli_home, run_id, grace=1)
    out, err = process.communicate(timeout=1 + HEARTBEAT_INTERVAL + SLACK)

    assert process.returncode == 1, (out, err)
    assert time.monotonic() - started < 1 + HEARTBEAT_INTERVAL + SLACK
    assert not pid_alive(sleep_pid)  # the command's child is gone too
    storage = cli_storage()
    assert storage.runs.get_run(run_id).state is RunState.CANCELLED
    states = {ti.task_id: ti.state for ti in storage.runs.get_task_instances(run_id)}
    assert states == {
        "warm_up": TaskState.SUCCESS,
        "hold": TaskState.CANCELLED,
        "done": TaskState.CANCELLED,
    }


def _read_pid(pid_file: Path) -> int:
    deadline = time.monotonic() + 30
    while not pid_file.is_file() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline, "the command never wrote its child's pid"
        time.sleep(0.05)
    return int(pid_file.read_text())


def test_a_command_that_ignores_sigterm_is_killed_after_the_grace_period(
    cli_home: Path, cli_storage: Callable[[], Storage], tmp_path: Path
) -> None:
    pid_file = tmp_path / "sleep.pid"
    process = _partita(
        cli_home,
        "run",
        str(TEST_DAGS / "control.py"),
        "stubborn",
        env={"CONTROL_PID_FILE": str(pid_file)},
    )
    sleep_pid = _read_pid(pid_file)
    run_id = _wait_for_run(cli_storage, process, "stubborn", "warm_up")
    # Longer than a heartbeat: had SIGTERM stopped the command, the run would end sooner.
    grace = HEARTBEAT_INTERVAL + 1

    _cancel(cli_home, run_id, grace)
    out, err = process.communicate(timeout=grace + HEARTBEAT_INTERVAL + SLACK)

    assert process.returncode == 1, (out, err)
    assert not pid_alive(sleep_pid)  # SIGKILL reached the command's child too
    storage = cli_storage()
    run = storage.runs.get_run(run_id)
    assert run.state is RunState.CANCELLED
    assert run.cancel_requested_at is not None and run.end_date is not None
    assert (run.end_date - run.cancel_requested_at).total_seconds() >= grace
    states = {ti.task_id: ti.state for ti in storage.runs.get_task_instances(run_id)}
    assert states == {
        "warm_up": TaskState.SUCCESS,
        "hold": TaskState.CANCELLED,
        "done": TaskState.CANCELLED,
    }
