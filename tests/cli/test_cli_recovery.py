"""A ``partita run`` that is killed never stays recorded as running.

SIGTERM is handled (the driver records the failure itself); SIGKILL cannot
be, so the next command that opens the database records it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_helpers import TEST_DAGS, partita_command, subprocess_env, table_rows

from partita.cli.recovery import fail_orphaned_runs, pid_alive
from partita.definitions.states import RunState, TaskState
from partita.engine.task_runner import HOSTNAME
from partita.storage.base import Storage
from partita.storage.records import DagRunRecord, EventKind, TaskInstanceRecord, WriteBatch

pytestmark = pytest.mark.slow


def start_sleepy_run(home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        partita_command("run", str(TEST_DAGS), "sleepy"),
        env=subprocess_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_napping(open_storage: Callable[[], Storage], process: subprocess.Popen[str]) -> str:
    """Wait until the run is recorded and its first task succeeded (the second then sleeps)."""
    storage = open_storage()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"partita run ended early: {process.communicate()}")
        for run in storage.runs.list_runs("sleepy"):
            states = {ti.task_id: ti.state for ti in storage.runs.get_task_instances(run.run_id)}
            if states.get("warm_up") is TaskState.SUCCESS:
                return run.run_id
        time.sleep(0.1)
    pytest.fail("the run never got to its sleeping task")


def test_a_run_killed_with_sigkill_is_recorded_as_failed_by_the_next_command(
    cli_home: Path, cli_storage: Callable[[], Storage]
) -> None:
    process = start_sleepy_run(cli_home)
    run_id = wait_until_napping(cli_storage, process)
    assert cli_storage().runs.get_run(run_id).state is RunState.RUNNING
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.communicate()

    listed = subprocess.run(
        partita_command("runs", "list"),
        env=subprocess_env(cli_home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert table_rows(listed.stdout)[run_id][1:3] == ["sleepy", "failed"]

    storage = cli_storage()
    run = storage.runs.get_run(run_id)
    assert run.state is RunState.FAILED and run.end_date is not None
    states = {ti.task_id: ti.state for ti in storage.runs.get_task_instances(run_id)}
    assert states == {
        "warm_up": TaskState.SUCCESS,
        "nap": TaskState.CANCELLED,
        "after": TaskState.CANCELLED,
    }
    messages = [
        e.payload.get("message")
        for e in storage.events.read_events(run_id, kinds=[EventKind.RUN_STATE])
    ]
    assert f"the process running it (pid {process.pid}) is gone" in messages

    shown = subprocess.run(
        partita_command("runs", "show", run_id),
        env=subprocess_env(cli_home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert f"failed: the process running it (pid {process.pid}) is gone" in shown.stdout


def test_a_run_stopped_with_sigterm_records_its_own_failure(
    cli_home: Path, cli_storage: Callable[[], Storage]
) -> None:
    process = start_sleepy_run(cli_home)
    run_id = wait_until_napping(cli_storage, process)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM
    assert "Interrupted (SIGTERM): the run was recorded as failed if it had started" in stderr
    assert "Traceback" not in stderr

    storage = cli_storage()
    assert storage.runs.get_run(run_id).state is RunState.FAILED
    states = {ti.task_id: ti.state for ti in storage.runs.get_task_instances(run_id)}
    assert states["nap"] is TaskState.CANCELLED and states["after"] is TaskState.CANCELLED
    messages = [
        str(e.payload.get("message"))
        for e in storage.events.read_events(run_id, kinds=[EventKind.RUN_STATE])
    ]
    assert any(m.startswith("interrupted: KeyboardInterrupt") for m in messages)


# -- the recovery function on its own ------------------------------------------------------
def record_running_run(storage: Storage, run_id: str, hostname: str, pid: int) -> None:
    now = datetime.now(UTC)
    run = DagRunRecord(
        run_id, "d", "v1", RunState.RUNNING, queued_at=now, start_date=now,
        hostname=hostname, pid=pid,
    )  # fmt: skip
    tis = [
        TaskInstanceRecord(run_id, "done", try_number=1, state=TaskState.SUCCESS, end_date=now),
        TaskInstanceRecord(run_id, "busy", try_number=1, state=TaskState.RUNNING),
    ]
    storage.write(WriteBatch(runs=[run], task_instances=tis))


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_only_dead_runs_of_this_host_are_failed(cli_storage: Callable[[], Storage]) -> None:
    storage = cli_storage()
    alive = subprocess.Popen(["sleep", "30"])
    try:
        record_running_run(storage, "dead_here", HOSTNAME, dead_pid())
        record_running_run(storage, "alive_here", HOSTNAME, alive.pid)
        record_running_run(storage, "elsewhere", "another-host", dead_pid())

        assert fail_orphaned_runs(storage) == ["dead_here"]
        assert fail_orphaned_runs(storage) == []  # already recorded: nothing twice
    finally:
        alive.kill()
        alive.wait()

    assert storage.runs.get_run("dead_here").state is RunState.FAILED
    assert storage.runs.get_run("alive_here").state is RunState.RUNNING
    assert storage.runs.get_run("elsewhere").state is RunState.RUNNING
    states = {ti.task_id: ti.state for ti in storage.runs.get_task_instances("dead_here")}
    assert states == {"done": TaskState.SUCCESS, "busy": TaskState.CANCELLED}


def test_a_zombie_process_counts_as_gone() -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert pid_alive(child.pid)
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while pid_alive(child.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not pid_alive(child.pid)  # not reaped yet: a zombie, but gone
    finally:
        child.wait()
    assert not pid_alive(child.pid)
