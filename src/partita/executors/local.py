"""The local executor: one pool of long-lived worker processes, shared by the runs of a process.

``WorkerPool(size, storage=...)`` starts ``size`` workers (``executors/worker.py``)
with the ``forkserver`` context (never ``fork``: the parent has threads), each
connected by a ``multiprocessing.Pipe``. ``pool.executor()`` gives one run its
own view of the pool, implementing the engine's ``Executor`` protocol, so
``RunDriver`` drives it unchanged and a scheduler can drive many runs at once
on one pool. A supervisor thread waits on every pipe and every process
``sentinel`` with ``multiprocessing.connection.wait`` and routes what comes
back to the view of its run.

The design decisions: when many quick task instances are ready, several go
to a worker in one message (about ``BATCH_SECONDS`` of work as measured on
the run's instances so far, at most ``max_batch``, never more than an even
share of the queue), which keeps the per-instance cost of pipes and database
writes low while slow tasks still go one per worker; a worker that dies, or sends no heartbeat for
``heartbeat_timeout`` seconds while busy, is killed and replaced, and every
task instance it held is reported *lost* (``TaskOutcome.lost``): the engine
runs it again without using a retry. A task whose ``executor_config`` has
``fresh_process: True`` runs in a new process of its own that exits after it.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from partita.definitions.dag import DAG
from partita.definitions.states import TaskState
from partita.engine.host import HOSTNAME
from partita.engine.task_log import LiveLogs
from partita.engine.work import OutputAccess, RunInfo, TaskOutcome, TaskWork
from partita.exceptions import PartitaError
from partita.executors.worker import (
    HEARTBEAT,
    EndRun,
    Finished,
    RunTasks,
    Started,
    StoreAddress,
    worker_main,
)
from partita.settings import DEFAULT_INLINE_OUTPUT_LIMIT
from partita.storage.base import Storage
from partita.storage.sql.store import SqlStorage

DEFAULT_HEARTBEAT_INTERVAL = 1.0
DEFAULT_HEARTBEAT_TIMEOUT = 30.0
DEFAULT_MAX_BATCH = 64
#: About how many seconds of a run's work one message to a worker holds (see ``batch_size``).
BATCH_SECONDS = 0.05
#: The ``executor_config`` key that asks for a process of the task's own.
FRESH_PROCESS = "fresh_process"


def wants_fresh_process(task: Any) -> bool:
    """Whether ``task`` asked to run in a new process of its own (``executor_config``)."""
    config = getattr(task, "executor_config", None)
    return bool(config and config.get(FRESH_PROCESS))


def store_address(storage: Storage) -> StoreAddress:
    """Where workers open ``storage``; only a SQL store can be shared with other processes."""
    if not isinstance(storage, SqlStorage):
        raise PartitaError(
            f"the local executor needs a metadata database its worker processes can open, "
            f"but the store is {type(storage).__name__} (in this process only); use a SQL "
            f"store (open_store(), partita run --workers) or run in-process (dag.test())"
        )
    return StoreAddress(
        storage.engine.url.render_as_string(hide_password=False),
        str(storage.storage_dir),
        getattr(storage.outputs, "inline_output_limit", DEFAULT_INLINE_OUTPUT_LIMIT),
        storage.signer,
    )


def check_dag_file(dag: DAG) -> str:
    """The file workers import ``dag`` from; an error naming the fix when it has none."""
    path = dag.fileloc
    if not path or not os.path.isfile(path) or not path.endswith(".py"):
        raise PartitaError(
            f"DAG {dag.dag_id!r} is not defined in a .py file the worker processes can "
            f"import (its file: {path!r}); define it at module level in a DAG file, or "
            f"run it in-process (without --workers)"
        )
    return path


def lost_outcome(work: TaskWork, reason: str) -> TaskOutcome:
    """The outcome of a try whose worker died or hung: no verdict on the task."""
    now = datetime.now(UTC)
    return TaskOutcome(
        work.task_id, work.map_index, work.try_number, TaskState.FAILED, now, now, HOSTNAME,
        error=reason, lost=True,
    )  # fmt: skip


@dataclass(eq=False)
class _Job:
    view: PoolExecutor
    work: TaskWork
    fresh: bool


@dataclass(eq=False)
class _WorkerHandle:
    process: BaseProcess
    conn: Connection
    one_shot: bool
    view: PoolExecutor | None = None
    pending: dict[tuple[str, int], TaskWork] = field(default_factory=dict)
    last_heard: float = field(default_factory=time.monotonic)


class WorkerRunExecutor:
    """What a run's view of out-of-process workers (a local pool, Celery) keeps from
    ``start``: the DAG and its file (workers import it), map lengths and the callbacks."""

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
        """Workers open the run's resources and stream its logs themselves (not sent)."""
        self.run = run
        self.dag: DAG = dag
        self.dag_file = check_dag_file(dag)
        self.map_lengths: dict[str, int] = getattr(outputs, "map_lengths", {})
        self._on_started = on_started
        self._on_finished = on_finished


class PoolExecutor(WorkerRunExecutor):
    """One run's view of a ``WorkerPool``: the engine's ``Executor`` protocol."""

    def __init__(self, pool: WorkerPool) -> None:
        self._pool = pool
        self._inbox: queue.SimpleQueue[Started | list[TaskOutcome]] = queue.SimpleQueue()
        self.closed = False
        #: A moving average of how long this run's task instances take (None: none ended yet).
        self.mean_task_seconds: float | None = None

    def submit(self, work: TaskWork) -> None:
        task = self.dag.task_dict[work.task_id]
        self._pool.enqueue(_Job(self, work, wants_fresh_process(task)))

    def poll(self, timeout: float | None) -> None:
        self._pool.dispatch()
        try:
            first = self._inbox.get(timeout=timeout)
        except queue.Empty:
            return
        item: Started | list[TaskOutcome] | None = first
        while item is not None:
            if isinstance(item, Started):
                for work in item.works:
                    self._on_started(work, item.when, item.hostname)
            else:
                for outcome in item:
                    self._on_finished(outcome)
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                item = None

    def cancel_running(self, grace: float, reason: str) -> None:
        """The run was cancelled (any thread): wake ``poll``; ``shutdown`` then kills the
        workers still running its tasks (at once: ``grace`` is not waited for on the pool)."""
        self._inbox.put([])
        self._pool.activity.set()

    def shutdown(self) -> None:
        if not self.closed:
            self.closed = True
            self._pool.forget(self)

    def batch_size(self, queued: int, workers: int, cap: int) -> int:
        """How many queued instances to send a worker at once: one until some have ended,
        then about ``BATCH_SECONDS`` of work, never more than an even share of the queue."""
        mean = self.mean_task_seconds
        if mean is None:
            return 1
        by_time = int(BATCH_SECONDS / max(mean, 1e-6))
        return max(1, min(cap, by_time, math.ceil(queued / workers)))

    def observe(self, outcomes: list[TaskOutcome]) -> None:
        for outcome in outcomes:
            seconds = outcome.duration
            mean = self.mean_task_seconds
            self.mean_task_seconds = seconds if mean is None else 0.8 * mean + 0.2 * seconds

    def deliver(self, item: Started | list[TaskOutcome]) -> None:
        if not self.closed:
            self._inbox.put(item)
            self._pool.activity.set()


class WorkerPool:
    """``size`` long-lived worker processes (default: the number of cores); close it when done."""

    def __init__(
        self,
        size: int | None = None,
        *,
        storage: Storage,
        heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL,
        heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT,
        max_batch: int = DEFAULT_MAX_BATCH,
        default_timezone: str | None = None,
    ) -> None:
        size = (os.cpu_count() or 1) if size is None else size
        if size < 1:
            raise PartitaError(f"a worker pool needs at least 1 worker, got {size}")
        if not heartbeat_timeout > heartbeat_interval > 0:
            raise PartitaError(
                f"worker heartbeat_timeout ({heartbeat_timeout:g}s) must be longer than "
                f"heartbeat_interval ({heartbeat_interval:g}s), and both > 0"
            )
        self.size = size
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_timeout = heartbeat_timeout
        self.max_batch = max_batch
        self.default_timezone = default_timezone
        self._address = store_address(storage)
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["partita.executors.worker"])
        self._lock = threading.RLock()
        #: Set whenever a run's view gets news (a task started or ended): a scheduler
        #: driving many runs waits on it instead of polling each run.
        self.activity = threading.Event()
        self._queue: deque[_Job] = deque()
        self._workers: list[_WorkerHandle] = []
        self._closing = False
        #: The supervisor waits with no timeout (no task out): a send must wake it.
        self._sleeping = False
        #: The last wait timed out with nothing out and nothing heard.
        self._quiet = False
        self._wake_read, self._wake_write = os.pipe()
        for _ in range(size):
            self._start_worker(one_shot=False)
        self._supervisor = threading.Thread(
            target=self._supervise, name="partita-worker-pool", daemon=True
        )
        self._supervisor.start()

    # -- what views call ----------------------------------------------------------------
    def executor(self) -> PoolExecutor:
        """A view of this pool for one run (give it to ``RunDriver``)."""
        if self._closing:
            raise PartitaError("the worker pool is closed; make a new WorkerPool")
        return PoolExecutor(self)

    @property
    def pids(self) -> list[int]:
        """The process ids of the live pooled workers (not the fresh, one-task processes)."""
        with self._lock:
            return [
                w.process.pid for w in self._workers if not w.one_shot and w.process.pid is not None
            ]

    def enqueue(self, job: _Job) -> None:
        with self._lock:
            self._queue.append(job)

    def dispatch(self) -> None:
        """Send queued task instances to idle workers (several at once when many wait)."""
        with self._lock:
            queued = self._queue
            while queued and not self._closing:
                if queued[0].fresh:
                    if sum(w.view is not None for w in self._workers) >= self.size:
                        return
                    job = queued.popleft()
                    self._send(self._start_worker(one_shot=True), job.view, [job.work])
                    continue
                idle = next((w for w in self._workers if w.view is None and not w.one_shot), None)
                if idle is None:
                    return
                view, works = queued[0].view, list[TaskWork]()
                share = view.batch_size(len(queued), self.size, self.max_batch)
                while queued and len(works) < share and queued[0].view is view:
                    if queued[0].fresh:
                        break
                    works.append(queued.popleft().work)
                self._send(idle, view, works)

    def forget(self, view: PoolExecutor) -> None:
        """The run of ``view`` ended: drop its queued work; workers close what they kept of it.

        A worker still running a task of that run (the run was interrupted) is
        killed, and replaced, so the task cannot write to a run that is over.
        """
        with self._lock:
            self._queue = deque(job for job in self._queue if job.view is not view)
            if not hasattr(view, "run"):
                return
            for worker in self._workers:
                if worker.view is view:
                    worker.process.kill()  # the supervisor buries and replaces it
                elif not worker.one_shot:
                    with suppress(OSError):  # a dead worker: the supervisor buries it
                        worker.conn.send(EndRun(view.run.run_id))

    def close(self) -> None:
        """Stop every worker (killing busy ones, and those that do not stop within 2 s)."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            workers = list(self._workers)
        for worker in workers:
            if worker.view is not None:  # busy: its run is over, so is its task (no late write)
                worker.process.kill()
            with suppress(OSError):
                worker.conn.send(None)
        deadline = time.monotonic() + 2.0
        for worker in workers:
            worker.process.join(max(deadline - time.monotonic(), 0.0))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(1.0)
        os.write(self._wake_write, b"x")
        self._supervisor.join(5.0)
        os.close(self._wake_read)
        os.close(self._wake_write)
        for worker in workers:
            worker.conn.close()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- workers ------------------------------------------------------------------------
    def _start_worker(self, one_shot: bool) -> _WorkerHandle:
        parent_end, child_end = self._context.Pipe()
        process = self._context.Process(
            target=worker_main,
            args=(child_end, self._address, self.heartbeat_interval, one_shot, os.getpid()),
            name="partita-worker" + ("-fresh" if one_shot else ""),
            daemon=True,
        )
        process.start()
        child_end.close()
        worker = _WorkerHandle(process, parent_end, one_shot)
        with self._lock:
            self._workers.append(worker)
        os.write(self._wake_write, b"x")  # the supervisor waits on its pipe from now on
        return worker

    def _send(self, worker: _WorkerHandle, view: PoolExecutor, works: list[TaskWork]) -> None:
        worker.view = view
        worker.pending = {(w.task_id, w.map_index): w for w in works}
        worker.last_heard = time.monotonic()
        message = RunTasks(
            view.run, view.dag_file, self.default_timezone, tuple(works), dict(view.map_lengths)
        )
        with suppress(OSError):  # it died: its sentinel fires and the supervisor reports it
            worker.conn.send(message)
        if self._sleeping:  # the supervisor must watch this worker's heartbeats from now on
            self._sleeping = False
            os.write(self._wake_write, b"x")

    # -- the supervisor thread ----------------------------------------------------------
    def _supervise(self) -> None:
        check_every = min(self.heartbeat_interval, self.heartbeat_timeout / 4)
        while not self._closing:
            try:
                self._supervise_once(check_every)
            except Exception as exc:  # never let the runs wait on a dead supervisor
                stream = sys.__stderr__
                if stream is not None and not self._closing:
                    print(f"partita: worker pool supervisor: {exc!r}; going on", file=stream)

    def _supervise_once(self, check_every: float) -> None:
        """Wait for messages, deaths or the next heartbeat check; handle them; dispatch."""
        with self._lock:
            by_object: dict[Any, _WorkerHandle] = {}
            for worker in self._workers:
                by_object[worker.conn] = worker
                by_object[worker.process.sentinel] = worker
            # with no task out there is no heartbeat to check: sleep until a message, a
            # death, or ``_send`` (which writes to the pipe while ``_sleeping``)
            idle = not self._queue and all(w.view is None for w in self._workers)
            # sleep untimed only after a whole quiet check: a busy run's short gaps between
            # batches never make ``_send`` write to the pipe
            self._sleeping = idle and self._quiet
        ready = wait([*by_object, self._wake_read], timeout=None if self._sleeping else check_every)
        self._sleeping = False
        self._quiet = idle and not ready
        if self._closing:
            return
        for item in ready:
            if item == self._wake_read:
                os.read(self._wake_read, 4096)
                continue
            worker = by_object[item]
            if item is worker.conn:
                self._receive(worker)
            elif worker in self._workers:
                self._bury(worker, f"its worker process (pid {worker.process.pid}) died")
        self._check_heartbeats()
        self.dispatch()

    def _receive(self, worker: _WorkerHandle) -> None:
        try:
            while worker.conn.poll():
                self._route(worker, worker.conn.recv())
        except (EOFError, OSError):
            pass  # the process is gone; its sentinel says so

    def _route(self, worker: _WorkerHandle, message: Any) -> None:
        worker.last_heard = time.monotonic()
        view = worker.view
        if message == HEARTBEAT or view is None:
            return
        if isinstance(message, Started):
            view.deliver(message)
        elif isinstance(message, Finished):
            with self._lock:
                for outcome in message.outcomes:
                    worker.pending.pop((outcome.task_id, outcome.map_index), None)
                if not worker.pending:
                    worker.view = None
            view.observe(message.outcomes)
            view.deliver(message.outcomes)

    def _check_heartbeats(self) -> None:
        now = time.monotonic()
        for worker in list(self._workers):
            silent = now - worker.last_heard
            if worker.view is not None and silent > self.heartbeat_timeout:
                pid = worker.process.pid
                if pid is not None and worker.process.is_alive():
                    os.kill(pid, signal.SIGKILL)
                worker.process.join(5.0)
                self._bury(
                    worker,
                    f"its worker process (pid {pid}) sent no heartbeat for {silent:.1f}s "
                    f"(heartbeat_timeout {self.heartbeat_timeout:g}s) and was killed",
                )

    def _bury(self, worker: _WorkerHandle, reason: str) -> None:
        """A worker is gone: what it held is lost; a pooled worker gets a replacement."""
        self._receive(worker)  # what it said before it died still counts
        with self._lock:
            if worker not in self._workers:
                return
            self._workers.remove(worker)
            lost, view = list(worker.pending.values()), worker.view
            worker.pending, worker.view = {}, None
        worker.process.join(1.0)
        worker.conn.close()
        if view is not None and lost:
            view.deliver([lost_outcome(work, reason) for work in lost])
        if not worker.one_shot and not self._closing:
            self._start_worker(one_shot=False)


__all__ = [
    "FRESH_PROCESS",
    "PoolExecutor",
    "WorkerPool",
    "check_dag_file",
    "store_address",
    "wants_fresh_process",
]
