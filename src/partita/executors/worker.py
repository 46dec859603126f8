"""The child side of the local executor: a long-lived worker process that runs task instances.

A worker is started by ``WorkerPool`` (``executors/local.py``) with the
``forkserver`` context and talks to it over one ``multiprocessing.Pipe``: it
receives ``RunTasks`` (a run's facts, the DAG file and a few task instances
to run one after another), answers ``Started``, then ``Finished`` with a small
outcome per instance, and sends a heartbeat every ``heartbeat_interval``
seconds from a thread while it is busy, so the pool can tell a hung worker
from a long task.

The design decision: the worker writes its own task instances through the
storage layer (its own ``SqlStorage`` opened from the store's address): the
``running`` state when it takes them, log lines while the task runs (its own
``LiveLogs``), and the end state, outputs and last log lines before it
reports them, in one ``WriteBatch`` per group, so what the parent hears
about is already durable. The parent's driver may upsert the
same task instance again with the same values. The DAG file is imported once
and again only when its modification time changes.
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import msgspec

from partita.definitions.context import Context
from partita.definitions.dag import DAG
from partita.definitions.states import TaskState
from partita.engine.host import HOSTNAME
from partita.engine.mapping import InstanceResolver
from partita.engine.outputs import StoreOutputAccess
from partita.engine.resources import RunResources, io_aware_pull
from partita.engine.run_config import resolve_run_config
from partita.engine.runtime import install_log_routing, run_context
from partita.engine.secrets import use_store
from partita.engine.task_log import LiveLogs, TaskLog, log_line_records
from partita.engine.task_runner import run_task_instance
from partita.engine.work import LogLine, RunInfo, TaskOutcome, TaskWork
from partita.exceptions import DagNotFoundError
from partita.executors.memory import release_memory
from partita.loader import load_file
from partita.storage.base import Storage
from partita.storage.records import TaskInstanceRecord, WriteBatch
from partita.storage.signing import PickleSigner
from partita.storage.sql.store import SqlStorage

#: Seconds of work after which a worker writes and reports the task instances it finished.
GROUP_SECONDS = 0.02


# -- messages (small, picklable) -------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StoreAddress:
    """Where a worker opens the metadata store: the SQL database, outputs folder and signer."""

    database_url: str
    storage_dir: str
    inline_output_limit: int
    signer: PickleSigner | None

    def open(self) -> Storage:
        return SqlStorage(
            self.database_url, Path(self.storage_dir), self.inline_output_limit,
            signer=self.signer,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class RunTasks:
    """Parent -> worker: run these task instances of one run, in this order."""

    run: RunInfo
    dag_file: str
    default_timezone: str | None
    works: tuple[TaskWork, ...]
    #: Task id -> number of instances, for the mapped tasks of the run that expanded so far.
    map_lengths: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EndRun:
    """Parent -> worker: the run ended; close its resources and forget it."""

    run_id: str


@dataclass(frozen=True, slots=True)
class Started:
    """Worker -> parent: these task instances are now the worker's (recorded running)."""

    run_id: str
    works: tuple[TaskWork, ...]
    when: datetime
    hostname: str


@dataclass(frozen=True, slots=True)
class Finished:
    """Worker -> parent: these task instances ended (already written to the store)."""

    run_id: str
    outcomes: list[TaskOutcome]


HEARTBEAT = "heartbeat"  # worker -> parent, while busy


# -- the worker's state ----------------------------------------------------------------
class DagFiles:
    """DAG files imported in this worker, each again only when its modification time changes."""

    def __init__(self) -> None:
        self._loaded: dict[str, tuple[float, dict[str, DAG]]] = {}

    def get(self, path: str, dag_id: str, default_timezone: str | None) -> DAG:
        mtime = os.stat(path).st_mtime
        cached = self._loaded.get(path)
        if cached is None or cached[0] != mtime:
            result = load_file(Path(path), folder=Path(path).parent)
            if result.errors:
                problem = next(iter(result.errors.values())).splitlines()[0]
                raise DagNotFoundError(f"DAG file {path} did not import in the worker: {problem}")
            for dag in result.dags.values():
                if default_timezone is not None:
                    dag.use_default_timezone(default_timezone)
            cached = self._loaded[path] = (mtime, dict(result.dags))
        try:
            return cached[1][dag_id]
        except KeyError:
            raise DagNotFoundError(
                f"DAG file {path} no longer defines DAG {dag_id!r} (it defines: "
                f"{', '.join(sorted(cached[1])) or 'none'})"
            ) from None


class RunSlot:
    """What a worker keeps for one run: its DAG, opened resources, context and outputs."""

    def __init__(self, dag: DAG, run: RunInfo, storage: Storage, logs: LiveLogs) -> None:
        self.dag = dag
        self.logs = logs
        self.run = run
        overrides = resolve_run_config(dag, run.conf).resources
        self.resources = RunResources(dag, storage, None, overrides)
        view = self.resources.open()
        self.outputs = StoreOutputAccess(storage, run.run_id)
        self.base: Context = run_context(run, dag, view, storage.partitions, storage)
        pull = io_aware_pull(dag, run.run_id, self.outputs, view)
        self.resolver = InstanceResolver(
            dag, lambda t, k: pull(t, -1, k)[1], lambda t, i, k: pull(t, i, k)[1]
        )

    def run_one(self, work: TaskWork) -> TaskOutcome:
        task = self.resolver.operator(work.task_id, work.map_index)
        log = TaskLog(self.run.run_id, work.task_id, work.map_index, work.try_number, self.logs)
        return run_task_instance(task, work, self.run, self.base, self.outputs, log)

    def close(self) -> None:
        self.resources.close()


class Beat(threading.Thread):
    """Sends ``HEARTBEAT`` every ``interval`` seconds while busy; ends the worker with its parent.

    The parent (the process that made the pool) is watched through a pidfd:
    when it is gone, even killed with ``kill -9``, the worker kills itself at
    once, so no task goes on writing a run that is over. An idle worker's
    thread sleeps on the pidfd and a pipe alone (no timer), so an idle pool
    costs no CPU; becoming busy writes to the pipe.
    """

    def __init__(self, send: Callable[[Any], None], interval: float, parent_pid: int) -> None:
        super().__init__(name="partita-worker-heartbeat", daemon=True)
        self._send = send
        self._interval = interval
        self._busy = False
        #: Sleeping with no timer (idle for a whole interval): becoming busy must wake it.
        self._parked = False
        self._stopped = False
        self._wake_read, self._wake_write = os.pipe()
        try:
            self._parent = os.pidfd_open(parent_pid)
        except ProcessLookupError:  # already gone
            os.kill(os.getpid(), signal.SIGKILL)

    @property
    def busy(self) -> bool:
        return self._busy

    @busy.setter
    def busy(self, value: bool) -> None:
        self._busy = value
        if value and self._parked:
            self._parked = False
            os.write(self._wake_write, b"x")

    def run(self) -> None:
        watched = [self._parent, self._wake_read]
        idle_since_last_look = False
        while not self._stopped:
            # park only after a whole interval idle: batches in quick succession never
            # make the worker's thread write to the pipe
            self._parked = idle_since_last_look and not self._busy
            if self._parked and self._busy:  # became busy meanwhile: the setter may not write
                self._parked = False
            ready = select.select(watched, [], [], None if self._parked else self._interval)[0]
            self._parked = False
            idle_since_last_look = not self._busy
            if self._parent in ready:  # the parent exited
                os.kill(os.getpid(), signal.SIGKILL)
            if self._wake_read in ready:
                os.read(self._wake_read, 4096)
                continue  # busy from now on (or stopped): the first beat is one interval away
            if self._busy and not self._stopped:
                try:
                    self._send(HEARTBEAT)
                except OSError:  # the parent is gone
                    os.kill(os.getpid(), signal.SIGKILL)

    def stop(self) -> None:
        self._stopped = True
        os.write(self._wake_write, b"x")


class Worker:
    """One worker process's loop: receive work, run it, write it, report it."""

    def __init__(
        self, conn: Connection, storage: Storage, heartbeat_interval: float, parent_pid: int
    ) -> None:
        self.conn = conn
        self.storage = storage
        self._send_lock = threading.Lock()
        self.dag_files = DagFiles()
        self.slots: dict[str, RunSlot] = {}
        self.logs = LiveLogs(storage)
        self.beat = Beat(self.send, heartbeat_interval, parent_pid)

    def send(self, message: Any) -> None:
        with self._send_lock:
            self.conn.send(message)

    def serve(self, one_shot: bool) -> None:
        self.beat.start()
        try:
            while True:
                try:
                    message = self.conn.recv()
                except (EOFError, OSError):  # the parent closed the pipe or died
                    return
                if message is None:
                    return
                if isinstance(message, EndRun):
                    self.end_run(message.run_id)
                elif isinstance(message, RunTasks):
                    try:
                        self.run_tasks(message)
                    except (BrokenPipeError, EOFError):  # the parent died while it ran
                        return
                    if one_shot:
                        return
        finally:
            self.beat.stop()
            self.logs.stop()
            for run_id in list(self.slots):
                self.end_run(run_id)

    def end_run(self, run_id: str) -> None:
        slot = self.slots.pop(run_id, None)
        if slot is not None:
            slot.close()
            if not self.slots:
                release_memory()  # idle from here on: give back what the run grew

    def slot_for(self, message: RunTasks) -> RunSlot:
        run = message.run
        dag = self.dag_files.get(message.dag_file, run.dag_id, message.default_timezone)
        slot = self.slots.get(run.run_id)
        if slot is None or slot.dag is not dag:  # new run, or its file changed since
            if slot is not None:
                slot.close()
            slot = self.slots[run.run_id] = RunSlot(dag, run, self.storage, self.logs)
        slot.outputs.map_lengths.update(message.map_lengths)
        return slot

    def run_tasks(self, message: RunTasks) -> None:
        run_id, works = message.run.run_id, message.works
        now = datetime.now(UTC)
        self.beat.busy = True
        try:
            try:
                slot = self.slot_for(message)
            except Exception as exc:  # the DAG file or the run's resources: each task fails
                self.send(Started(run_id, works, now, HOSTNAME))
                self.report(message, [_not_run(work, now, exc) for work in works])
                return
            self.storage.write(WriteBatch(task_instances=[
                _record(slot.dag, run_id, w, TaskState.RUNNING, now) for w in works
            ]))  # fmt: skip
            self.send(Started(run_id, works, now, HOSTNAME))
            pending: list[TaskOutcome] = []
            last_report = time.monotonic()
            for work in works:
                pending.append(slot.run_one(work))
                if time.monotonic() - last_report >= GROUP_SECONDS:
                    self.report(message, pending, slot.dag)
                    pending, last_report = [], time.monotonic()
            if pending:
                self.report(message, pending, slot.dag)
        finally:
            self.beat.busy = False

    def report(
        self, message: RunTasks, outcomes: list[TaskOutcome], dag: DAG | None = None
    ) -> None:
        """Write the instances' end states, outputs and logs; then tell the parent."""
        run_id = message.run.run_id
        batch = WriteBatch()
        for outcome in outcomes:
            if dag is not None:
                batch.task_instances.append(_ended_record(dag, run_id, outcome))
            batch.outputs.extend(outcome.outputs)
            if outcome.logs:  # the lines not streamed while it ran
                batch.log_lines.extend(log_line_records(
                    run_id, outcome.task_id, outcome.map_index, outcome.try_number,
                    outcome.first_log_seq, outcome.logs,
                ))  # fmt: skip
        self.storage.write(batch)
        # Written: the parent reads them from the store, up to the seq after the last one.
        slim = [
            msgspec.structs.replace(
                o, outputs=[], logs=[], first_log_seq=o.first_log_seq + len(o.logs)
            )
            for o in outcomes
        ]
        self.send(Finished(run_id, slim))


def _record(
    dag: DAG, run_id: str, work: TaskWork, state: TaskState, when: datetime
) -> TaskInstanceRecord:
    task = dag.task_dict[work.task_id]
    return TaskInstanceRecord(
        run_id, work.task_id, work.map_index, work.try_number, task.retries, state,
        task.operator_name, start_date=when, hostname=HOSTNAME,
    )  # fmt: skip


def _ended_record(dag: DAG, run_id: str, outcome: TaskOutcome) -> TaskInstanceRecord:
    task = dag.task_dict[outcome.task_id]
    return TaskInstanceRecord(
        run_id, outcome.task_id, outcome.map_index, outcome.try_number, task.retries,
        outcome.state, task.operator_name, outcome.start_date, outcome.end_date,
        outcome.duration, outcome.hostname, outcome.retry_at,
    )  # fmt: skip


def _not_run(work: TaskWork, when: datetime, exc: Exception) -> TaskOutcome:
    """The outcome of a task instance the worker could not even start (DAG file, resources)."""
    error = f"{type(exc).__name__}: {exc}"
    return TaskOutcome(
        work.task_id, work.map_index, work.try_number, TaskState.FAILED, when,
        datetime.now(UTC), HOSTNAME, logs=[LogLine(when, "ERROR", error)], error=error,
    )  # fmt: skip


def worker_main(
    conn: Connection,
    address: StoreAddress,
    heartbeat_interval: float,
    one_shot: bool,
    parent_pid: int,
) -> None:
    """The entry point of a worker process (``one_shot``: run one message, then exit)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    install_log_routing()
    storage = address.open()
    use_store(storage)  # Connection.get / Variable in tasks read the worker's own store
    try:
        Worker(conn, storage, heartbeat_interval, parent_pid).serve(one_shot)
    finally:
        storage.close()
        conn.close()


__all__ = [
    "HEARTBEAT",
    "EndRun",
    "Finished",
    "RunTasks",
    "Started",
    "StoreAddress",
    "worker_main",
]
