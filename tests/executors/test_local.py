"""The local executor with real worker processes: parallelism, logs, lost workers, heartbeats.

Each test writes a DAG file (workers import DAGs from files), opens a SQLite
store in its temporary folder and runs the DAG through a ``WorkerPool``.
"""

from __future__ import annotations

import os
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from partita.definitions.dag import DAG
from partita.definitions.states import RunState, TaskState
from partita.engine.control import cancel_run
from partita.engine.driver import RunDriver
from partita.engine.result import RunResult
from partita.engine.work import TaskOutcome
from partita.exceptions import PartitaError
from partita.executors.local import WorkerPool
from partita.loader import load_file
from partita.storage.base import Storage
from partita.storage.factory import open_storage_url
from partita.storage.memory import MemoryStorage
from partita.storage.records import EventKind

HEADER = """
import logging, os, signal, sys, time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from partita import DAG
from partita.operators.python import PythonOperator
MARKS = Path(__file__).parent / "marks"
MARKS.mkdir(exist_ok=True)

def first_time(name):
    mark = MARKS / name
    if mark.exists():
        return False
    mark.write_text("x")
    return True
"""


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    store = open_storage_url(f"sqlite:///{tmp_path / 'partita.db'}", tmp_path / "storage")
    yield store
    store.close()


def dag_file(tmp_path: Path, body: str, name: str = "dag_file.py") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + textwrap.dedent(body))
    return path


def load(path: Path, dag_id: str) -> DAG:
    return load_file(path).dags[dag_id]


def run_on(pool: WorkerPool, dag: DAG, storage: Storage) -> RunResult:
    return RunDriver(dag, pool.executor(), storage).run()


def events(storage: Storage, result: RunResult, kind: EventKind) -> list[dict[str, object]]:
    return [e.payload for e in storage.events.read_events(result.run_id, kinds=[kind])]


@pytest.mark.slow
def test_two_independent_one_second_tasks_run_at_once_on_two_workers(
    tmp_path: Path, storage: Storage
) -> None:
    path = dag_file(
        tmp_path,
        """
        with DAG("two") as dag:
            PythonOperator(task_id="a", python_callable=lambda: time.sleep(1))
            PythonOperator(task_id="b", python_callable=lambda: time.sleep(1))
        """,
    )
    with WorkerPool(2, storage=storage) as pool:
        result = run_on(pool, load(path, "two"), storage)
    assert result.state is RunState.SUCCESS
    # the workers' own start and end times, not a wall-clock bound (the machine may be loaded)
    a, b = sorted(storage.runs.get_task_instances(result.run_id), key=lambda ti: ti.task_id)
    assert a.start_date and a.end_date and b.start_date and b.end_date
    assert a.start_date < b.end_date and b.start_date < a.end_date, (
        f"a ran {a.start_date}..{a.end_date}, b {b.start_date}..{b.end_date}: one after the other"
    )


def test_prints_and_logging_land_in_the_log_of_each_try(tmp_path: Path, storage: Storage) -> None:
    path = dag_file(
        tmp_path,
        """
        def flaky(ti):
            print(f"printed on try {ti.try_number}")
            logging.getLogger("flaky").warning("logged on try %s", ti.try_number)
            if ti.try_number == 1:
                raise ValueError("first try fails")
            return os.getpid()

        with DAG("logs") as dag:
            PythonOperator(task_id="flaky", python_callable=flaky, retries=1, retry_delay=0)
        """,
    )
    with WorkerPool(1, storage=storage) as pool:
        result = run_on(pool, load(path, "logs"), storage)
        assert result.output("flaky") in pool.pids
    assert result.state is RunState.SUCCESS
    by_try = {
        try_number: [
            line.message for line in storage.logs.read_lines(result.run_id, "flaky", -1, try_number)
        ]
        for try_number in (1, 2)
    }
    assert "printed on try 1" in by_try[1]
    assert "flaky: logged on try 1" in by_try[1]
    assert "printed on try 2" in by_try[2]
    assert not any("try 2" in line for line in by_try[1])


def test_a_task_whose_worker_is_killed_runs_again_without_using_a_retry(
    tmp_path: Path, storage: Storage
) -> None:
    path = dag_file(
        tmp_path,
        """
        def dies_once():
            if first_time("dies_once"):
                os.kill(os.getpid(), signal.SIGKILL)
            return "survived"

        with DAG("kill9") as dag:
            PythonOperator(task_id="t", python_callable=dies_once, retries=0)
        """,
    )
    with WorkerPool(1, storage=storage) as pool:
        first_pids = pool.pids
        result = run_on(pool, load(path, "kill9"), storage)
        assert pool.pids != first_pids  # the dead worker was replaced
    assert result.state is RunState.SUCCESS
    assert result.output("t") == "survived"
    (ti,) = result.task_instances
    assert ti.try_number == 2
    lost = storage.events.read_events(result.run_id, kinds=[EventKind.TASK_LOST])
    assert [(e.try_number, e.payload["lost"]) for e in lost] == [(1, 1)]
    assert "died" in str(lost[0].payload["reason"])


def test_a_task_that_kills_its_worker_every_time_fails_after_three_lost_attempts(
    tmp_path: Path, storage: Storage
) -> None:
    path = dag_file(
        tmp_path,
        """
        with DAG("always_dies") as dag:
            PythonOperator(
                task_id="t", python_callable=lambda: os.kill(os.getpid(), signal.SIGKILL),
                retries=5,
            )
        """,
    )
    with WorkerPool(1, storage=storage) as pool:
        result = run_on(pool, load(path, "always_dies"), storage)
    assert result.state is RunState.FAILED
    (ti,) = result.task_instances
    assert ti.state is TaskState.FAILED
    assert ti.try_number == 3
    assert len(events(storage, result, EventKind.TASK_LOST)) == 3
    (error,) = events(storage, result, EventKind.TASK_ERROR)
    assert "lost its worker 3 times" in str(error["error"])


@pytest.mark.slow
def test_a_stopped_worker_is_caught_by_the_heartbeat_timeout(
    tmp_path: Path, storage: Storage
) -> None:
    path = dag_file(
        tmp_path,
        """
        def stops_once():
            if first_time("stops_once"):
                os.kill(os.getpid(), signal.SIGSTOP)
            return "resumed elsewhere"

        with DAG("sigstop") as dag:
            PythonOperator(task_id="t", python_callable=stops_once)
        """,
    )
    with WorkerPool(1, storage=storage, heartbeat_interval=0.2, heartbeat_timeout=1.0) as pool:
        started = time.monotonic()
        result = run_on(pool, load(path, "sigstop"), storage)
        elapsed = time.monotonic() - started
    assert result.state is RunState.SUCCESS
    assert result.output("t") == "resumed elsewhere"
    (lost,) = events(storage, result, EventKind.TASK_LOST)
    assert "no heartbeat" in str(lost["reason"])
    assert elapsed < 5


@pytest.mark.slow
def test_a_long_task_that_heartbeats_is_never_killed(tmp_path: Path, storage: Storage) -> None:
    path = dag_file(
        tmp_path,
        """
        with DAG("long") as dag:
            PythonOperator(task_id="t", python_callable=lambda: time.sleep(5) or "done")
        """,
    )
    with WorkerPool(1, storage=storage, heartbeat_interval=0.2, heartbeat_timeout=1.0) as pool:
        result = run_on(pool, load(path, "long"), storage)
    assert result.state is RunState.SUCCESS
    assert result.output("t") == "done"
    assert events(storage, result, EventKind.TASK_LOST) == []


def test_workers_import_a_changed_dag_file_again(tmp_path: Path, storage: Storage) -> None:
    body = """
        with DAG("versions") as dag:
            PythonOperator(task_id="t", python_callable=lambda: "{version}")
        """
    path = dag_file(tmp_path, body.format(version="v1"))
    with WorkerPool(1, storage=storage) as pool:
        assert run_on(pool, load(path, "versions"), storage).output("t") == "v1"
        dag_file(tmp_path, body.format(version="v2"))
        later = time.time() + 5  # a different modification time, however coarse the clock
        os.utime(path, (later, later))
        assert run_on(pool, load(path, "versions"), storage).output("t") == "v2"


def test_a_fresh_process_task_runs_outside_the_pool(tmp_path: Path, storage: Storage) -> None:
    path = dag_file(
        tmp_path,
        """
        with DAG("fresh") as dag:
            PythonOperator(task_id="pooled", python_callable=os.getpid)
            PythonOperator(
                task_id="own", python_callable=os.getpid,
                executor_config={"fresh_process": True},
            )
        """,
    )
    with WorkerPool(1, storage=storage) as pool:
        result = run_on(pool, load(path, "fresh"), storage)
        pool_pids = pool.pids
    assert result.state is RunState.SUCCESS
    assert result.output("pooled") in pool_pids
    assert result.output("own") not in pool_pids
    assert result.output("own") not in (os.getpid(), result.output("pooled"))


def test_downstream_tasks_read_outputs_written_by_other_workers(
    tmp_path: Path, storage: Storage
) -> None:
    path = dag_file(
        tmp_path,
        """
        from partita import task

        with DAG("data") as dag:
            @task
            def numbers():
                return [1, 2, 3]

            @task
            def double(n):
                return n * 2

            @task
            def total(values):
                return sum(values)

            total(double.expand(n=numbers()))
        """,
    )
    with WorkerPool(2, storage=storage) as pool:
        result = run_on(pool, load(path, "data"), storage)
    assert result.state is RunState.SUCCESS
    assert result.output("total") == 12


def test_the_memory_store_is_refused_with_the_fix() -> None:
    with pytest.raises(PartitaError, match="needs a metadata database its worker processes"):
        WorkerPool(1, storage=MemoryStorage())


def test_a_dag_without_a_file_is_refused_before_the_run(storage: Storage) -> None:
    with DAG("nowhere", fileloc="<stdin>") as dag:
        pass
    with WorkerPool(1, storage=storage) as pool, pytest.raises(PartitaError, match="not defined"):
        pool.executor().start(None, dag, None, None, None)  # type: ignore[arg-type]


def test_the_log_of_a_try_lost_with_its_worker_keeps_what_was_streamed(
    tmp_path: Path, storage: Storage
) -> None:
    path = dag_file(
        tmp_path,
        """
        def talks_then_dies(ti):
            print(f"alive on try {ti.try_number}")
            if first_time("talks_then_dies"):
                time.sleep(1.2)  # the worker's log flusher writes the line meanwhile
                os.kill(os.getpid(), signal.SIGKILL)

        with DAG("streamed") as dag:
            PythonOperator(task_id="t", python_callable=talks_then_dies)
        """,
    )
    with WorkerPool(1, storage=storage) as pool:
        result = run_on(pool, load(path, "streamed"), storage)
    assert result.state is RunState.SUCCESS
    first = storage.logs.read_lines(result.run_id, "t", -1, 1)
    assert [line.message for line in first] == ["alive on try 1"]
    second = storage.logs.read_lines(result.run_id, "t", -1, 2)
    assert [line.message for line in second] == ["alive on try 2"]


def test_two_runs_at_once_share_one_pool_and_get_their_own_outcomes(
    tmp_path: Path, storage: Storage
) -> None:
    path = dag_file(
        tmp_path,
        """
        def value(ti):
            time.sleep(0.05)
            return f"{ti.run_id[-6:]}:{ti.task_id}"

        with DAG("shared") as dag:
            for i in range(6):
                PythonOperator(task_id=f"t{i}", python_callable=value)
        """,
    )
    results: list[RunResult] = []
    with WorkerPool(2, storage=storage) as pool:
        threads = [
            threading.Thread(
                target=lambda: results.append(run_on(pool, load(path, "shared"), storage))
            )
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert len(results) == 2
    for result in results:
        assert result.state is RunState.SUCCESS
        assert [result.output(f"t{i}") for i in range(6)] == [
            f"{result.run_id[-6:]}:t{i}" for i in range(6)
        ]


def test_the_pool_runs_on_postgresql(tmp_path: Path, pg_clean_database_url: str) -> None:
    path = dag_file(
        tmp_path,
        """
        with DAG("on_pg") as dag:
            a = PythonOperator(task_id="a", python_callable=lambda: 20)
            b = PythonOperator(
                task_id="b", python_callable=lambda ti: ti.xcom_pull("a") + 1
            )
            a >> b
        """,
    )
    store = open_storage_url(pg_clean_database_url, tmp_path / "storage")
    try:
        with WorkerPool(2, storage=store) as pool:
            result = run_on(pool, load(path, "on_pg"), store)
        assert result.state is RunState.SUCCESS
        assert result.output("b") == 21
    finally:
        store.close()


def test_quick_tasks_are_batched_and_slow_ones_go_one_per_message(storage: Storage) -> None:
    with WorkerPool(1, storage=storage) as pool:
        view = pool.executor()
    assert view.batch_size(queued=500, workers=2, cap=64) == 1  # nothing measured yet
    now = datetime.now(UTC)
    quick = TaskOutcome("t", -1, 1, TaskState.SUCCESS, now, now + timedelta(milliseconds=1), "h")
    view.observe([quick] * 20)
    assert view.batch_size(queued=500, workers=2, cap=64) == 50  # about 50 ms of work
    assert view.batch_size(queued=500, workers=2, cap=32) == 32
    assert view.batch_size(queued=6, workers=2, cap=64) == 3  # an even share of the queue
    slow = TaskOutcome("t", -1, 1, TaskState.SUCCESS, now, now + timedelta(seconds=1), "h")
    view.observe([slow] * 20)
    assert view.batch_size(queued=500, workers=2, cap=64) == 1


def test_a_dag_file_broken_since_the_run_began_fails_its_tasks_saying_why(
    tmp_path: Path, storage: Storage
) -> None:
    path = dag_file(
        tmp_path,
        """
        with DAG("broken_later") as dag:
            PythonOperator(task_id="t", python_callable=lambda: 1)
        """,
    )
    dag = load(path, "broken_later")
    path.write_text("this is not python\n")
    later = time.time() + 5
    os.utime(path, (later, later))
    with WorkerPool(1, storage=storage) as pool:
        result = run_on(pool, dag, storage)
    assert result.state is RunState.FAILED
    (error,) = events(storage, result, EventKind.TASK_ERROR)
    assert f"DAG file {path} did not import in the worker" in str(error["error"])


def test_an_interrupted_run_s_busy_worker_is_killed_and_replaced(
    tmp_path: Path, storage: Storage
) -> None:
    path = dag_file(
        tmp_path,
        """
        with DAG("interrupted") as dag:
            PythonOperator(task_id="nap", python_callable=lambda: time.sleep(60))
        """,
    )

    def interrupt_when_napping(ti: Any) -> None:
        if ti.task_id == "nap" and ti.state is TaskState.RUNNING:
            raise KeyboardInterrupt("stop")

    listener = SimpleNamespace(
        run_started=lambda run, total: None, task_changed=interrupt_when_napping,
        try_ended=lambda ti, outcome: None, task_expanded=lambda t, n: None,
        run_finished=lambda run: None,
    )  # fmt: skip
    with WorkerPool(1, storage=storage) as pool:
        (busy,) = pool.pids
        driver = RunDriver(load(path, "interrupted"), pool.executor(), storage, listener=listener)
        with pytest.raises(KeyboardInterrupt):
            driver.run()
        deadline = time.monotonic() + 10
        while (busy in pool.pids or not pool.pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert busy not in pool.pids and len(pool.pids) == 1
    (run,) = storage.runs.list_runs("interrupted")
    assert run.state is RunState.FAILED


@pytest.mark.slow
def test_a_cancelled_run_stops_its_tasks_on_the_pool(tmp_path: Path, storage: Storage) -> None:
    path = dag_file(
        tmp_path,
        """
        with DAG("to_cancel") as dag:
            PythonOperator(task_id="nap", python_callable=lambda: time.sleep(60))
        """,
    )
    results: list[RunResult] = []
    with WorkerPool(1, storage=storage) as pool:
        (busy,) = pool.pids
        driver = RunDriver(load(path, "to_cancel"), pool.executor(), storage)
        thread = threading.Thread(target=lambda: results.append(driver.run()))
        thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            runs = storage.runs.list_runs("to_cancel")
            tis = storage.runs.get_task_instances(runs[0].run_id) if runs else []
            if tis and tis[0].state is TaskState.RUNNING:
                break
            time.sleep(0.05)
        started = time.monotonic()
        cancel_run(storage, runs[0].run_id, grace=0)
        thread.join(30)
        assert time.monotonic() - started < 15
        while busy in pool.pids and time.monotonic() < deadline:  # killed, then buried
            time.sleep(0.05)
        assert busy not in pool.pids
    (result,) = results
    assert result.state is RunState.CANCELLED
    assert [ti.state for ti in result.task_instances] == [TaskState.CANCELLED]
