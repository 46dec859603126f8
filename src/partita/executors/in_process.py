"""The in-process executor: runs each task instance in this process, in this thread.

It is the executor of ``dag.test()`` and ``partita run``: no pool, no
pickling, no IPC, so a no-op task costs tens of microseconds. ``poll`` runs
queued work for at most ``slice_seconds`` before returning, so the driver
records progress and flushes regularly even when thousands of tasks are
ready at once. Each outcome goes to the engine (``on_finished``) as its
task ends, before the next task starts, so a long task cannot hold back the
record of the ones that finished before it.

A cancelled run (``cancel_running``, called from another thread) stops the
task running now: SIGTERM goes to the process groups of the commands it
started (a ``BashOperator``'s), or, when it started none, the task is
interrupted the way ``execution_timeout`` interrupts it
(``engine.cancel.TaskInterrupter``); after the grace period the groups get
SIGKILL and the task is interrupted.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from partita.definitions.context import Context
from partita.definitions.dag import DAG
from partita.definitions.resources import ResourcesView
from partita.engine.cancel import RunCancelled, TaskInterrupter
from partita.engine.driver import RunDriver
from partita.engine.mapping import InstanceResolver
from partita.engine.outputs import StoreOutputAccess
from partita.engine.recorder import RunListener
from partita.engine.resources import io_aware_pull
from partita.engine.result import RunResult
from partita.engine.runtime import install_log_routing, run_context
from partita.engine.task_log import LiveLogs, TaskLog
from partita.engine.task_runner import HOSTNAME, run_task_instance
from partita.engine.work import OutputAccess, RunInfo, TaskOutcome, TaskWork
from partita.executors.console_log import ConsoleRunLog
from partita.operators.process_groups import reaper
from partita.storage.base import Storage
from partita.storage.memory import MemoryStorage


class InProcessExecutor:
    """Runs task instances one after another in the calling thread."""

    def __init__(self, slice_seconds: float = 0.05) -> None:
        self.slice_seconds = slice_seconds
        self._queue: deque[TaskWork] = deque()
        #: What ``start`` installed for the run (the interrupt signal's handler).
        self._cleanup = contextlib.ExitStack()
        self._interrupter = TaskInterrupter()
        self._stopping: str | None = None

    def start(
        self,
        run: RunInfo,
        dag: Any,
        outputs: OutputAccess,
        on_started: Callable[[TaskWork, datetime, str], None],
        on_finished: Callable[[TaskOutcome], None],
        resources: Mapping[str, Any] | None = None,
        logs: LiveLogs | None = None,
    ) -> None:
        install_log_routing()
        self._interrupter = TaskInterrupter()  # the thread that calls start runs the tasks
        self._cleanup.enter_context(self._interrupter.installed())
        self._stopping = None
        self._run = run
        self._logs = logs
        self._dag: DAG = dag
        self._outputs = outputs
        self._on_started = on_started
        self._on_finished = on_finished
        if resources is not None and not isinstance(resources, ResourcesView):
            resources = ResourcesView(resources)
        store = outputs.storage if isinstance(outputs, StoreOutputAccess) else None
        partitions = store.partitions if store is not None else None
        self._base: Context = run_context(run, dag, resources, partitions, store)
        pull = io_aware_pull(dag, run.run_id, outputs, resources)
        self._resolver = InstanceResolver(
            dag, lambda t, k: pull(t, -1, k)[1], lambda t, i, k: pull(t, i, k)[1]
        )

    def submit(self, work: TaskWork) -> None:
        self._queue.append(work)

    def poll(self, timeout: float | None) -> None:
        deadline = time.monotonic() + self.slice_seconds
        queue, operator, logs = self._queue, self._resolver.operator, self._logs
        interrupter, on_finished = self._interrupter, self._on_finished
        run_id = self._run.run_id
        while queue:
            work = queue.popleft()
            self._on_started(work, datetime.now(UTC), HOSTNAME)
            task = operator(work.task_id, work.map_index)
            log = TaskLog(run_id, work.task_id, work.map_index, work.try_number, logs)
            try:  # arm/disarm rather than a context manager: this runs once per task
                interrupter.arm()
                outcome = run_task_instance(task, work, self._run, self._base, self._outputs, log)
            except BaseException:  # interrupted: keep what the task logged so far
                _save_log(log)
                raise
            finally:
                interrupter.disarm()
            if self._stopping is not None:  # it ended of the cancel: cancelled, not failed
                raise RunCancelled(self._stopping)
            on_finished(outcome)  # recorded before the next task starts
            if time.monotonic() >= deadline:
                break

    def shutdown(self) -> None:
        self._queue.clear()
        self._cleanup.close()

    def cancel_running(self, grace: float, reason: str) -> None:
        """Stop the task running now (from any thread): SIGTERM, SIGKILL ``grace`` s later."""
        self._stopping = reason
        interrupter = self._interrupter
        thread = interrupter.ident
        # Only while this executor's task runs: in a scheduler, the same thread runs
        # the tasks of other runs, and their commands are not this cancel's to stop.
        if not interrupter.while_armed(lambda: reaper.signal_groups(signal.SIGTERM, thread)):
            interrupter.interrupt(reason)  # nothing to SIGTERM: stop the Python code now

        def kill() -> None:
            interrupter.while_armed(lambda: reaper.signal_groups(signal.SIGKILL, thread))
            interrupter.interrupt(reason)

        timer = threading.Timer(grace, kill)
        timer.daemon = True
        timer.start()


def _save_log(log: TaskLog) -> None:
    # The interruption that got here is what the caller must see, not a failed write.
    with contextlib.suppress(Exception):
        log.flush()


def run_dag(
    dag: DAG,
    *,
    storage: Storage | None = None,
    run_conf: Mapping[str, Any] | None = None,
    logical_date: datetime | None = None,
    run_type: str = "manual",
    listener: RunListener | None = None,
    resources: Mapping[str, Any] | None = None,
    partition_key: str | None = None,
) -> RunResult:
    """Run ``dag`` in this process, recording it in ``storage`` (a fresh memory store if None).

    ``resources`` add to (and override) the DAG's own resources for this run;
    ``partition_key`` is the partition of a partitioned DAG the run is for.
    """
    storage = storage if storage is not None else MemoryStorage()
    driver = RunDriver(
        dag,
        InProcessExecutor(),
        storage,
        run_conf=run_conf,
        logical_date=logical_date,
        run_type=run_type,
        listener=listener,
        resources=resources,
        partition_key=partition_key,
    )
    return driver.run()


def test_runner(
    dag: DAG,
    *,
    run_conf: Mapping[str, Any] | None,
    logical_date: datetime | None,
    storage: Any,
    resources: Mapping[str, Any] | None = None,
    verbose: bool = True,
    partition_key: str | None = None,
) -> RunResult:
    """What ``DAG.test()`` calls; ``verbose`` prints the run as it goes (``ConsoleRunLog``)."""
    store = storage if storage is not None else MemoryStorage()
    return run_dag(
        dag, storage=store, run_conf=run_conf, logical_date=logical_date, run_type="test",
        resources=resources, listener=ConsoleRunLog(store) if verbose else None,
        partition_key=partition_key,
    )  # fmt: skip


__all__ = ["InProcessExecutor", "run_dag", "test_runner"]
