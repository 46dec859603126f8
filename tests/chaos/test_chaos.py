"""The chaos test: two schedulers and two Celery workers on PostgreSQL and Redis, while a
driver SIGKILLs one of them at random moments and restarts it, at least 50 times.

A stream of runs of ``chaos_dag.py`` (mapping, a flaky task with retries, a branch, a
task that fails its run on purpose) goes through them meanwhile. Afterwards every run
must have ended as an in-process ``dag.test()`` with the same conf ends (run state,
every task instance's state, the last task's output); every task instance that ran has
its side effect at least once; every success is recorded once (one ``task_state``
success event); nothing is left queued or running. The figures are printed
(``pytest -s``). ``CHAOS_KILLS=N`` changes the number of kills (50 by default).
"""

from __future__ import annotations

import os
import random
import runpy
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from partita.definitions.dag import DAG
from partita.definitions.states import RunState, TaskState
from partita.engine.manual_run import queue_run
from partita.settings import load_settings
from partita.storage.base import Storage
from partita.storage.factory import open_storage
from partita.storage.records import EventKind

pytest.importorskip("celery")

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DAG_FILE = Path(__file__).with_name("chaos_dag.py")
#: Kills the driver makes at least (the issue asks for 50; ``CHAOS_KILLS`` to debug).
KILLS = int(os.environ.get("CHAOS_KILLS", "50"))
#: Runs queued per wave; a wave is queued every ``WAVE_EVERY`` kills.
WAVE, WAVE_EVERY = 3, 3
#: Seconds between two kills (uniformly drawn).
PAUSE = (0.5, 2.5)
#: The confs of the runs, in turn: mapping widths, both branches, doomed runs.
CONFS: list[dict[str, Any]] = [
    {"n": 3, "pick": "evens", "doomed": False},
    {"n": 5, "pick": "odds", "doomed": False},
    {"n": 2, "pick": "evens", "doomed": True},
    {"n": 4, "pick": "odds", "doomed": False},
    {"n": 0, "pick": "evens", "doomed": False},
    {"n": 6, "pick": "odds", "doomed": True},
]
UNFINISHED_TI = {TaskState.QUEUED, TaskState.RUNNING, TaskState.SCHEDULED, TaskState.NONE}


def _redis_up() -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", 6379)) == 0


@dataclass
class Cluster:
    """The four processes (2 schedulers, 2 workers), restartable by slot."""

    env: dict[str, str]
    logs: Path
    queue: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    starts: Counter[str] = field(default_factory=Counter)

    def command(self, slot: str) -> list[str]:
        base = [sys.executable, "-m", "partita.cli.main"]
        if slot.startswith("scheduler"):
            return [*base, "scheduler", str(DAG_FILE)]
        return [*base, "worker", str(DAG_FILE), "--queues", self.queue, "--concurrency", "4"]

    def start(self, slot: str) -> None:
        self.starts[slot] += 1
        with (self.logs / f"{slot}.log").open("ab") as sink:
            sink.write(f"==== start {self.starts[slot]} ====\n".encode())
            sink.flush()
            self.processes[slot] = subprocess.Popen(
                self.command(slot), env=self.env, stdout=sink, stderr=subprocess.STDOUT
            )

    def kill_and_restart(self, slot: str) -> None:
        process = self.processes[slot]
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        self.start(slot)

    def stop(self) -> dict[str, int | None]:
        """SIGTERM every process; their exit codes (a hung one is killed: None)."""
        codes: dict[str, int | None] = {}
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for slot, process in self.processes.items():
            try:
                codes[slot] = process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                codes[slot] = None
        return codes

    def log_tail(self, lines: int = 40) -> str:
        parts = []
        for path in sorted(self.logs.glob("*.log")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path.name}\n" + "\n".join(tail))
        return "\n".join(parts)


@pytest.fixture
def cluster(
    tmp_path: Path, pg_clean_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Cluster]:
    if not _redis_up():
        pytest.skip("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
    home = tmp_path / "home"
    settings = {
        "PARTITA_HOME": str(home),
        "PARTITA_DATABASE_URL": pg_clean_database_url,
        "PARTITA_SECRET_KEY": "chaos-test-signing-key-0123456789abcdef",
        "PARTITA_EXECUTOR": "celery",
        "PARTITA_CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{random.randint(1, 15)}",
        "PARTITA_WORKER_HEARTBEAT_INTERVAL": "0.5",
        "PARTITA_WORKER_HEARTBEAT_TIMEOUT": "3",
        # a task instance may be caught by several kills; the rule for lost
        # attempts must not fail it (each loss is still a new try, checked below)
        "PARTITA_MAX_LOST_ATTEMPTS": "20",
        "PARTITA_MAX_CONCURRENT_RUNS": "12",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    effects = tmp_path / "effects.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTITA_")}
    env.update(settings, CHAOS_EFFECTS=str(effects), PYTHONUNBUFFERED="1")
    logs = tmp_path / "logs"
    logs.mkdir()
    # a queue of its own: no other test's worker on this Redis takes (and drops) its messages
    running = Cluster(env, logs, queue=f"chaos-{uuid.uuid4().hex[:8]}")
    env["CHAOS_QUEUE"] = running.queue
    try:
        yield running
    finally:
        for process in running.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()


def _expected(dag: DAG) -> dict[int, tuple[RunState, dict[tuple[str, int], TaskState], Any]]:
    """What each conf's run reaches without kills: an in-process ``dag.test()``."""
    expected = {}
    for number, conf in enumerate(CONFS):
        result = dag.test(conf, verbose=False)
        states = {(ti.task_id, ti.map_index): ti.state for ti in result.task_instances}
        output = result.output("report") if result.state is RunState.SUCCESS else None
        expected[number] = (result.state, states, output)
    return expected


def _wait(condition: Any, timeout: float, what: str, cluster: Cluster) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{cluster.log_tail()}")


def test_schedulers_and_celery_workers_killed_50_times_lose_and_repeat_nothing(
    cluster: Cluster,
) -> None:
    dag: DAG = runpy.run_path(str(DAG_FILE))["the_dag"]
    expected = _expected(dag)
    rng = random.Random()
    slots = ["scheduler-1", "scheduler-2", "worker-1", "worker-2"]
    with open_storage(load_settings()) as storage:
        for slot in slots:
            cluster.start(slot)
        _wait(lambda: storage.registry.get_dag("chaos") is not None, 90, "DAG chaos", cluster)
        conf_of: dict[str, int] = {}

        def wave() -> None:
            for _ in range(WAVE):
                number = len(conf_of) % len(CONFS)
                conf_of[queue_run(storage, dag, CONFS[number], None).run_id] = number

        kills: Counter[str] = Counter()
        started = time.monotonic()
        wave()
        while sum(kills.values()) < KILLS:
            time.sleep(rng.uniform(*PAUSE))
            slot = rng.choice(slots)
            cluster.kill_and_restart(slot)
            kills[slot] += 1
            if sum(kills.values()) % WAVE_EVERY == 0:
                wave()
        chaos_seconds = time.monotonic() - started

        def all_ended() -> bool:
            return all(storage.runs.get_run(run_id).state.finished for run_id in conf_of)

        _wait(all_ended, 180, "every run to end after the kills", cluster)
        settle_seconds = time.monotonic() - started - chaos_seconds
        checks = _check(storage, conf_of, expected, cluster)
    codes = cluster.stop()
    print(
        f"\nchaos: {sum(kills.values())} kills ({dict(kills)}) in {chaos_seconds:.0f} s, "
        f"{len(conf_of)} runs ended {settle_seconds:.0f} s after the last kill, "
        f"{checks} checks passed; exit codes after SIGTERM {codes}"
    )


def _check(
    storage: Storage,
    conf_of: dict[str, int],
    expected: dict[int, tuple[RunState, dict[tuple[str, int], TaskState], Any]],
    cluster: Cluster,
) -> int:
    effects = Counter(
        tuple(line.split()[:3])
        for line in Path(cluster.env["CHAOS_EFFECTS"]).read_text().splitlines()
    )
    checks = 0
    problems: list[str] = []
    for run_id, number in conf_of.items():
        state, states, output = expected[number]
        run = storage.runs.get_run(run_id)
        tis = {(ti.task_id, ti.map_index): ti for ti in storage.runs.get_task_instances(run_id)}
        got = {key: ti.state for key, ti in tis.items()}
        checks += 2
        if run.state is not state:
            problems.append(f"run {run_id} (conf {number}) is {run.state}, expected {state}")
        if got != states:
            problems.append(f"run {run_id} (conf {number}) task states {got} != {states}")
        successes = Counter(
            (e.task_id, e.map_index)
            for e in storage.events.read_events(run_id, kinds=[EventKind.TASK_STATE])
            if e.payload.get("state") == TaskState.SUCCESS.value
        )
        for key, ti in tis.items():
            checks += 2
            if ti.state in UNFINISHED_TI:
                problems.append(f"{run_id} {key} left {ti.state}")
            ran = ti.state in (TaskState.SUCCESS, TaskState.FAILED)
            if ran and effects[(run_id, key[0], str(key[1]))] < 1:
                problems.append(f"{run_id} {key} is {ti.state} but its side effect never happened")
            if ti.state is TaskState.SUCCESS:
                checks += 1
                if successes[key] != 1:
                    problems.append(f"{run_id} {key} success recorded {successes[key]} times")
        if state is RunState.SUCCESS:
            checks += 1
            record = storage.outputs.get_record(run_id, "report", -1, "return_value")
            value = None if record is None else storage.outputs.load(record)
            if value != output:
                problems.append(f"run {run_id} reported {value!r}, expected {output!r}")
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} problems)"
    return checks
