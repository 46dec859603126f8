"""The driver's handling of lost tries (``TaskOutcome.lost``), with a scripted executor.

The executor here stands for a worker pool whose workers die: it reports
the first ``deaths`` tries of each instance as lost (some before saying
they started), then runs the task for real with the task runner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from partita.definitions.dag import DAG
from partita.definitions.states import RunState, TaskState
from partita.engine.driver import RunDriver
from partita.engine.runtime import run_context
from partita.engine.task_runner import HOSTNAME, run_task_instance
from partita.engine.work import OutputAccess, RunInfo, TaskOutcome, TaskWork
from partita.operators.python import PythonOperator
from partita.storage.memory import MemoryStorage
from partita.storage.records import EventKind


class DyingWorkers:
    """Loses the first ``deaths`` tries of every instance, then runs it in this process."""

    def __init__(self, deaths: int) -> None:
        self.deaths = deaths
        self.submitted: list[TaskWork] = []
        self._queue: list[TaskWork] = []

    def start(
        self,
        run: RunInfo,
        dag: Any,
        outputs: OutputAccess,
        on_started: Callable[[TaskWork, datetime, str], None],
        on_finished: Callable[[TaskOutcome], None],
        resources: Mapping[str, Any] | None = None,
        logs: Any = None,
    ) -> None:
        self.run, self.dag, self.outputs, self.on_started = run, dag, outputs, on_started
        self.on_finished = on_finished
        self.base = run_context(run, dag)

    def submit(self, work: TaskWork) -> None:
        self.submitted.append(work)
        self._queue.append(work)

    def poll(self, timeout: float | None) -> None:
        queued, self._queue = self._queue, []
        for work in queued:
            now = datetime.now(UTC)
            if work.try_number <= self.deaths:
                if work.try_number % 2 == 0:  # some die after saying they started
                    self.on_started(work, now, HOSTNAME)
                self.on_finished(TaskOutcome(
                    work.task_id, work.map_index, work.try_number, TaskState.FAILED, now, now,
                    HOSTNAME, error="its worker process (pid 1) died", lost=True,
                ))  # fmt: skip
                continue
            self.on_started(work, now, HOSTNAME)
            task = self.dag.task_dict[work.task_id]
            self.on_finished(run_task_instance(task, work, self.run, self.base, self.outputs))

    def shutdown(self) -> None:
        self._queue = []


def flaky_dag() -> DAG:
    with DAG("lost") as dag:
        PythonOperator(task_id="t", python_callable=lambda: "ran", retries=0)
    return dag


def test_lost_tries_run_again_without_using_a_retry() -> None:
    storage, executor = MemoryStorage(), DyingWorkers(deaths=2)
    result = RunDriver(flaky_dag(), executor, storage).run()
    assert result.state is RunState.SUCCESS
    assert result.output("t") == "ran"
    assert [(w.try_number, w.lost_tries) for w in executor.submitted] == [(1, 0), (2, 1), (3, 2)]
    lost = storage.events.read_events(result.run_id, kinds=[EventKind.TASK_LOST])
    assert [(e.try_number, e.payload["lost"]) for e in lost] == [(1, 1), (2, 2)]


def test_a_failure_after_lost_tries_still_gets_its_own_retries() -> None:
    calls: list[int] = []

    def fails_once(ti: Any) -> str:
        calls.append(ti.try_number)
        if len(calls) == 1:
            raise ValueError("a real failure")
        return "ran"

    with DAG("lost_then_failed") as dag:
        PythonOperator(task_id="t", python_callable=fails_once, retries=1, retry_delay=0)
    result = RunDriver(dag, DyingWorkers(deaths=2), MemoryStorage()).run()
    assert result.state is RunState.SUCCESS  # tries 1-2 lost, 3 failed (retry), 4 ran
    assert calls == [3, 4]


def test_an_instance_lost_max_lost_attempts_times_fails_naming_why() -> None:
    storage = MemoryStorage()
    driver = RunDriver(flaky_dag(), DyingWorkers(deaths=99), storage, max_lost_attempts=2)
    result = driver.run()
    assert result.state is RunState.FAILED
    (ti,) = result.task_instances
    assert (ti.state, ti.try_number) == (TaskState.FAILED, 2)
    (error,) = storage.events.read_events(result.run_id, kinds=[EventKind.TASK_ERROR])
    assert "lost its worker 2 times" in str(error.payload["error"])
    assert "max_lost_attempts=2" in str(error.payload["error"])
