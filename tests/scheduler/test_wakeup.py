"""An idle scheduler sleeps until its next due DAG or sensor or a wake-up call, not a fixed poll."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

from tests.scheduler.test_services import files_for

from partita.executors.in_process import InProcessExecutor
from partita.scheduler.clock import FastClock
from partita.scheduler.loop import Scheduler, SchedulerOptions
from partita.scheduler.wakeup import WAKE_DIR, WakeSocket, wake_schedulers
from partita.storage.memory import MemoryStorage

HOURLY_DAG = """
from datetime import datetime
from partita import DAG, EmptyOperator

with DAG("hourly", schedule="@hourly", start_date=datetime(2024, 1, 1)) as dag:
    EmptyOperator(task_id="noop")
"""


def test_a_wake_up_call_reaches_the_scheduler_and_forgets_dead_ones(tmp_path: Path) -> None:
    (tmp_path / WAKE_DIR).mkdir()
    dead = tmp_path / WAKE_DIR / "999999.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as gone:
        gone.bind(str(dead))  # bound, then closed: what a killed scheduler leaves behind
    with WakeSocket(tmp_path) as wake:
        assert wake.path is not None and wake.path.exists()
        assert wake.drain() is False
        assert wake_schedulers(tmp_path) == 1  # the live one
        assert not dead.exists()
        assert wake.wait(30) is True  # returns at once: it was called
        assert wake.drain() is False  # the calls were taken
    assert not (tmp_path / WAKE_DIR / f"{wake.path.name}").exists()
    assert wake_schedulers(tmp_path / "no-home") == 0


def test_an_idle_scheduler_sleeps_until_the_next_due_dag(tmp_path: Path) -> None:
    storage = MemoryStorage()
    # half past ten, on a clock running an hour a second: the next hourly run is 0.5 s away
    clock = FastClock(datetime(2030, 1, 1, 10, 30, tzinfo=UTC), 3600.0)
    scheduler = Scheduler(
        storage,
        files_for(tmp_path, HOURLY_DAG, storage),
        InProcessExecutor,
        options=SchedulerOptions(poll_interval=60.0),
        clock=clock,
    )
    scheduler.housekeep()  # loads the DAG, queues the runs due by now
    wait = scheduler._seconds_to_next_due()
    assert 0 < wait <= 0.5  # not the 60 s poll interval
    scheduler.stop()


def test_without_a_due_dag_the_scheduler_sleeps_its_poll_interval(tmp_path: Path) -> None:
    storage = MemoryStorage()
    scheduler = Scheduler(
        storage,
        files_for(tmp_path, HOURLY_DAG.replace('"@hourly"', "None"), storage),
        InProcessExecutor,
        options=SchedulerOptions(poll_interval=7.0),
    )
    scheduler.housekeep()
    assert scheduler._seconds_to_next_due() == 7.0
    scheduler.stop()


SENSOR_DAG = """
from partita import Definitions, dag, sensor, task

@task
def noop() -> None:
    pass

@dag(schedule=None)
def sensed() -> None:
    noop()

@sensor(job=sensed, minimum_interval_seconds=3)
def every_three_seconds(_context):
    return None

defs = Definitions(dags=[sensed], sensors=[every_three_seconds])
"""


def test_an_idle_scheduler_wakes_for_its_next_due_sensor(tmp_path: Path) -> None:
    storage = MemoryStorage()
    scheduler = Scheduler(
        storage,
        files_for(tmp_path, SENSOR_DAG, storage),
        InProcessExecutor,
        options=SchedulerOptions(poll_interval=60.0),
    )
    scheduler.housekeep()  # loads the sensor and evaluates it: next due in 3 s
    assert "every_three_seconds" in scheduler.files.sensors
    assert 0 < scheduler._seconds_to_next_due() <= 3.0  # not the 60 s poll interval
    scheduler.stop()
