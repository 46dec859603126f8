"""Crash safety of ``partita run`` with real processes and real signals.

A finished task stays finished and a running one is shown running while it
runs; repeated SIGTERM or SIGINT still ends with the run recorded as failed;
``kill -9`` takes the task's subprocess tree down with it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import TEST_DAGS, partita_command, subprocess_env

from partita.cli.recovery import pid_alive
from partita.definitions.states import RunState, TaskState
from partita.settings import load_settings
from partita.storage.base import Storage
from partita.storage.factory import open_storage

pytestmark = pytest.mark.slow

DURABLE_DAGS = Path(__file__).resolve().parent / "durable_dags"


def start_run(
    home: Path, dag_id: str, folder: Path = DURABLE_DAGS, **env: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        partita_command("run", str(folder), dag_id),
        env={**subprocess_env(home), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def open_home(home: Path) -> Storage:
    return open_storage(load_settings({"PARTITA_HOME": str(home)}))


def wait_for_states(
    storage: Storage, process: subprocess.Popen[str], dag_id: str, wanted: dict[str, TaskState]
) -> str:
    """Wait until the run's task instances are recorded in ``wanted`` states; return its id."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"partita run ended early: {process.communicate()}")
        for run in storage.runs.list_runs(dag_id):
            states = {ti.task_id: ti.state for ti in storage.runs.get_task_instances(run.run_id)}
            if all(states.get(t) is s for t, s in wanted.items()):
                return run.run_id
        time.sleep(0.05)
    pytest.fail(f"the run of {dag_id} never reached {wanted}")


NAPPING = {"quick": TaskState.SUCCESS, "nap": TaskState.RUNNING}
WARM = {"warm_up": TaskState.SUCCESS}


def test_a_long_task_shows_running_and_the_task_before_it_stays_finished_after_kill_9(
    cli_home: Path, cli_storage: Callable[[], Storage]
) -> None:
    process = start_run(cli_home, "quick_then_long")
    try:
        run_id = wait_for_states(cli_storage(), process, "quick_then_long", NAPPING)
    finally:
        process.kill()
        process.communicate(timeout=30)

    subprocess.run(
        partita_command("runs", "list"), env=subprocess_env(cli_home), check=True,
        capture_output=True, timeout=60,
    )  # fmt: skip
    storage = cli_storage()
    run = storage.runs.get_run(run_id)
    assert run.state is RunState.FAILED
    states = {ti.task_id: ti.state for ti in storage.runs.get_task_instances(run_id)}
    assert states == {"quick": TaskState.SUCCESS, "nap": TaskState.CANCELLED}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_three_signals_in_quick_succession_still_record_the_run_as_failed(
    tmp_path: Path, signum: signal.Signals
) -> None:
    tries = 10
    homes = [tmp_path / f"home{i}" for i in range(tries)]
    processes = [start_run(home, "sleepy", TEST_DAGS) for home in homes]
    try:
        run_ids = []
        for home, process in zip(homes, processes, strict=True):
            with open_home(home) as storage:  # warm_up succeeded: nap sleeps
                run_ids.append(wait_for_states(storage, process, "sleepy", WARM))
        for process in processes:
            for _ in range(3):
                process.send_signal(signum)
        outputs = [process.communicate(timeout=60) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()

    recorded = []
    for home, run_id, (_, stderr), process in zip(homes, run_ids, outputs, processes, strict=True):
        assert "Traceback" not in stderr, stderr
        assert process.returncode == 128 + signum, stderr
        with open_home(home) as storage:  # opening runs no recovery: what the run recorded
            run = storage.runs.get_run(run_id)
            states = {ti.task_id: ti.state for ti in storage.runs.get_task_instances(run_id)}
        recorded.append((run.state, states["warm_up"], states["nap"], states["after"]))
    cancelled = TaskState.CANCELLED
    assert recorded == [(RunState.FAILED, TaskState.SUCCESS, cancelled, cancelled)] * tries


def test_kill_9_of_partita_takes_the_bash_grandchild_down(
    cli_home: Path, cli_storage: Callable[[], Storage], tmp_path: Path
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    process = start_run(cli_home, "bash_grandchild", GRANDCHILD_PID_FILE=str(pid_file))
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text().strip()):
            assert time.monotonic() < deadline, "the bash command never started its child"
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        grandchild = int(pid_file.read_text())
        assert pid_alive(grandchild)
    finally:
        process.kill()
        process.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while pid_alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(grandchild):
        os.kill(grandchild, signal.SIGKILL)
        pytest.fail(f"the bash command's child (pid {grandchild}) outlived partita")
