"""Runs queued through the REST API, and by ``TriggerDagRunOperator``, wake an idle scheduler.

A real ``partita scheduler`` subprocess polls only every 30 s here
(``PARTITA_SCHEDULER_POLL_INTERVAL``); a run that starts within 10 s was
started by a wake-up call (``partita.wakeups.wake_schedulers``), not by the
poll. The parent DAG waits for a child run its ``TriggerDagRunOperator``
queues from a worker process, so the parent ends in time only if that
worker's queueing woke the scheduler too; clearing a task through the API
puts the run back in the queue, which wakes it again.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import partita_command, subprocess_env
from fastapi.testclient import TestClient

from partita.definitions.states import RunState
from partita.server.app import create_app
from partita.server.config import ServerConfig
from partita.settings import load_settings
from partita.storage.base import Storage
from partita.storage.factory import open_storage

POLL_INTERVAL = 30.0
WOKEN_WITHIN = 10.0

DAGS = """
from datetime import datetime
from partita import DAG, EmptyOperator, TriggerDagRunOperator

with DAG("child", schedule=None, start_date=datetime(2024, 1, 1)) as child:
    EmptyOperator(task_id="work")

with DAG("parent", schedule=None, start_date=datetime(2024, 1, 1)) as parent:
    TriggerDagRunOperator(
        task_id="trigger", trigger_dag_id="child", wait_for_completion=True, poke_interval=0.2
    )
"""


@pytest.fixture
def storage(cli_home: Path, tmp_path: Path) -> Iterator[Storage]:
    path = tmp_path / "dags.py"
    path.write_text(DAGS)
    env = subprocess_env(cli_home) | {"PARTITA_SCHEDULER_POLL_INTERVAL": str(POLL_INTERVAL)}
    process = subprocess.Popen(
        partita_command("scheduler", str(path), "--workers", "2"), env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with open_storage(load_settings()) as store:
            deadline = time.monotonic() + 60
            while not store.queue.list_schedulers() or store.registry.get_dag("parent") is None:
                assert process.poll() is None, "the scheduler exited"
                assert time.monotonic() < deadline, "the scheduler did not come up"
                time.sleep(0.1)
            time.sleep(0.5)  # its first pass is over: it sleeps its 30 s poll interval now
            yield store
    finally:
        process.terminate()
        process.wait(timeout=30)


def _ended_within(store: Storage, run_id: str, seconds: float) -> RunState:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = store.runs.get_run(run_id).state
        if state in (RunState.SUCCESS, RunState.FAILED):
            return state
        time.sleep(0.05)
    return store.runs.get_run(run_id).state


@pytest.mark.slow
def test_api_trigger_operator_trigger_and_api_clear_wake_an_idle_scheduler(
    storage: Storage,
) -> None:
    config = ServerConfig(load_settings(), auth=False)
    with TestClient(create_app(storage, config)) as client:
        answer = client.post("/api/v1/dags/parent/runs", json={"conf": {}})
        assert answer.status_code == 201, answer.text
        run_id = answer.json()["run_id"]
        # the parent's task waits for the child its operator queued from a worker
        assert _ended_within(storage, run_id, WOKEN_WITHIN) is RunState.SUCCESS
        (child,) = storage.runs.list_runs("child", limit=10)
        assert child.state is RunState.SUCCESS

        time.sleep(0.5)  # idle again
        answer = client.post(f"/api/v1/runs/{run_id}/tasks/trigger/clear", json={})
        assert answer.status_code == 200, answer.text
        assert _ended_within(storage, run_id, WOKEN_WITHIN) is RunState.SUCCESS
        assert len(storage.runs.list_runs("child", limit=10)) == 2
