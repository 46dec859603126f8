"""Sensor tasks under the real scheduler (``partita scheduler --workers 1`` subprocesses).

With one worker process, a sensor in reschedule mode waiting for a task of
its own run must give the worker back between pokes, or the run could never
finish; a poke-mode sensor in the same spot holds the worker until it times
out. A reschedule sensor's timeout fails it (skips it with soft_fail). A
scheduler killed while a sensor waits for its reschedule is replaced, and
the new one carries on the same try.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import Invoke
from test_cli_scheduler import Processes, runs_in, stop, wait_for

from partita.definitions.states import RunState, TaskState
from partita.settings import load_settings
from partita.storage.base import Storage
from partita.storage.factory import open_storage
from partita.storage.records import EventKind

SENSOR_DAGS = """
from datetime import datetime
from pathlib import Path
from partita import DAG, FileSensor, PythonSensor

MARKERS = Path({markers!r})

def flag_is_there(name):
    def poke():
        with open(MARKERS / ("poked-" + name), "a") as f:
            f.write("poke\\n")
        return (MARKERS / name).exists()
    return poke

def write_flag_once_poked(name):
    def poke():
        if not (MARKERS / ("poked-" + name)).exists():
            return False
        (MARKERS / name).write_text("ok")
        return True
    return poke

def pair(dag_id, mode, timeout):
    with DAG(dag_id, schedule=None, start_date=datetime(2024, 1, 1)) as dag:
        PythonSensor(task_id="wait", python_callable=flag_is_there(dag_id), mode=mode,
                     poke_interval=0.2, timeout=timeout)
        PythonSensor(task_id="write", python_callable=write_flag_once_poked(dag_id),
                     mode="reschedule", poke_interval=0.2, timeout=timeout)
    return dag

shared = pair("shared", "reschedule", 120)
held = pair("held", "poke", 2)

for dag_id, soft in (("gives_up", False), ("skips", True)):
    with DAG(dag_id, schedule=None, start_date=datetime(2024, 1, 1)):
        FileSensor(task_id="never", filepath=str(MARKERS / "never.csv"), mode="reschedule",
                   poke_interval=0.2, timeout=1, soft_fail=soft)

with DAG("patient", schedule=None, start_date=datetime(2024, 1, 1)):
    PythonSensor(task_id="wait", python_callable=flag_is_there("patient"), mode="reschedule",
                 poke_interval=2.0, timeout=600)
"""


@pytest.fixture
def processes(cli_home: Path) -> Iterator[Processes]:
    running = Processes(cli_home)
    yield running
    running.stop_all()


@pytest.fixture
def store(cli_home: Path) -> Iterator[Storage]:
    with open_storage(load_settings()) as storage:
        yield storage


@pytest.fixture
def dag_file(tmp_path: Path) -> tuple[Path, Path]:
    markers = tmp_path / "markers"
    markers.mkdir()
    path = tmp_path / "sensors.py"
    path.write_text(SENSOR_DAGS.format(markers=str(markers)))
    return path, markers


def finished_run(store: Storage, dag_id: str, timeout: float = 90) -> str:
    wait_for(lambda: any(r.state.finished for r in runs_in(store, dag_id)), timeout, dag_id)
    (run,) = runs_in(store, dag_id)
    return run.run_id


def states(store: Storage, run_id: str) -> dict[str, TaskState]:
    return {ti.task_id: ti.state for ti in store.runs.get_task_instances(run_id)}


def state_events(store: Storage, run_id: str, task_id: str) -> list[tuple[int, str]]:
    events = store.events.read_events(run_id, task_id=task_id, kinds=[EventKind.TASK_STATE])
    return [(e.try_number, e.payload["state"]) for e in events]


@pytest.mark.slow
def test_one_worker_runs_a_rescheduled_sensor_and_the_task_it_waits_for(
    dag_file: tuple[Path, Path], processes: Processes, store: Storage, invoke: Invoke
) -> None:
    path, _ = dag_file
    scheduler = processes.start("scheduler", str(path), "--workers", "1")
    for dag_id in ("shared", "gives_up", "skips"):
        assert invoke("trigger", str(path), dag_id).exit_code == 0
    shared = finished_run(store, "shared")
    gives_up, skips = finished_run(store, "gives_up"), finished_run(store, "skips")
    assert store.runs.get_run(shared).state is RunState.SUCCESS
    assert states(store, shared) == {"wait": TaskState.SUCCESS, "write": TaskState.SUCCESS}
    waits = state_events(store, shared, "wait")
    assert (1, "up_for_reschedule") in waits and {t for t, _ in waits} == {1}
    assert [ti.try_number for ti in store.runs.get_task_instances(shared)] == [1, 1]
    # item 8: a reschedule sensor past its timeout fails, or skips with soft_fail
    assert states(store, gives_up) == {"never": TaskState.FAILED}
    assert store.runs.get_run(gives_up).state is RunState.FAILED
    assert states(store, skips) == {"never": TaskState.SKIPPED}
    assert store.runs.get_run(skips).state is RunState.SUCCESS

    # the same pair with the sensor in poke mode: it keeps the only worker until it times out
    assert invoke("trigger", str(path), "held").exit_code == 0
    held = finished_run(store, "held")
    code, _, err = stop(scheduler)
    assert code == 0, err
    tis = {ti.task_id: ti for ti in store.runs.get_task_instances(held)}
    assert tis["wait"].state is TaskState.FAILED
    # the writer got the worker only once the sensor had given up (then it wrote the flag)
    assert tis["write"].end_date is not None and tis["wait"].end_date is not None
    assert tis["write"].end_date >= tis["wait"].end_date
    assert "SensorTimeout" in str(
        [e.payload for e in store.events.read_events(held, kinds=[EventKind.TASK_ERROR])]
    )


@pytest.mark.slow
def test_a_scheduler_killed_while_a_sensor_waits_is_replaced_and_the_try_goes_on(
    dag_file: tuple[Path, Path], processes: Processes, store: Storage, invoke: Invoke
) -> None:
    path, markers = dag_file
    first = processes.start("scheduler", str(path), "--workers", "1")
    assert invoke("trigger", str(path), "patient").exit_code == 0

    def rescheduled() -> bool:
        runs = runs_in(store, "patient")
        return bool(runs) and states(store, runs[0].run_id).get("wait") is (
            TaskState.UP_FOR_RESCHEDULE
        )

    wait_for(rescheduled, 60, "the sensor to wait for its reschedule")
    first.kill()
    first.communicate()
    (run,) = runs_in(store, "patient")
    pokes = markers / "poked-patient"
    before = len(pokes.read_text().splitlines())
    second = processes.start("scheduler", str(path), "--workers", "1")
    wait_for(lambda: len(pokes.read_text().splitlines()) > before, 60, "a poke after the restart")
    (markers / "patient").write_text("ok")
    wait_for(lambda: store.runs.get_run(run.run_id).state.finished, 60, "the resumed run")
    stop(second)
    assert store.runs.get_run(run.run_id).state is RunState.SUCCESS
    (ti,) = store.runs.get_task_instances(run.run_id)
    assert ti.try_number == 1  # resumed as the same try, not a new one
    assert {t for t, _ in state_events(store, run.run_id, "wait")} == {1}
    lines = store.logs.read_lines(run.run_id, "wait", -1, 1)
    assert [line.seq for line in lines] == list(range(len(lines)))
