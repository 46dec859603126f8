"""``RunRecorder``: turns a run's state changes into records and makes them durable.

Every change of a task instance or of the run goes through one method here,
which updates the record, adds its event to the pending ``WriteBatch`` and
notes the change's sequence number, all under one short lock. The pending
batch goes to a writer (``storage.group_commit``): on a persistent store a
``GroupCommitWriter`` whose thread takes the pending batch once a task has
run for ``IDLE_COMMIT_AFTER`` seconds with nothing else recorded (so a task
that started is shown running, and the tasks that finished before it are
committed, while it runs); the engine itself hands it over every
``flush_interval`` seconds or ``flush_size`` events (a stream of tiny tasks
stays a few big transactions). On the memory store an ``ImmediateWriter``
writes those flushes at once.

The design decision: the engine waits for the database in one place only,
``wait_for_tasks``, before it submits a task whose upstream tasks have
changes not yet committed; a batch of many instances finishing stays one
transaction. The lock makes each change one consistent step, so the writer
thread never snapshots a record halfway through a change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from partita.definitions.states import FINISHED_TASK_STATES, RunState, TaskState
from partita.engine.cancel import CancelRequest
from partita.engine.task_log import log_line_records
from partita.engine.work import LogLine, TaskOutcome
from partita.masking import mask
from partita.storage.base import Storage
from partita.storage.group_commit import BatchWriter, GroupCommitWriter, ImmediateWriter
from partita.storage.records import (
    AssetMaterializationRecord,
    AssetPartitionStatus,
    AssetPartitionStatusRecord,
    DagRunRecord,
    DagVersionRecord,
    EventKind,
    EventRecord,
    TaskInstanceRecord,
    WriteBatch,
)

#: Seconds without a task starting or ending after which the writer commits what is pending.
IDLE_COMMIT_AFTER = 0.02

_EVENT_STATES = frozenset(
    {
        TaskState.RUNNING,
        TaskState.SUCCESS,
        TaskState.FAILED,
        TaskState.SKIPPED,
        TaskState.UP_FOR_RETRY,
        TaskState.UP_FOR_RESCHEDULE,
        TaskState.UPSTREAM_FAILED,
        TaskState.CANCELLED,
    }
)


class RunListener(Protocol):
    """Watches a run as it goes (the CLI's progress display)."""

    def run_started(self, run: DagRunRecord, total: int) -> None: ...

    def task_changed(self, ti: TaskInstanceRecord) -> None: ...

    def try_ended(self, ti: TaskInstanceRecord, outcome: TaskOutcome) -> None:
        """One try ended: ``outcome`` has its error (``ti`` not yet updated).

        ``outcome.logs`` holds the lines of the try not yet written to the
        store, numbered from ``outcome.first_log_seq``; the lines before them
        were streamed to ``storage.logs`` while the try ran.
        """

    def task_expanded(self, task_id: str, length: int) -> None: ...

    def run_finished(self, run: DagRunRecord) -> None: ...


class RunRecorder:
    """Records one run's changes; ``close()`` makes everything durable and stops the writer."""

    def __init__(
        self,
        run: DagRunRecord,
        storage: Storage,
        listener: RunListener | None = None,
        *,
        flush_interval: float = 0.25,
        flush_size: int = 2000,
        writer: BatchWriter | None = None,
    ) -> None:
        self.run = run
        self.storage = storage
        #: The partitions the run is for (a range run's every key; the driver sets those).
        self.partition_keys = [run.partition_key] if run.partition_key is not None else []
        self.listener = listener
        self.flush_interval = flush_interval
        self.flush_size = flush_size
        self._lock = threading.Lock()
        self._batch = WriteBatch()
        self._dirty: dict[tuple[str, int], TaskInstanceRecord] = {}
        self._last_flush = time.monotonic()
        #: The writer's sequence number of the last batch handed over.
        self._submitted = 0
        #: Per task id: the sequence number of the batch holding its newest change.
        self._task_seq: dict[str, int] = {}
        #: When a task instance last changed (the engine is busy while this is recent).
        self._last_change = time.monotonic()
        self.idle_commit_after = IDLE_COMMIT_AFTER
        #: Called (in the writer's thread) when a heartbeat finds a cancel request.
        self.on_cancel: Callable[[CancelRequest], None] | None = None
        self.cancel_request: CancelRequest | None = None
        #: How many task instances started and have not ended.
        self._running = 0
        self.writer: BatchWriter = writer if writer is not None else self._default_writer()

    def _default_writer(self) -> BatchWriter:
        if not self.storage.persistent or not self.storage.threadsafe:
            # The memory store, or one connection shared by every thread: written in this one.
            return ImmediateWriter(self.storage)
        return GroupCommitWriter(self.storage, collect=self.collect, beat=self._beat)

    # -- the run ------------------------------------------------------------------------
    def run_began(
        self, version: DagVersionRecord, tis: Iterable[TaskInstanceRecord], total: int
    ) -> None:
        """Record the run as running with its DAG version and first task instances; flush."""
        with self._lock:
            batch = self._batch
            batch.dag_versions.append(version)
            batch.runs.append(self.run)
            batch.task_instances.extend(tis)
            self._run_event(RunState.RUNNING)
            self._flush()
        if self.listener is not None:
            self.listener.run_started(self.run, total)

    def run_finished(self, state: RunState, message: str | None = None) -> None:
        """Record the run's end state (written at the next flush)."""
        with self._lock:
            self.run = self.run.ended(state, datetime.now(UTC))
            self._batch.runs.append(self.run)
            self._run_event(state, message)

    def cancel_requested(self, when: datetime, grace: float) -> None:
        """Keep an operator's cancel request on the run's record (written with its end)."""
        with self._lock:
            self.run = self.run.cancel_requested(when, grace)

    def callback_errors(self, lines: Sequence[LogLine]) -> None:
        """Record what the DAG's callbacks logged as errors."""
        with self._lock:
            for line in lines:
                self._batch.events.append(EventRecord(
                    self.run.run_id, EventKind.CALLBACK_ERROR, line.timestamp,
                    payload={"message": mask(line.message)},
                ))  # fmt: skip

    # -- task instances -------------------------------------------------------------------
    def created(self, tis: Iterable[TaskInstanceRecord]) -> None:
        """New task instances (a mapped task's expansion)."""
        with self._lock:
            for ti in tis:
                self._dirty[ti.key] = ti
                self._task_seq[ti.task_id] = self._submitted + 1
            self._last_change = time.monotonic()

    def queued(self, ti: TaskInstanceRecord) -> TaskInstanceRecord:
        """A new try of ``ti`` is handed to the executor: ``ti`` as it is now."""
        with self._lock:
            ti = ti.queued()
            self._dirty[ti.key] = ti
            self._task_seq[ti.task_id] = self._submitted + 1
            return ti

    def started(self, ti: TaskInstanceRecord, when: datetime, hostname: str) -> TaskInstanceRecord:
        """``ti`` began to run: ``ti`` as it is now."""
        with self._lock:
            self._last_change = time.monotonic()
            self._running += 1
            ti = ti.started(when, hostname)
            self._task_event(ti, when)
            return ti

    def finished(self, ti: TaskInstanceRecord, outcome: TaskOutcome) -> TaskInstanceRecord:
        """A try of ``ti`` ended as ``outcome`` says (its logs, outputs, assets, error).

        Returns ``ti`` as it is now.
        """
        with self._lock:
            self._last_change = time.monotonic()
            self._running -= 1
            end = outcome.end_date
            ti = ti.finished(
                outcome.state, outcome.start_date, end, outcome.duration, outcome.hostname,
                outcome.retry_at or end,
            )  # fmt: skip
            batch = self._batch
            if self.listener is not None:
                self.listener.try_ended(ti, outcome)
            if outcome.logs:  # the lines not streamed yet: durable with the end state
                batch.log_lines.extend(log_line_records(
                    ti.run_id, ti.task_id, ti.map_index, outcome.try_number,
                    outcome.first_log_seq, outcome.logs,
                ))  # fmt: skip
            if outcome.outputs:
                batch.outputs.extend(outcome.outputs)
            if outcome.materializations:
                self._materialized(ti, outcome.materializations)
            if outcome.check_evaluations:
                batch.check_evaluations.extend(outcome.check_evaluations)
            if outcome.failed_asset_keys and self.partition_keys:
                batch.partition_statuses.extend(
                    AssetPartitionStatusRecord(
                        key, partition, AssetPartitionStatus.FAILED, ti.run_id, end
                    )
                    for key in outcome.failed_asset_keys
                    for partition in self.partition_keys
                )
            if outcome.error is not None:
                metadata = outcome.error_metadata
                self._error_event(ti, end, outcome.error, outcome.traceback, metadata)
            extra: dict[str, Any] | None = None
            if outcome.followed_branches is not None or outcome.skip_downstream:
                extra = {"skipped_downstream": list(outcome.skip_downstream)}
                if outcome.followed_branches is not None:
                    extra["followed"] = list(outcome.followed_branches)
            self._task_event(ti, end, extra)
            return ti

    def recovered(self, ti: TaskInstanceRecord, outcome: TaskOutcome) -> TaskInstanceRecord:
        """A try that ended while no driver listened (its driver died; its worker reported
        it): recorded now, as ``finished`` records one. Returns ``ti`` as it is now."""
        with self._lock:
            self._running += 1  # ``finished`` counts it out
        return self.finished(ti, outcome)

    def lost(
        self, ti: TaskInstanceRecord, when: datetime, reason: str, count: int, *, again: bool
    ) -> TaskInstanceRecord:
        """A running try of ``ti`` was lost with its worker (the ``count``-th time).

        ``again``: ``ti`` is scheduled again; else it is about to fail (``finished``).
        Returns ``ti`` as it is now.
        """
        with self._lock:
            self._last_change = time.monotonic()
            self._batch.events.append(EventRecord(
                ti.run_id, EventKind.TASK_LOST, when, ti.task_id, ti.map_index, ti.try_number,
                {"reason": reason, "lost": count},
            ))  # fmt: skip
            if again:
                self._running -= 1
                ti = ti.lost(when)
                self._task_event(ti, when)
            return ti

    def changed(
        self,
        ti: TaskInstanceRecord,
        state: TaskState,
        when: datetime,
        extra: dict[str, Any] | None = None,
    ) -> TaskInstanceRecord:
        """The state machine moved ``ti`` to ``state`` (ready, skipped, cancelled...).

        Returns ``ti`` as it is now.
        """
        with self._lock:
            self._last_change = time.monotonic()
            ti = ti.moved(state, when)
            self._task_event(ti, when, extra)
            return ti

    def failed_to_expand(self, ti: TaskInstanceRecord, when: datetime, error: str) -> None:
        """A mapped task's input could not be read: its error event."""
        with self._lock:
            self._error_event(ti, when, error, None, {})

    # -- durability -----------------------------------------------------------------------
    def wait_for_tasks(self, task_ids: Iterable[str]) -> None:
        """Return once every change of these tasks' instances is durable (persistent stores)."""
        if not self.writer.durable:
            return
        task_seq, needed = self._task_seq, 0
        for task_id in task_ids:
            seq = task_seq.get(task_id, 0)
            if seq > needed:
                needed = seq
        if needed > self._submitted:
            self.flush()
        if needed:
            self.writer.wait(needed)

    def sync(self) -> None:
        """Return once every change recorded so far is durable (persistent stores)."""
        if not self.writer.durable:
            return
        self.flush()
        self.writer.wait(self._submitted)

    def maybe_flush(self) -> None:
        """Flush when the pending batch is big or old enough."""
        if (
            len(self._batch.events) >= self.flush_size
            or time.monotonic() - self._last_flush >= self.flush_interval
        ):
            self.flush()

    def flush(self) -> None:
        """Hand the pending batch to the writer."""
        with self._lock:
            self._flush()

    def collect(self) -> None:
        """The writer thread's call: hand over what is pending while a task runs long.

        While tasks start and end every few microseconds the engine's own flushes
        batch them; once a task has run for ``idle_commit_after`` seconds with
        nothing else recorded, what was recorded before is committed (the engine
        itself is inside the task, or waits for it).
        """
        if not self._running or time.monotonic() - self._last_change < self.idle_commit_after:
            return
        with self._lock:
            self._flush(from_writer=True)

    def close(self) -> None:
        """Flush and wait until everything is durable; the writer stops."""
        self.flush()
        self.writer.close()

    def _flush(self, from_writer: bool = False) -> None:
        batch = self._batch
        if self._dirty:
            batch.task_instances.extend(self._dirty.values())
            self._dirty = {}
        self._last_flush = time.monotonic()
        if not batch:
            return
        # Submitted before it is replaced: if the store cannot hold a value, the batch stays.
        self._submitted = self.writer.submit(batch)
        self._batch = WriteBatch()
        if not from_writer:
            self.writer.push()

    def _beat(self) -> None:
        self.storage.heartbeat(self.run.run_id, datetime.now(UTC))
        if self.on_cancel is not None and self.cancel_request is None:
            run = self.storage.runs.get_run(self.run.run_id)
            if run.cancel_requested_at is not None:  # ``partita runs cancel``
                self.cancel_request = CancelRequest(run.cancel_requested_at, run.cancel_grace or 0)
                self.on_cancel(self.cancel_request)

    # -- events ---------------------------------------------------------------------------
    def _task_event(
        self, ti: TaskInstanceRecord, when: datetime, extra: dict[str, Any] | None = None
    ) -> None:
        self._dirty[ti.key] = ti
        self._task_seq[ti.task_id] = self._submitted + 1
        state = ti.state
        if state in _EVENT_STATES:
            payload: dict[str, Any] = {"state": state._value_}
            if ti.duration is not None and state in FINISHED_TASK_STATES:
                payload["duration"] = ti.duration
            if extra:
                payload.update(extra)
            self._batch.events.append(EventRecord(
                ti.run_id, EventKind.TASK_STATE, when, ti.task_id, ti.map_index, ti.try_number,
                payload,
            ))  # fmt: skip
        if self.listener is not None:
            self.listener.task_changed(ti)

    def _error_event(
        self,
        ti: TaskInstanceRecord,
        when: datetime,
        error: str,
        traceback: str | None,
        metadata: dict[str, Any],
    ) -> None:
        shown_traceback = None if traceback is None else mask(traceback)
        self._batch.events.append(EventRecord(
            ti.run_id, EventKind.TASK_ERROR, when, ti.task_id, ti.map_index, ti.try_number,
            {"error": mask(error), "traceback": shown_traceback, "metadata": metadata},
        ))  # fmt: skip

    def _materialized(
        self, ti: TaskInstanceRecord, records: Sequence[AssetMaterializationRecord]
    ) -> None:
        """Add the assets a task instance materialized to the catalog (and the event log)."""
        batch = self._batch
        batch.materializations.extend(records)
        batch.partition_statuses.extend(
            AssetPartitionStatusRecord(
                m.asset_key, m.partition_key, AssetPartitionStatus.MATERIALIZED, m.run_id,
                m.timestamp,
            )
            for m in records
            if m.partition_key is not None
        )  # fmt: skip
        for m in records:
            batch.events.append(EventRecord(
                ti.run_id, EventKind.ASSET_MATERIALIZED, m.timestamp, ti.task_id, ti.map_index,
                ti.try_number,
                {"asset_key": list(m.asset_key.path), "data_version": m.data_version,
                 "location": m.location},
            ))  # fmt: skip

    def _run_event(self, state: RunState, message: str | None = None) -> None:
        payload: dict[str, Any] = {"state": state.value}
        if message:
            payload["message"] = message
        self._batch.events.append(
            EventRecord(self.run.run_id, EventKind.RUN_STATE, datetime.now(UTC), payload=payload)
        )


__all__ = ["RunListener", "RunRecorder"]
