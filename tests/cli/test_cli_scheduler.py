"""``partita scheduler``, ``partita dev`` and ``partita trigger`` as real processes.

Scheduled runs, restarts after SIGKILL, Ctrl-C, the lock of ``partita dev``,
bad input to ``trigger``, and two schedulers sharing one PostgreSQL database.
Side effects of tasks are counted in marker files, so a task instance that ran
twice would show.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_helpers import TEST_DAGS, Invoke, partita_command, subprocess_env
from sqlalchemy import text

from partita.cli.recovery import pid_alive
from partita.definitions.states import RunState, TaskState
from partita.settings import load_settings
from partita.storage.base import Storage
from partita.storage.factory import open_storage
from partita.storage.records import EventKind
from partita.storage.sql import create_sql_engine

EXAMPLE_DAG = """
from datetime import datetime
from partita import DAG, BashOperator, PythonOperator

def print_hello():
    return "Hello"

def print_world():
    return "World"

with DAG(dag_id="example_dag", description="DAG 설명", schedule="0 * * * *",
         start_date=datetime(2025, 1, 1), depends_on_past=False, catchup=False,
         tags=["example"]) as dag:
    task1 = PythonOperator(task_id="print_hello", python_callable=print_hello)
    task2 = BashOperator(task_id="print_date", bash_command="date", retries=3)
    task3 = PythonOperator(task_id="print_world", python_callable=print_world)
    task1 >> task2 >> task3
"""

SLACK_DAG = """
from datetime import datetime
from partita import DAG, PythonOperator, FailTask

def task_fail_slack_alert(context):
    pass

def _handle_job_error():
    raise FailTask("Raise Exception.")

default_args = {"owner": "choonb", "depends_on_past": False,
                "start_date": datetime(2024, 1, 1), "end_date": datetime(2025, 1, 1)}
with DAG(dag_id="dag_with_slack", default_args=default_args, schedule_interval="0 12 * * * ",
         tags=["slack"], catchup=True, on_failure_callback=task_fail_slack_alert) as dag:
    PythonOperator(task_id="raise_exception_and_send_slack_notification",
                   python_callable=_handle_job_error)
"""

MARKED_DAG = """
import os, time
from datetime import datetime
from pathlib import Path
from partita import DAG, PythonOperator, Param

MARKERS = Path({markers!r})

def mark(name, nap=0.0):
    def task(run_id, **_):
        with open(MARKERS / name, "a") as f:
            f.write(run_id + "\\n")
        time.sleep(nap)
        if name == "fail":
            raise ValueError("asked to fail")
    return task

with DAG("marked", schedule=None, start_date=datetime(2024, 1, 1),
         params={{"n": Param(1, type="integer")}}) as dag:
    a = PythonOperator(task_id="a", python_callable=mark("a"))
    b = PythonOperator(task_id="b", python_callable=mark("b", {nap}))
    c = PythonOperator(task_id="c", python_callable=mark("c"))
    a >> b >> c

with DAG("failing", schedule=None, start_date=datetime(2024, 1, 1)) as failing:
    PythonOperator(task_id="fail", python_callable=mark("fail"))

with DAG("paused", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=True,
         is_paused_upon_creation=True) as paused:
    PythonOperator(task_id="p", python_callable=mark("p"))
"""


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Processes:
    """Starts ``partita`` subprocesses and makes sure none outlives the test."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.started: list[subprocess.Popen[str]] = []

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            partita_command(*args),
            env={**subprocess_env(self.home), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
            process.communicate()


@pytest.fixture
def processes(cli_home: Path) -> Iterator[Processes]:
    running = Processes(cli_home)
    yield running
    running.stop_all()


@pytest.fixture
def store(cli_home: Path) -> Iterator[Storage]:
    with open_storage(load_settings()) as storage:
        yield storage


def marked_dag(tmp_path: Path, nap: float = 0.0) -> tuple[Path, Path]:
    markers = tmp_path / "markers"
    markers.mkdir()
    path = tmp_path / "marked.py"
    path.write_text(MARKED_DAG.format(markers=str(markers), nap=nap))
    return path, markers


def lines(markers: Path, name: str) -> list[str]:
    path = markers / name
    return path.read_text().splitlines() if path.exists() else []


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str, str]:
    process.send_signal(sig)
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err


def runs_in(storage: Storage, dag_id: str) -> list:  # type: ignore[type-arg]
    return storage.runs.list_runs(dag_id, limit=10_000)


# --- the scheduler on SQLite --------------------------------------------------------------


@pytest.mark.slow
def test_scheduler_runs_seed_002_example_dag_on_a_fast_clock(
    tmp_path: Path, processes: Processes, store: Storage
) -> None:
    path = tmp_path / "example_dag.py"
    path.write_text(EXAMPLE_DAG)
    clock = "2025-01-01T00:30:00+00:00:1800"  # half an hour of schedule per second
    scheduler = processes.start("scheduler", str(path), PARTITA_SCHEDULER_CLOCK=clock)

    def succeeded() -> int:
        return sum(r.state is RunState.SUCCESS for r in runs_in(store, "example_dag"))

    wait_for(lambda: succeeded() >= 2, 60, "two scheduled runs of example_dag")
    code, out, _ = stop(scheduler)
    assert code == 0
    assert "example_dag" in out and "database:" in out and "home:" in out
    runs = runs_in(store, "example_dag")
    assert {r.run_type for r in runs} == {"scheduled"}
    assert not [r for r in runs if r.state is RunState.RUNNING]
    hours = sorted(r.logical_date for r in runs if r.logical_date is not None)
    assert all(h.minute == 0 and h.second == 0 for h in hours)  # on the hour, as "0 * * * *"
    assert len(set(hours)) == len(hours)


@pytest.mark.slow
def test_the_slack_dag_catchup_creates_exactly_366_runs_through_the_scheduler(
    tmp_path: Path, processes: Processes, store: Storage
) -> None:
    path = tmp_path / "slack.py"
    path.write_text(SLACK_DAG)
    scheduler = processes.start("scheduler", str(path), PARTITA_MAX_CONCURRENT_RUNS="32")

    def finished() -> int:
        return sum(r.state.finished for r in runs_in(store, "dag_with_slack"))

    wait_for(lambda: finished() >= 366, 240, "366 finished runs of dag_with_slack")
    time.sleep(1.5)  # more passes: no 367th run
    code, _, _ = stop(scheduler)
    assert code == 0
    runs = runs_in(store, "dag_with_slack")
    assert len(runs) == 366
    assert {r.state for r in runs} == {RunState.FAILED}  # the article's DAG always fails
    assert len({r.logical_date for r in runs}) == 366


def test_a_paused_dag_creates_no_runs(tmp_path: Path, processes: Processes, store: Storage) -> None:
    path, markers = marked_dag(tmp_path)
    scheduler = processes.start("scheduler", str(path))
    wait_for(lambda: store.registry.get_dag("paused") is not None, 30, "the parse")
    time.sleep(2)  # several passes
    stop(scheduler)
    assert store.registry.get_dag("paused").is_paused  # type: ignore[union-attr]
    assert runs_in(store, "paused") == [] and lines(markers, "p") == []


@pytest.mark.slow
def test_a_scheduler_killed_mid_run_and_restarted_finishes_the_run_once(
    tmp_path: Path, processes: Processes, store: Storage, invoke: Invoke
) -> None:
    path, markers = marked_dag(tmp_path, nap=3.0)
    first = processes.start("scheduler", str(path))
    result = invoke("trigger", str(path), "marked")
    assert result.exit_code == 0, result.output
    wait_for(lambda: len(lines(markers, "b")) == 1, 30, "task b to start")

    def b_recorded_running() -> bool:
        tis = store.runs.get_task_instances(runs_in(store, "marked")[0].run_id)
        return any(ti.task_id == "b" and ti.state is TaskState.RUNNING for ti in tis)

    wait_for(b_recorded_running, 30, "b's start to be recorded (the writer commits it)")
    first.kill()  # SIGKILL: nothing more can be recorded
    first.communicate()
    (run,) = runs_in(store, "marked")
    assert run.state is RunState.RUNNING
    # no scheduler: the listings say the run is running with nobody driving it
    (listed,) = json.loads(invoke("runs", "list", "--json").output)
    assert listed["state"] == "running"
    assert "its scheduler stopped" in listed["note"] and "a scheduler that starts" in listed["note"]
    assert "scheduler gone" in invoke("runs", "list").output
    assert (
        "its scheduler stopped"
        in json.loads(invoke("runs", "show", run.run_id, "--json").output)["note"]
    )
    second = processes.start("scheduler", str(path))
    wait_for(lambda: store.runs.get_run(run.run_id).state.finished, 60, "the resumed run")
    stop(second)
    assert store.runs.get_run(run.run_id).state is RunState.SUCCESS
    assert "note" not in json.loads(invoke("runs", "list", "--json").output)[0]
    assert len(lines(markers, "a")) == 1  # finished before the kill: not run again
    assert len(lines(markers, "b")) == 2  # its lost attempt, then a new try
    assert len(lines(markers, "c")) == 1
    tis = {ti.task_id: ti for ti in store.runs.get_task_instances(run.run_id)}
    assert (tis["a"].try_number, tis["b"].try_number, tis["c"].try_number) == (1, 2, 1)
    events = store.events.read_events(run.run_id, kinds=[EventKind.TASK_STATE])
    successes = [e.task_id for e in events if e.payload["state"] == "success"]
    assert sorted(successes) == ["a", "b", "c"]  # no success recorded twice


FLAKY_DAG = """
from datetime import datetime
from pathlib import Path
from partita import DAG, PythonOperator

MARKERS = Path({markers!r})

def mark(name):
    def task(run_id, **_):
        with open(MARKERS / name, "a") as f:
            f.write(run_id + "\\n")
        if name == "flaky" and not (MARKERS / "fixed").exists():
            raise ValueError("not fixed yet")
    return task

with DAG("flaky", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    ok = PythonOperator(task_id="ok", python_callable=mark("ok"))
    flaky = PythonOperator(task_id="flaky", python_callable=mark("flaky"))
    after = PythonOperator(task_id="after", python_callable=mark("after"))
    ok >> flaky >> after
"""


def test_a_retried_run_is_resumed_by_the_scheduler_running_only_the_cleared_tasks(
    tmp_path: Path, processes: Processes, store: Storage, invoke: Invoke
) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    path = tmp_path / "flaky.py"
    path.write_text(FLAKY_DAG.format(markers=str(markers)))
    failed = invoke("run", str(path), "flaky")
    assert failed.exit_code == 1, failed.output
    (run,) = runs_in(store, "flaky")
    assert run.state is RunState.FAILED
    (markers / "fixed").touch()
    retried = invoke("runs", "retry", run.run_id)
    assert retried.exit_code == 0, retried.output
    assert store.runs.get_run(run.run_id).state is RunState.QUEUED

    scheduler = processes.start("scheduler", str(path))
    wait_for(lambda: store.runs.get_run(run.run_id).state.finished, 60, "the retried run")
    stop(scheduler)
    assert store.runs.get_run(run.run_id).state is RunState.SUCCESS
    assert len(lines(markers, "ok")) == 1  # its success was kept: not run again
    assert len(lines(markers, "flaky")) == 2  # the failed try, then the retry
    assert len(lines(markers, "after")) == 1
    tis = {ti.task_id: ti for ti in store.runs.get_task_instances(run.run_id)}
    assert {t: ti.state for t, ti in tis.items()} == dict.fromkeys(
        ("ok", "flaky", "after"), TaskState.SUCCESS
    )
    assert (tis["ok"].try_number, tis["flaky"].try_number, tis["after"].try_number) == (1, 2, 1)
    assert runs_in(store, "flaky") == [store.runs.get_run(run.run_id)]  # no new run


@pytest.mark.slow
def test_a_scheduler_run_is_cancelled_and_the_scheduler_goes_on(
    tmp_path: Path, processes: Processes, store: Storage, invoke: Invoke
) -> None:
    sleepy = TEST_DAGS / "sleepy.py"
    scheduler = processes.start("scheduler", str(sleepy))
    assert invoke("trigger", str(sleepy), "sleepy").exit_code == 0

    def napping() -> bool:
        runs = runs_in(store, "sleepy")
        tis = store.runs.get_task_instances(runs[0].run_id) if runs else []
        return any(ti.task_id == "nap" and ti.state is TaskState.RUNNING for ti in tis)

    wait_for(napping, 60, "task nap to run")
    (run,) = runs_in(store, "sleepy")
    cancelled = processes.start("runs", "cancel", run.run_id, "--grace", "1", "--wait")
    out, err = cancelled.communicate(timeout=60)
    assert cancelled.returncode == 0, err
    assert f"Run {run.run_id} ended cancelled." in out
    tis = {ti.task_id: ti.state for ti in store.runs.get_task_instances(run.run_id)}
    assert tis == {
        "warm_up": TaskState.SUCCESS, "nap": TaskState.CANCELLED, "after": TaskState.CANCELLED
    }  # fmt: skip
    assert scheduler.poll() is None  # the scheduler goes on: it runs the next run
    assert invoke("trigger", str(sleepy), "sleepy").exit_code == 0
    wait_for(lambda: len(runs_in(store, "sleepy")) == 2 and napping(), 60, "the next run")
    code, _, _ = stop(scheduler)
    assert code == 0


# --- the scheduler's worker pool ----------------------------------------------------------

PARALLEL_DAG = """
import time
from datetime import datetime
from partita import DAG, PythonOperator

def nap():
    time.sleep(1.0)

with DAG("two_naps", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    PythonOperator(task_id="left", python_callable=nap)
    PythonOperator(task_id="right", python_callable=nap)
"""


def _process_tree(pid: int) -> list[int]:
    """The process ids under ``pid`` (the forkserver and the workers)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text()
            kids = [int(p) for p in children.split()]
        except OSError:  # gone meanwhile
            kids = []
        found.extend(kids)
        todo.extend(kids)
    return found


@pytest.mark.slow
def test_scheduler_workers_run_independent_tasks_at_once_and_stop_with_it(
    tmp_path: Path, processes: Processes, store: Storage, invoke: Invoke
) -> None:
    path = tmp_path / "two_naps.py"
    path.write_text(PARALLEL_DAG)
    scheduler = processes.start("scheduler", str(path), "--workers", "2")
    assert invoke("trigger", str(path), "two_naps").exit_code == 0

    def finished() -> bool:
        return any(r.state.finished for r in runs_in(store, "two_naps"))

    wait_for(finished, 60, "the triggered run of two_naps to end")
    (run,) = runs_in(store, "two_naps")
    assert run.state is RunState.SUCCESS
    tis = store.runs.get_task_instances(run.run_id)
    assert {ti.state for ti in tis} == {TaskState.SUCCESS}
    # At once: each 1 s task started before the other ended (a wall-time limit flakes
    # on a loaded machine; the overlap does not).
    first, second = sorted(tis, key=lambda ti: ti.start_date or run.start_date)
    assert first.end_date is not None and second.start_date is not None
    assert second.start_date < first.end_date, "the two independent tasks ran one after the other"
    tree = _process_tree(scheduler.pid)
    assert len(tree) >= 3  # the forkserver and the two workers
    code, out, err = stop(scheduler)
    assert code == 0 and "workers:   2 worker processes" in out, err
    assert "Traceback" not in err
    deadline = time.monotonic() + 10
    while any(pid_alive(pid) for pid in tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(pid_alive(pid) for pid in tree), "a worker outlived its scheduler"


# --- partita dev -------------------------------------------------------------------------


def test_ctrl_c_of_partita_dev_leaves_nothing_running(
    tmp_path: Path, processes: Processes, store: Storage, invoke: Invoke
) -> None:
    path, markers = marked_dag(tmp_path, nap=60.0)
    dev = processes.start("dev", str(path))
    assert invoke("trigger", str(path), "marked").exit_code == 0
    wait_for(lambda: len(lines(markers, "b")) == 1, 30, "task b to start")
    code, out, _ = stop(dev, signal.SIGINT)
    assert code == 0 and "Stopped (SIGINT)" in out
    (run,) = runs_in(store, "marked")
    assert run.state is RunState.FAILED
    states = {ti.task_id: ti.state for ti in store.runs.get_task_instances(run.run_id)}
    assert states == {"a": TaskState.SUCCESS, "b": TaskState.CANCELLED, "c": TaskState.CANCELLED}
    assert store.queue.list_schedulers() == []  # its heartbeat row is gone too


def test_a_second_partita_dev_on_the_same_home_is_refused(
    tmp_path: Path, processes: Processes, cli_home: Path
) -> None:
    path, _ = marked_dag(tmp_path)
    first = processes.start("dev", str(path))
    wait_for(lambda: (cli_home / "scheduler.lock").exists(), 30, "the lock file")
    time.sleep(1)
    second = processes.start("dev", str(path))
    _, err = second.communicate(timeout=60)
    assert second.returncode == 2
    assert err.startswith("Error: a partita scheduler is already running on ")
    assert f"pid {first.pid}" in err and len(err.strip().splitlines()) == 1
    assert first.poll() is None


# --- partita trigger ---------------------------------------------------------------------


def test_trigger_refuses_unknown_and_paused_dags_and_bad_conf_queueing_nothing(
    tmp_path: Path, invoke: Invoke, store: Storage
) -> None:
    path, _ = marked_dag(tmp_path)
    unknown = invoke("trigger", "no_such_dag")
    assert unknown.exit_code == 2 and "DAG 'no_such_dag' is not known" in unknown.stderr
    paused = invoke("trigger", str(path), "paused")
    assert paused.exit_code == 2
    assert paused.stderr.strip() == (
        "Error: DAG 'paused' is paused: unpause it with 'partita dags unpause paused' to trigger it"
    )
    bad = invoke("trigger", str(path), "marked", "--conf", '{"n": "many"}')
    assert bad.exit_code == 2 and bad.stderr.startswith("Error: ") and "'n'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert store.runs.list_runs() == []
    ok = invoke("trigger", "marked", "--conf", '{"n": 2}')  # now known to the registry
    assert ok.exit_code == 0 and ok.stdout.startswith("Queued run manual__")
    (run,) = store.runs.list_runs()
    assert (run.state, run.conf) == (RunState.QUEUED, {"n": 2})


@pytest.mark.slow
def test_trigger_wait_exits_0_on_success_and_1_on_failure(
    tmp_path: Path, processes: Processes, store: Storage
) -> None:
    path, markers = marked_dag(tmp_path)
    processes.start("scheduler", str(path))
    ok = processes.start("trigger", str(path), "marked", "--wait")
    out, _ = ok.communicate(timeout=60)
    assert ok.returncode == 0 and "success" in out
    failing = processes.start("trigger", str(path), "failing", "--wait")
    out, _ = failing.communicate(timeout=60)
    assert failing.returncode == 1 and "failed" in out
    assert len(lines(markers, "a")) == 1 and len(lines(markers, "fail")) == 1


@pytest.mark.slow
def test_trigger_wait_says_when_no_scheduler_is_running(
    tmp_path: Path, processes: Processes
) -> None:
    path, _ = marked_dag(tmp_path)
    waiting = processes.start("trigger", str(path), "marked", "--wait")
    assert waiting.stderr is not None
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(waiting.stderr), daemon=True)
    reader.start()  # the notice comes after a few seconds: read until it does (or 120 s)
    notice = "No scheduler is running on this database"
    wait_for(lambda: any(notice in line for line in seen), 120, "the no-scheduler notice")
    assert waiting.poll() is None  # it says so, and goes on waiting
    waiting.send_signal(signal.SIGINT)
    waiting.wait(timeout=30)
    reader.join(timeout=30)


# --- two schedulers on PostgreSQL --------------------------------------------------------

PG_SECRET_KEY = "scheduler-test-signing-key-0123456789abcdef"
HOURLY_DAG = """
import os
from datetime import datetime
from partita import DAG, PythonOperator

MARKERS = {markers!r}

def mark(run_id, ti, **_):
    fd = os.open(MARKERS, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, f"{{run_id}} {{ti.task_id}} {{os.getpid()}}\\n".encode())
    os.close(fd)

with DAG("hourly", schedule="@hourly", start_date=datetime(2024, 1, 1),
         end_date=datetime(2024, 1, 9, 23), catchup=True, max_active_runs=8) as dag:
    PythonOperator(task_id="one", python_callable=mark) >> PythonOperator(
        task_id="two", python_callable=mark)
"""


@pytest.mark.slow
@pytest.mark.postgres
def test_two_schedulers_on_postgres_run_each_scheduled_run_once(
    tmp_path: Path, pg_clean_database_url: str, cli_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    markers = tmp_path / "markers.txt"
    path = tmp_path / "hourly.py"
    path.write_text(HOURLY_DAG.format(markers=str(markers)))
    env = {"PARTITA_DATABASE_URL": pg_clean_database_url, "PARTITA_SECRET_KEY": PG_SECRET_KEY}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    processes = Processes(cli_home)
    try:
        schedulers = [processes.start("scheduler", str(path), **env) for _ in range(2)]
        # tasks run in each scheduler's worker processes: its process tree, sampled while
        # the runs go on (a worker may be replaced before the end)
        trees: list[set[str]] = [set(), set()]

        def sample_trees() -> None:
            for tree, scheduler in zip(trees, schedulers, strict=True):
                tree.update(str(pid) for pid in _process_tree(scheduler.pid))

        with open_storage(load_settings()) as store:

            def finished() -> int:
                sample_trees()
                return sum(r.state.finished for r in runs_in(store, "hourly"))

            wait_for(lambda: finished() >= 216, 300, "216 finished runs")
            time.sleep(1.5)
            runs = runs_in(store, "hourly")
        sample_trees()
        for scheduler in schedulers:
            assert stop(scheduler)[0] == 0
    finally:
        processes.stop_all()
    assert len(runs) == len({r.logical_date for r in runs}) == 216  # Jan 1 00:00 .. Jan 9 23:00
    assert {r.state for r in runs} == {RunState.SUCCESS}
    marks = [line.split() for line in markers.read_text().splitlines()]
    done = [(run_id, task_id) for run_id, task_id, _ in marks]
    assert len(done) == len(set(done)) == 432  # each task instance ran exactly once
    pids = {pid for _, _, pid in marks}
    # Which scheduler claims a run is a race: a faster one may claim all of them (seen under
    # load since schedulers step on every task outcome), so only the once-each holds.
    assert pids <= trees[0] | trees[1]
    # max_active_runs=8 held across both schedulers
    edges = sorted(
        [(r.start_date, 1) for r in runs if r.start_date]
        + [(r.end_date, -1) for r in runs if r.end_date]
    )
    at_once = most = 0
    for _, step in edges:
        at_once += step
        most = max(most, at_once)
    assert most <= 8


def test_pools_set_and_list(invoke: Invoke, store: Storage) -> None:
    assert invoke("pools", "set", "warehouse", "3", "--description", "the DB").exit_code == 0
    listed = invoke("pools", "list")
    assert listed.exit_code == 0
    assert "warehouse" in listed.stdout and "default_pool" in listed.stdout
    assert [(p.name, p.slots) for p in store.pools.list_pools()] == [("warehouse", 3)]
    bad = invoke("pools", "set", "warehouse", "-1")
    assert bad.exit_code == 2 and bad.stderr.startswith("Error: ")


def test_a_scheduler_refuses_a_database_of_a_newer_partita(
    tmp_path: Path, invoke: Invoke, store: Storage
) -> None:
    path, _ = marked_dag(tmp_path)
    engine = create_sql_engine(load_settings().database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    finally:
        engine.dispose()
    result = invoke("scheduler", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and "upgrade partita" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "partita scheduler" not in result.stdout  # refused before serving
