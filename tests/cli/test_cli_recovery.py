"""A ``partita run`` that is killed never stays recorded as running.

SIGTERM is handled (the driver records the failure itself); SIGKILL cannot
be, so the next command that opens the database records it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_helpers import TEST_DAGS, partita_command, subprocess_env, table_rows

from partita.cli.recovery import fail_orphaned_runs, pid_alive
from partita.definitions.states import RunState, TaskState
from partita.engine.task_runner import HOSTNAME
from partita.storage.base import Storage
from partita.storage.files import temp_marker
from partita.storage.records import DagRunRecord, EventKind, TaskInstanceRecord, WriteBatch
from partita.storage.sql import SqlStorage

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


# -- recovery that cannot be fooled ----------------------------------------------------------
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_url(request: pytest.FixtureRequest) -> str:
    """A metadata database that several stores (connections) open at once."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_clean_database_url"))


def record_run(
    storage: Storage,
    run_id: str,
    *,
    hostname: str,
    pid: int | None,
    started: datetime,
    heartbeat: datetime | None,
    busy_since: datetime | None = None,
) -> None:
    run = DagRunRecord(
        run_id, "d", "v1", RunState.RUNNING, queued_at=started, start_date=started,
        hostname=hostname, pid=pid, heartbeat_at=heartbeat,
    )  # fmt: skip
    tis = [
        TaskInstanceRecord(run_id, "done", try_number=1, state=TaskState.SUCCESS,
                           start_date=started, end_date=started),
        TaskInstanceRecord(run_id, "busy", try_number=1, state=TaskState.RUNNING,
                           start_date=busy_since or started),
    ]  # fmt: skip
    storage.write(WriteBatch(runs=[run], task_instances=tis))


def failure_messages(storage: Storage, run_id: str) -> list[str]:
    events = storage.events.read_events(run_id, kinds=[EventKind.RUN_STATE])
    return [str(e.payload.get("message")) for e in events if e.payload["state"] == "failed"]


def test_a_reused_pid_does_not_keep_a_dead_run_running(cli_storage: Callable[[], Storage]) -> None:
    storage = cli_storage()
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    newcomer = subprocess.Popen(["sleep", "30"])  # alive, but started long after the run
    try:
        record_run(
            storage, "reused", hostname=HOSTNAME, pid=newcomer.pid, started=an_hour_ago,
            heartbeat=an_hour_ago,
        )  # fmt: skip
        record_run(
            storage, "mine", hostname=HOSTNAME, pid=os.getppid(), started=datetime.now(UTC),
            heartbeat=datetime.now(UTC),
        )  # fmt: skip
        assert fail_orphaned_runs(storage) == ["reused"]
    finally:
        newcomer.kill()
        newcomer.wait()
    assert storage.runs.get_run("mine").state is RunState.RUNNING
    assert storage.runs.get_run("reused").state is RunState.FAILED
    [message] = failure_messages(storage, "reused")
    assert message.startswith(f"the process running it (pid {newcomer.pid}) is gone; that pid")


def test_a_dead_run_ends_at_its_last_sign_of_life(cli_storage: Callable[[], Storage]) -> None:
    storage = cli_storage()
    started = datetime.now(UTC) - timedelta(minutes=30)
    beat = started + timedelta(minutes=10)
    busy_since = beat + timedelta(seconds=3)  # a task began after the last heartbeat
    record_run(
        storage, "dead", hostname=HOSTNAME, pid=dead_pid(), started=started, heartbeat=beat,
        busy_since=busy_since,
    )  # fmt: skip
    assert fail_orphaned_runs(storage) == ["dead"]
    run = storage.runs.get_run("dead")
    assert run.end_date == busy_since
    busy = {ti.task_id: ti for ti in storage.runs.get_task_instances("dead")}["busy"]
    assert (busy.state, busy.end_date) == (TaskState.CANCELLED, busy_since)


def test_two_recoverers_at_once_record_one_failure(shared_url: str, tmp_path: Path) -> None:
    stores = [SqlStorage(shared_url, tmp_path / "storage") for _ in range(4)]
    try:
        now = datetime.now(UTC)
        record_run(stores[0], "dead", hostname=HOSTNAME, pid=dead_pid(), started=now, heartbeat=now)
        barrier = threading.Barrier(len(stores))

        def recover(store: Storage) -> list[str]:
            barrier.wait()
            return fail_orphaned_runs(store)

        with ThreadPoolExecutor(len(stores)) as pool:
            results = list(pool.map(recover, stores))
        assert sorted(results) == [[], [], [], ["dead"]]
        assert len(failure_messages(stores[0], "dead")) == 1
    finally:
        for store in stores:
            store.close()


def test_runs_of_another_host_are_recovered_once_their_heartbeat_is_stale(
    shared_url: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    with SqlStorage(shared_url, tmp_path / "storage") as storage:
        stale, fresh = now - timedelta(seconds=120), now - timedelta(seconds=10)
        for run_id, beat in (("stale", stale), ("fresh", fresh)):
            record_run(
                storage, run_id, hostname="another-host", pid=os.getpid(), started=stale,
                heartbeat=beat,
            )  # fmt: skip
        assert fail_orphaned_runs(storage, heartbeat_timeout=60) == ["stale"]
        assert storage.runs.get_run("fresh").state is RunState.RUNNING
        run = storage.runs.get_run("stale")
        assert (run.state, run.end_date) == (RunState.FAILED, stale)
        [message] = failure_messages(storage, "stale")
        assert message.startswith("no heartbeat from its process")


def test_the_temporary_files_a_dead_run_left_are_removed(
    cli_storage: Callable[[], Storage],
) -> None:
    storage = cli_storage()
    assert storage.storage_dir is not None
    folder = storage.storage_dir / "outputs" / "dead" / "t" / "-1"
    folder.mkdir(parents=True)
    pid = dead_pid()
    leftover = folder / f".v.pkl{temp_marker(HOSTNAME, pid)}abc.tmp"
    leftover.write_bytes(b"half")
    someone_elses = folder / f".v.pkl{temp_marker(HOSTNAME, os.getpid())}abc.tmp"
    someone_elses.write_bytes(b"in progress")
    now = datetime.now(UTC)
    record_run(storage, "dead", hostname=HOSTNAME, pid=pid, started=now, heartbeat=now)

    assert fail_orphaned_runs(storage) == ["dead"]
    assert not leftover.exists()
    assert someone_elses.exists()


def test_a_schedulers_run_is_left_to_the_schedulers(shared_url: str, tmp_path: Path) -> None:
    stale = datetime.now(UTC) - timedelta(seconds=600)
    with SqlStorage(shared_url, tmp_path / "storage") as storage:
        for run_id, host in (("here", HOSTNAME), ("there", "another-host")):
            record_run(storage, run_id, hostname=host, pid=None, started=stale, heartbeat=stale)
        # no pid: a scheduler drives it, and a scheduler resumes it (partita.scheduler)
        assert fail_orphaned_runs(storage, heartbeat_timeout=60) == []
        assert storage.runs.get_run("there").state is RunState.RUNNING
