"""The Celery executor on the machine's real Redis and RabbitMQ: scheduler and workers as
subprocesses, on SQLite and PostgreSQL; the worker's handling of bad messages in-process."""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_helpers import partita_command, subprocess_env
from test_cli_scheduler import Processes, wait_for
from test_cli_scheduler import processes as processes  # the fixture

from partita.definitions.states import RunState, TaskState
from partita.engine.work import RunInfo, TaskWork
from partita.settings import load_settings
from partita.storage.base import Storage
from partita.storage.factory import open_storage
from partita.storage.records import DagRunRecord, EventKind, TaskInstanceRecord, WriteBatch

celery = pytest.importorskip("celery")

from partita.executors.celery_app import TASK_NAME, TaskMessage, make_app  # noqa: E402
from partita.executors.celery_worker import TaskRunner  # noqa: E402

REDIS = ("127.0.0.1", 6379)
RABBITMQ = ("127.0.0.1", 5672)

DAG_FILE = """
import datetime, os, time
from partita import dag, task

MARKERS = {markers!r}


def mark(name):
    with open(os.path.join(MARKERS, name), "a") as out:
        out.write(f"{{os.getpid()}}\\n")


@dag(schedule=None, start_date=datetime.datetime(2024, 1, 1))
def cel():
    @task
    def first():
        mark("first")
        return [1, 2, 3]

    @task
    def double(x):
        mark("double")
        return x * 2

    @task
    def total(xs):
        mark("total")
        return sum(xs)

    @task
    def biggest(xs):
        mark("biggest")
        return max(xs)

    @task(queue="q2")
    def last(a, b):
        mark("last")
        print("last says", a + b)
        return a + b

    xs = double.expand(x=first())
    last(total(xs), biggest(xs))


cel()


@dag(schedule=None, start_date=datetime.datetime(2024, 1, 1))
def slow():
    @task
    def nap():
        mark("nap-start")
        time.sleep(4)
        mark("nap-end")

    nap()


slow()
"""


def _listening(address: tuple[str, int]) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(address) == 0


def broker_url(kind: str) -> str:
    if kind == "redis":
        if not _listening(REDIS):
            pytest.skip("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
        return f"redis://127.0.0.1:6379/{random.randint(1, 15)}"
    if not _listening(RABBITMQ):
        pytest.skip("RabbitMQ is not running on 127.0.0.1:5672 (.ci/run starts it)")
    return "amqp://guest:guest@127.0.0.1:5672//"


@pytest.fixture
def dag_file(tmp_path: Path) -> tuple[Path, Path]:
    markers = tmp_path / "markers"
    markers.mkdir()
    path = tmp_path / "cel_dags.py"
    path.write_text(DAG_FILE.format(markers=str(markers)))
    return path, markers


def setup_env(request: pytest.FixtureRequest, broker: str, database: str) -> dict[str, str]:
    env = {
        "PARTITA_EXECUTOR": "celery",
        "PARTITA_CELERY_BROKER_URL": broker_url(broker),
        "PARTITA_WORKER_HEARTBEAT_INTERVAL": "0.5",
        "PARTITA_WORKER_HEARTBEAT_TIMEOUT": "3",
    }
    if database == "postgres":
        env["PARTITA_DATABASE_URL"] = request.getfixturevalue("pg_clean_database_url")
        env["PARTITA_SECRET_KEY"] = "celery-test-signing-key-0123456789abcdef"
    return env


def open_store(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Storage:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return open_storage(load_settings())


def marks(markers: Path, name: str) -> list[str]:
    path = markers / name
    return path.read_text().splitlines() if path.exists() else []


def trigger(processes: Processes, dag_id: str, env: dict[str, str]) -> str:
    """Queue a run of ``dag_id`` once the scheduler has registered it; its run id."""
    queued: list[str] = []

    def try_it() -> bool:
        done = processes.start("trigger", dag_id, **env)
        out, err = done.communicate(timeout=60)
        assert done.returncode == 0 or "is not known" in err, err
        queued.extend(out.split()[2:3])  # "Queued run <id> of DAG <dag>"
        return bool(queued)

    wait_for(try_it, 60, f"the scheduler to register DAG {dag_id!r}")
    return queued[0]


def ended(storage: Storage, run_id: str) -> bool:
    return storage.runs.get_run(run_id).state.finished


@pytest.mark.slow
@pytest.mark.parametrize(
    ("broker", "database"),
    [("redis", "sqlite"), pytest.param("amqp", "postgres", marks=pytest.mark.postgres)],
)
def test_a_scheduler_and_two_workers_run_chain_fan_out_and_mapped_tasks_with_routing(
    request: pytest.FixtureRequest,
    processes: Processes,
    dag_file: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    broker: str,
    database: str,
) -> None:
    path, markers = dag_file
    env = setup_env(request, broker, database)
    plain = processes.start("worker", str(path), "--queues", "default", **env)
    routed = processes.start("worker", str(path), "--queues", "default,q2", **env)
    scheduler = processes.start("scheduler", str(path), **env)
    with open_store(env, monkeypatch) as storage:
        run_id = trigger(processes, "cel", env)
        wait_for(lambda: ended(storage, run_id), 60, "the run to end")

        assert storage.runs.get_run(run_id).state is RunState.SUCCESS
        tis = {(ti.task_id, ti.map_index): ti for ti in storage.runs.get_task_instances(run_id)}
        assert sorted(tis) == [
            ("biggest", -1), ("double", 0), ("double", 1), ("double", 2),
            ("first", -1), ("last", -1), ("total", -1),
        ]  # fmt: skip
        assert all(ti.state is TaskState.SUCCESS and ti.try_number in (0, 1) for ti in tis.values())
        # queue= routing: "last" ran on the worker that listens on q2, and only there
        assert tis[("last", -1)].hostname.startswith("partita-default+q2@")
        assert tis[("last", -1)].hostname.endswith(f".{routed.pid}")
        assert marks(markers, "last") == [str(routed.pid)]
        assert len(marks(markers, "double")) == 3
        output = storage.outputs.get_record(run_id, "last", -1, "return_value")
        assert output is not None and storage.outputs.load(output) == 18
        logged = [line.message for line in storage.logs.read_lines(run_id, "last", -1, 1)]
        assert "last says 18" in logged

        # A duplicate of a message whose try succeeded is dropped: nothing runs, nothing recorded.
        settings = load_settings()
        app = make_app(settings.celery_broker_url, 3)
        run = storage.runs.get_run(run_id)
        info = RunInfo(
            run_id, "cel", run.run_type, run.logical_date, run.data_interval_start,
            run.data_interval_end, dict(run.conf), {}, str(path),
        )  # fmt: skip
        from partita import __version__

        again = TaskMessage(__version__, info, str(path), None, TaskWork("last", -1, 1), {})
        app.send_task(TASK_NAME, args=(again.encode(),), queue="q2")
        app.close()
        reports = lambda: storage.events.read_events(  # noqa: E731
            run_id, task_id="last", kinds=[EventKind.TASK_REPORTED]
        )
        with suppress(AssertionError):
            wait_for(lambda: len(reports()) > 1, 3, "a second report (there must be none)")
        assert len(reports()) == 1
        assert marks(markers, "last") == [str(routed.pid)]
        [ti] = [t for t in storage.runs.get_task_instances(run_id) if t.task_id == "last"]
        assert ti.state is TaskState.SUCCESS
    for process in (scheduler, plain, routed):
        process.send_signal(signal.SIGTERM)
    _, routed_err = routed.communicate(timeout=30)
    assert "was claimed already (or is gone); message dropped" in routed_err
    _, scheduler_err = scheduler.communicate(timeout=30)
    assert "Traceback" not in scheduler_err


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["redis", "amqp"])
def test_a_worker_killed_mid_task_loses_its_try_and_another_worker_runs_it_once(
    request: pytest.FixtureRequest,
    processes: Processes,
    dag_file: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    broker: str,
) -> None:
    path, markers = dag_file
    env = setup_env(request, broker, "sqlite")
    first = processes.start("worker", str(path), **env)
    processes.start("scheduler", str(path), **env)
    with open_store(env, monkeypatch) as storage:
        run_id = trigger(processes, "slow", env)
        wait_for(lambda: len(marks(markers, "nap-start")) == 1, 30, "nap to start")
        second = processes.start("worker", str(path), **env)
        first.send_signal(signal.SIGKILL)
        wait_for(lambda: ended(storage, run_id), 60, "the run to end")

        assert storage.runs.get_run(run_id).state is RunState.SUCCESS
        [ti] = storage.runs.get_task_instances(run_id)
        assert (ti.state, ti.try_number) == (TaskState.SUCCESS, 2)
        assert ti.hostname is not None and ti.hostname.endswith(f".{second.pid}")
        assert marks(markers, "nap-start") == [str(first.pid), str(second.pid)]
        assert marks(markers, "nap-end") == [str(second.pid)]
        lost = storage.events.read_events(run_id, kinds=[EventKind.TASK_LOST])
        assert len(lost) == 1 and "did not answer" in lost[0].payload["reason"]
        states = storage.events.read_events(run_id, kinds=[EventKind.TASK_STATE])
        assert [e.payload["state"] for e in states].count("success") == 1


class Forwarder:
    """A TCP port that forwards to ``target`` once ``open()`` is called (closed before)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.server: socket.socket | None = None
        self.connections: list[socket.socket] = []

    def open(self) -> None:
        self.server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self.server is not None
        with suppress(OSError):
            while True:
                client, _ = self.server.accept()
                upstream = socket.create_connection(self.target)
                self.connections += [client, upstream]
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for connection in self.connections:
            connection.close()


@pytest.mark.slow
def test_a_broker_that_is_down_keeps_tasks_queued_and_the_run_goes_on_when_it_is_back(
    request: pytest.FixtureRequest,
    processes: Processes,
    dag_file: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    cli_home: Path,
    tmp_path: Path,
) -> None:
    path, markers = dag_file
    env = setup_env(request, "redis", "sqlite")
    db = env["PARTITA_CELERY_BROKER_URL"].rsplit("/", 1)[1]
    forwarder = Forwarder(REDIS)
    down_url = f"redis://127.0.0.1:{forwarder.port}/{db}"
    log = tmp_path / "scheduler.log"
    with log.open("w") as sink:
        scheduler = subprocess.Popen(
            partita_command("scheduler", str(path)),
            env={**subprocess_env(cli_home), **env, "PARTITA_CELERY_BROKER_URL": down_url},
            stdout=sink, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    processes.started.append(scheduler)
    try:
        with open_store(env, monkeypatch) as storage:
            run_id = trigger(processes, "cel", env)
            wait_for(lambda: "unreachable" in log.read_text(), 30, "the scheduler to log it")
            assert f"the Celery broker {down_url} is unreachable" in log.read_text()
            assert "task instances stay queued" in log.read_text()
            states = {ti.task_id: ti.state for ti in storage.runs.get_task_instances(run_id)}
            assert states["first"] is TaskState.QUEUED
            assert storage.runs.get_run(run_id).state is RunState.RUNNING
            assert scheduler.poll() is None

            forwarder.open()
            processes.start("worker", str(path), "--queues", "default,q2", **env)
            wait_for(lambda: ended(storage, run_id), 60, "the run to end once the broker is up")
            assert storage.runs.get_run(run_id).state is RunState.SUCCESS
            assert len(marks(markers, "first")) == 1
    finally:
        scheduler.send_signal(signal.SIGTERM)
        scheduler.wait(30)
        forwarder.close()
    assert f"the Celery broker {down_url} is back after" in log.read_text()
    assert "Traceback" not in log.read_text()


# -- the worker's handling of one message, in-process on a real SQLite store ------------------


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Storage]:
    from partita.storage.sql import SqlStorage

    with SqlStorage(sqlite_url, Path(sqlite_url.removeprefix("sqlite:///")).parent) as storage:
        yield storage


def queued_instance(storage: Storage, dag_file: str) -> TaskMessage:
    now = datetime.now(UTC)
    run = DagRunRecord("r1", "cel", "v1", RunState.RUNNING, start_date=now)
    ti = TaskInstanceRecord("r1", "first", try_number=1, state=TaskState.QUEUED)
    storage.write(WriteBatch(runs=[run], task_instances=[ti]))
    info = RunInfo("r1", "cel", "manual", now, now, now, {}, {}, dag_file)
    from partita import __version__

    return TaskMessage(__version__, info, dag_file, None, TaskWork("first", -1, 1), {})


def reported_error(storage: Storage) -> str:
    [ti] = storage.runs.get_task_instances("r1")
    assert (ti.state, ti.try_number) == (TaskState.FAILED, 1)
    [event] = storage.events.read_events("r1", kinds=[EventKind.TASK_REPORTED])
    return str(event.payload["error"])


def test_a_worker_without_the_dag_file_fails_the_try_with_that_error(
    sqlite_store: Storage, tmp_path: Path
) -> None:
    missing = str(tmp_path / "not_here.py")
    message = queued_instance(sqlite_store, missing)
    runner = TaskRunner(sqlite_store, "partita-default@test.1")
    try:
        runner.handle(message.encode())
    finally:
        runner.close()
    error = reported_error(sqlite_store)
    assert "FileNotFoundError" in error and "not_here.py" in error


def test_a_worker_whose_dag_file_does_not_import_fails_the_try_with_the_import_error(
    sqlite_store: Storage, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import no_such_module_here\n")
    message = queued_instance(sqlite_store, str(broken))
    runner = TaskRunner(sqlite_store, "partita-default@test.1")
    try:
        runner.handle(message.encode())
    finally:
        runner.close()
    error = reported_error(sqlite_store)
    assert "did not import in the worker" in error and "no_such_module_here" in error


SECRET_DAG = """
import datetime
from partita import Connection, dag, task


@dag(schedule=None, start_date=datetime.datetime(2024, 1, 1))
def cel():
    @task
    def first():
        conn = Connection.get("warehouse")
        print("password", conn.password)
        return conn.host

    first()


cel()
"""


def test_a_task_run_by_a_worker_reads_the_worker_store_connections_masked_in_its_log(
    sqlite_store: Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from partita import Connection

    monkeypatch.setenv("PARTITA_HOME", str(tmp_path / "elsewhere"))  # no settings store
    path = tmp_path / "secret_dag.py"
    path.write_text(SECRET_DAG)
    sqlite_store.connections.set_connection(
        Connection("warehouse", conn_type="postgres", host="dw", password="pw-celery-1234")
    )
    runner = TaskRunner(sqlite_store, "partita-default@test.1")
    try:
        runner.handle(queued_instance(sqlite_store, str(path)).encode())
    finally:
        runner.close()
    [ti] = sqlite_store.runs.get_task_instances("r1")
    assert ti.state is TaskState.SUCCESS
    [record] = sqlite_store.outputs.list_records("r1")
    assert sqlite_store.outputs.load(record) == "dw"
    lines = [line.message for line in sqlite_store.logs.read_lines("r1", "first")]
    assert "password ***" in lines and not any("pw-celery-1234" in line for line in lines)


def test_a_message_from_another_partita_version_is_refused_with_both_versions(
    sqlite_store: Storage, dag_file: tuple[Path, Path]
) -> None:
    from msgspec.structs import replace

    from partita import __version__

    path, markers = dag_file
    message = replace(queued_instance(sqlite_store, str(path)), partita_version="0.0.1")
    runner = TaskRunner(sqlite_store, "partita-default@test.1")
    try:
        runner.handle(message.encode())
    finally:
        runner.close()
    error = reported_error(sqlite_store)
    assert (
        f"the scheduler runs partita 0.0.1 but worker partita-default@test.1 runs "
        f"partita {__version__}" in error
    )
    assert marks(markers, "first") == []


def test_worker_refuses_an_empty_queue_name_in_one_line(processes: Processes) -> None:
    done = processes.start("worker", "--queues", "default,,q2")
    _, err = done.communicate(timeout=60)
    assert done.returncode == 2
    assert "empty queue name" in err and "Traceback" not in err


def test_scheduler_refuses_workers_with_the_celery_executor(
    processes: Processes, dag_file: tuple[Path, Path]
) -> None:
    done = processes.start(
        "scheduler", str(dag_file[0]), "--workers", "2", PARTITA_EXECUTOR="celery"
    )
    _, err = done.communicate(timeout=60)
    assert done.returncode == 2
    assert "start 'partita worker' processes instead" in err and "Traceback" not in err


def test_an_unknown_executor_is_refused_naming_the_setting(processes: Processes) -> None:
    done = processes.start("scheduler", ".", PARTITA_EXECUTOR="dask")
    _, err = done.communicate(timeout=60)
    assert done.returncode != 0
    assert "executor must be one of local, celery, got 'dask'" in err
    assert "Traceback" not in err
