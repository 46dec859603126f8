"""``RunDriver``: drives one DAG run from start to end through an executor.

The loop is: take the tasks the state machine says are ready, submit them,
poll the executor for outcomes, feed each outcome back to the state machine,
record what changed. Records are written in batches (a flush every
``flush_interval`` seconds or ``flush_size`` events, and at the end), each
batch in one transaction. If the driver itself is interrupted or crashes,
every unfinished task instance is recorded as cancelled and the run as
failed before the exception goes on, so no run is left half-recorded.

Run config and resources are checked when the driver is built, before
anything is recorded (``run_config``, ``resources``); resources are opened
once at the start of ``run()`` and closed at its end, whatever happened.
"""

from __future__ import annotations

import gc
import heapq
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from partita.definitions.dag import DAG
from partita.definitions.ids import check_id_length
from partita.definitions.serialize import dag_version, serialize_dag
from partita.definitions.states import RunState, TaskState
from partita.engine.active_run import ActiveRun, InvalidTransition, TIKey
from partita.engine.asset_lineage import UpstreamVersions
from partita.engine.mapping import InstanceResolver, is_mapped, map_sources, task_spec
from partita.engine.outputs import StoreOutputAccess
from partita.engine.prepare import check_conf, new_run_id, resolve_params, run_dates
from partita.engine.resources import RunResources, io_aware_pull
from partita.engine.result import RunResult
from partita.engine.run_config import resolve_run_config
from partita.engine.runtime import run_context
from partita.engine.task_log import LiveLogs, log_line_records
from partita.engine.task_runner import HOSTNAME, run_callbacks
from partita.engine.work import Executor, LogLine, RunInfo, TaskOutcome, TaskWork
from partita.storage.base import Storage
from partita.storage.records import (
    AssetMaterializationRecord,
    DagRunRecord,
    DagVersionRecord,
    EventKind,
    EventRecord,
    TaskInstanceRecord,
    WriteBatch,
)

_EVENT_STATES = frozenset(
    {
        TaskState.RUNNING,
        TaskState.SUCCESS,
        TaskState.FAILED,
        TaskState.SKIPPED,
        TaskState.UP_FOR_RETRY,
        TaskState.UPSTREAM_FAILED,
        TaskState.CANCELLED,
    }
)


#: Default for ``RunDriver(max_lost_attempts=)``: tries lost with their worker before failing.
DEFAULT_MAX_LOST_ATTEMPTS = 3

_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] | None = None


@contextmanager
def gc_relaxed() -> Iterator[None]:
    """Collect cyclic garbage less often during a run, as the previous thresholds allow.

    A run allocates many small records that live until it ends; with Python's
    default thresholds they trigger a dozen full collections in a 100,000-task
    run, each scanning every record (a quarter of the run's time). The
    thresholds are raised, never lowered, and restored when the last of the
    runs overlapping in this process (in threads) ends.
    """
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = saved = gc.get_threshold()
            gc.set_threshold(max(saved[0], 50_000), max(saved[1], 20), max(saved[2], 100))
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)
                _gc_saved = None


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


class RunDriver:
    """Runs one DAG once. Build it, then call ``run()``."""

    def __init__(
        self,
        dag: DAG,
        executor: Executor,
        storage: Storage,
        *,
        run_conf: Mapping[str, Any] | None = None,
        logical_date: datetime | None = None,
        run_type: str = "manual",
        run_id: str | None = None,
        listener: RunListener | None = None,
        flush_interval: float = 0.25,
        flush_size: int = 2000,
        resources: Mapping[str, Any] | None = None,
        max_lost_attempts: int = DEFAULT_MAX_LOST_ATTEMPTS,
    ) -> None:
        dag.validate()
        self.max_lost_attempts = max_lost_attempts
        #: How many tries of each instance were lost with their worker (see ``_apply_lost``).
        self._lost_tries: dict[TIKey, int] = {}
        self.dag = dag
        self.executor = executor
        self.storage = storage
        self.listener = listener
        self.flush_interval = flush_interval
        self.flush_size = flush_size
        conf = check_conf(dag, run_conf)
        # Run config and resources are checked here, before anything of the run is recorded.
        run_config = resolve_run_config(dag, conf)
        self.resources = RunResources(dag, storage, resources, run_config.resources)
        if run_id is not None:
            check_id_length(run_id, f"DAG {dag.dag_id!r}: run id", "choose a shorter run id")
        ld, start, end = run_dates(dag, logical_date)
        self.info = RunInfo(
            run_id=run_id or new_run_id(run_type, ld),
            dag_id=dag.dag_id,
            run_type=run_type,
            logical_date=ld,
            data_interval_start=start,
            data_interval_end=end,
            conf=conf,
            params=resolve_params(dag, conf),
            dag_fileloc=dag.fileloc,
            task_config=run_config.tasks,
        )
        self._batch = WriteBatch()
        self._dirty: dict[tuple[str, int], TaskInstanceRecord] = {}
        self._last_flush = time.monotonic()
        self._retries: list[tuple[datetime, TIKey]] = []
        self._in_flight = 0
        self._upstream_versions = UpstreamVersions(storage.assets)

    # -- public ---------------------------------------------------------------------
    def run(self) -> RunResult:
        """Run the DAG to the end and return its result."""
        self.resource_view = self.resources.open()  # once per run; closed whatever happens
        self.live_logs = LiveLogs(self.storage)
        try:
            with gc_relaxed():
                self._begin()
                try:
                    self._loop()
                except BaseException as exc:
                    self._abort(exc)
                    raise
                self._end()
        finally:
            self.live_logs.stop()
            self.resources.close()
        run_id = self.info.run_id
        return RunResult(self.storage, run_id, self.resources.value_loader(run_id))

    # -- phases -----------------------------------------------------------------------
    def _begin(self) -> None:
        serialized = serialize_dag(self.dag)
        version = dag_version(serialized)
        now = datetime.now(UTC)
        info = self.info
        self.record = DagRunRecord(
            run_id=info.run_id, dag_id=info.dag_id, dag_version=version,
            state=RunState.RUNNING, run_type=info.run_type, logical_date=info.logical_date,
            data_interval_start=info.data_interval_start,
            data_interval_end=info.data_interval_end, conf=info.conf, queued_at=now,
            start_date=now, hostname=HOSTNAME, pid=os.getpid(),
        )  # fmt: skip
        self.tis: dict[TIKey, TaskInstanceRecord] = {
            (t.task_id, -1): self._new_ti(t.task_id, -1, TaskState.NONE)
            for t in self.dag.task_dict.values()
            if not is_mapped(t)
        }
        batch = self._batch
        batch.dag_versions.append(DagVersionRecord(info.dag_id, version, serialized, now))
        batch.runs.append(self.record)
        batch.task_instances.extend(self.tis.values())
        self._run_event(RunState.RUNNING)
        self._flush()
        self.active = ActiveRun(task_spec(t) for t in self.dag.task_dict.values())
        self.outputs = StoreOutputAccess(self.storage, info.run_id)
        self._pull_output = io_aware_pull(self.dag, info.run_id, self.outputs, self.resource_view)
        self.resolver = InstanceResolver(self.dag, self._pull)
        self.map_sources = map_sources(self.dag)
        self.base_context = run_context(self.info, self.dag, self.resource_view)
        if self.listener is not None:
            self.listener.run_started(self.record, len(self.tis))
        self.executor.start(
            self.info, self.dag, self.outputs, self._on_started, self.resource_view,
            logs=self.live_logs,
        )  # fmt: skip
        self._apply_changes(self.active.start(), now)
        self._expand_ready()

    def _loop(self) -> None:
        active = self.active
        while not active.finished:
            self._release_due_retries()
            for key in active.take_ready():
                self._submit(key)
            if self._in_flight == 0:
                if not self._retries:
                    raise InvalidTransition(f"run {self.info.run_id} stalled with nothing to run")
                self._maybe_flush()
                wait = (self._retries[0][0] - datetime.now(UTC)).total_seconds()
                time.sleep(min(max(wait, 0.0), self.flush_interval))
                continue
            timeout = None
            if self._retries:
                timeout = max((self._retries[0][0] - datetime.now(UTC)).total_seconds(), 0.0)
            for outcome in self.executor.poll(timeout):
                self._in_flight -= 1
                self._apply_outcome(outcome)
            self._maybe_flush()

    def _end(self) -> None:
        self.executor.shutdown()
        state = self.active.run_state()
        self._finish_run(state)
        reason = "success" if state is RunState.SUCCESS else "task_failure"
        callbacks = (
            self.dag.on_success_callback if state is RunState.SUCCESS
            else self.dag.on_failure_callback
        )  # fmt: skip
        if callbacks:
            self._dag_callbacks(callbacks, reason)
        self._flush()
        if self.listener is not None:
            self.listener.run_finished(self.record)

    def _abort(self, exc: BaseException) -> None:
        """Record the run as failed and every unfinished task as cancelled."""
        try:
            self.executor.shutdown()
        finally:
            if hasattr(self, "active"):
                now = datetime.now(UTC)
                self._apply_changes(self.active.cancel_unfinished(), now)
                reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else "engine error"
                self._finish_run(RunState.FAILED, f"{reason}: {type(exc).__name__}: {exc}")
                self._flush()

    # -- steps --------------------------------------------------------------------------
    def _new_ti(self, task_id: str, map_index: int, state: TaskState) -> TaskInstanceRecord:
        task = self.dag.task_dict[task_id]
        return TaskInstanceRecord(
            self.info.run_id, task_id, map_index, 0, task.retries, state, task.operator_name
        )

    def _ti(self, key: TIKey) -> TaskInstanceRecord:
        ti = self.tis.get(key)
        if ti is None:  # a mapped task that ended without expanding
            ti = self.tis[key] = self._new_ti(key[0], key[1], TaskState.NONE)
        return ti

    def _pull(self, task_id: str, key: str) -> Any:
        return self._pull_output(task_id, -1, key)[1]

    def _expand_ready(self) -> None:
        """Expand the mapped tasks whose trigger rule passed, now that their input is known."""
        while expandable := self.active.take_expandable():
            for task_id in expandable:
                self._expand(task_id)

    def _expand(self, task_id: str) -> None:
        task = self.dag.task_dict[task_id]
        now = datetime.now(UTC)
        try:
            length = self.resolver.length(task)
        except Exception as exc:
            ti = self._ti((task_id, -1))
            self._error_event(ti, now, f"{type(exc).__name__}: {exc}", None, {})
            self._apply_changes(self.active.fail_expansion(task_id, TaskState.FAILED), now)
            return
        changes = self.active.expand(task_id, length, self.resolver.widths(task) if length else ())
        if length:
            self.outputs.map_lengths[task_id] = length
            for index in range(length):
                ti = self.tis[(task_id, index)] = self._new_ti(task_id, index, TaskState.SCHEDULED)
                self._dirty[(task_id, index)] = ti
            if self.listener is not None:
                self.listener.task_expanded(task_id, length)
        self._apply_changes(changes, now)

    def _submit(self, key: TIKey) -> None:
        ti = self.tis[key]
        ti.try_number += 1
        ti.state = TaskState.QUEUED
        ti.retry_at = None
        self._dirty[key] = ti
        self._in_flight += 1
        self.executor.submit(TaskWork(key[0], key[1], ti.try_number, self._lost_tries.get(key, 0)))

    def _on_started(self, work: TaskWork, when: datetime, hostname: str) -> None:
        key = (work.task_id, work.map_index)
        self.active.mark_running(key)
        ti = self.tis[key]
        ti.state = TaskState.RUNNING
        ti.start_date = when
        ti.end_date = None
        ti.duration = None
        ti.hostname = hostname
        self._task_event(ti, when)

    def _apply_outcome(self, outcome: TaskOutcome) -> None:
        key = (outcome.task_id, outcome.map_index)
        if outcome.lost:
            self._apply_lost(key, outcome)
            return
        ti = self.tis[key]
        if outcome.state is TaskState.SUCCESS and outcome.task_id in self.map_sources:
            self._check_map_source(outcome)
        end = outcome.end_date
        ti.state = outcome.state
        ti.start_date = outcome.start_date
        ti.end_date = end
        ti.duration = outcome.duration
        ti.hostname = outcome.hostname
        batch = self._batch
        if self.listener is not None:
            self.listener.try_ended(ti, outcome)
        if outcome.logs:  # the lines not streamed yet: durable with the end state
            batch.log_lines.extend(log_line_records(
                ti.run_id, ti.task_id, ti.map_index, outcome.try_number, outcome.first_log_seq,
                outcome.logs,
            ))  # fmt: skip
        if outcome.outputs:
            batch.outputs.extend(outcome.outputs)
        if outcome.materializations:
            self._materialized(ti, outcome.materializations)
        if outcome.check_evaluations:
            batch.check_evaluations.extend(outcome.check_evaluations)
        if outcome.error is not None:
            self._error_event(ti, end, outcome.error, outcome.traceback, outcome.error_metadata)
        extra: dict[str, Any] | None = None
        if outcome.followed_branches is not None or outcome.skip_downstream:
            extra = {"skipped_downstream": list(outcome.skip_downstream)}
            if outcome.followed_branches is not None:
                extra["followed"] = list(outcome.followed_branches)
        self._task_event(ti, end, extra)
        if outcome.state is TaskState.UP_FOR_RETRY:
            retry_at = outcome.retry_at or end
            ti.retry_at = retry_at
            self.active.mark_up_for_retry(key)
            heapq.heappush(self._retries, (retry_at, key))
            return
        changes = self.active.finish(key, outcome.state, outcome.skip_downstream)
        skipped = set(outcome.skip_downstream)
        self._apply_changes(changes, end, skipped_by=ti.task_id if skipped else None, only=skipped)
        self._expand_ready()

    def _apply_lost(self, key: TIKey, outcome: TaskOutcome) -> None:
        """The try was lost with its worker: run it again (no retry used), or fail at the limit."""
        ti = self.tis[key]
        if ti.state is TaskState.QUEUED:  # lost before its worker said it started
            work = TaskWork(key[0], key[1], ti.try_number)
            self._on_started(work, outcome.start_date, outcome.hostname)
        lost = self._lost_tries[key] = self._lost_tries.get(key, 0) + 1
        reason = outcome.error or "its worker process died"
        when = outcome.end_date
        self._batch.events.append(EventRecord(
            ti.run_id, EventKind.TASK_LOST, when, ti.task_id, ti.map_index, ti.try_number,
            {"reason": reason, "lost": lost},
        ))  # fmt: skip
        if lost >= self.max_lost_attempts:
            outcome.lost = False
            outcome.state = TaskState.FAILED
            outcome.error = (
                f"WorkerLost: task {ti.task_id!r} lost its worker {lost} times (last: {reason}); "
                f"it failed after max_lost_attempts={self.max_lost_attempts}"
            )
            outcome.traceback = None
            self._apply_outcome(outcome)
            return
        self.active.requeue_lost(key)
        ti.state = TaskState.SCHEDULED
        ti.end_date = when
        self._task_event(ti, when)

    def _check_map_source(self, outcome: TaskOutcome) -> None:
        """A task whose output is expanded over must return a list or a dict (else it fails)."""
        task_id = outcome.task_id
        for out_key, mapped in self.map_sources[task_id]:
            found, value = self._pull_output(task_id, outcome.map_index, out_key)
            if not isinstance(value, (list, tuple, dict)):
                got = type(value).__name__ if found else "nothing"
                outcome.state = TaskState.FAILED
                outcome.error = (
                    f"MapInputError: task {task_id!r} returned {got}, but task {mapped!r} "
                    f"expands over its output {out_key!r}; return a list or a dict"
                )
                outcome.traceback = None
                return

    def _error_event(
        self,
        ti: TaskInstanceRecord,
        when: datetime,
        error: str,
        traceback: str | None,
        metadata: dict[str, Any],
    ) -> None:
        self._batch.events.append(EventRecord(
            ti.run_id, EventKind.TASK_ERROR, when, ti.task_id, ti.map_index, ti.try_number,
            {"error": error, "traceback": traceback, "metadata": metadata},
        ))  # fmt: skip

    def _materialized(
        self, ti: TaskInstanceRecord, records: Sequence[AssetMaterializationRecord]
    ) -> None:
        """Add the assets a task instance materialized to the catalog (and the event log)."""
        batch = self._batch
        definition = getattr(self.dag.task_dict[ti.task_id], "asset_definition", None)
        upstream = definition.upstream_keys() if definition is not None else []
        self._upstream_versions.annotate(records, upstream)
        batch.materializations.extend(records)
        for m in records:
            batch.events.append(EventRecord(
                ti.run_id, EventKind.ASSET_MATERIALIZED, m.timestamp, ti.task_id, ti.map_index,
                ti.try_number,
                {"asset_key": list(m.asset_key.path), "data_version": m.data_version,
                 "location": m.location},
            ))  # fmt: skip

    def _apply_changes(
        self,
        changes: list[tuple[TIKey, TaskState]],
        when: datetime,
        skipped_by: str | None = None,
        only: set[str] | None = None,
    ) -> None:
        for key, state in changes:
            ti = self._ti(key)
            ti.state = state
            if state.finished:
                ti.end_date = when
            marked = skipped_by is not None and only is not None and key[0] in only
            self._task_event(ti, when, {"skipped_by": skipped_by} if marked else None)

    def _release_due_retries(self) -> None:
        if not self._retries:
            return
        now = datetime.now(UTC)
        while self._retries and self._retries[0][0] <= now:
            _, key = heapq.heappop(self._retries)
            self.active.retry_now(key)

    def _finish_run(self, state: RunState, message: str | None = None) -> None:
        self.record.state = state
        self.record.end_date = datetime.now(UTC)
        self._batch.runs.append(self.record)
        self._run_event(state, message)

    def _dag_callbacks(self, callbacks: Any, reason: str) -> None:
        context = dict(self.base_context)
        context["reason"] = reason
        context["task_instances"] = list(self.tis.values())
        lines: list[LogLine] = []
        run_callbacks(callbacks, context, lines, "DAG callback")  # type: ignore[arg-type]
        for line in lines:
            self._batch.events.append(EventRecord(
                self.info.run_id, EventKind.CALLBACK_ERROR, line.timestamp,
                payload={"message": line.message},
            ))  # fmt: skip

    # -- records ------------------------------------------------------------------------
    def _task_event(
        self, ti: TaskInstanceRecord, when: datetime, extra: dict[str, Any] | None = None
    ) -> None:
        self._dirty[ti.key] = ti
        if ti.state in _EVENT_STATES:
            payload: dict[str, Any] = {"state": ti.state.value}
            if ti.duration is not None and ti.state.finished:
                payload["duration"] = ti.duration
            if extra:
                payload.update(extra)
            self._batch.events.append(EventRecord(
                ti.run_id, EventKind.TASK_STATE, when, ti.task_id, ti.map_index, ti.try_number,
                payload,
            ))  # fmt: skip
        if self.listener is not None:
            self.listener.task_changed(ti)

    def _run_event(self, state: RunState, message: str | None = None) -> None:
        payload: dict[str, Any] = {"state": state.value}
        if message:
            payload["message"] = message
        self._batch.events.append(
            EventRecord(self.info.run_id, EventKind.RUN_STATE, datetime.now(UTC), payload=payload)
        )

    def _maybe_flush(self) -> None:
        if (
            len(self._batch.events) >= self.flush_size
            or time.monotonic() - self._last_flush >= self.flush_interval
        ):
            self._flush()

    def _flush(self) -> None:
        batch = self._batch
        if self._dirty:
            batch.task_instances.extend(self._dirty.values())
            self._dirty = {}
        if batch:
            self.storage.write(batch)
        self._batch = WriteBatch()
        self._last_flush = time.monotonic()


__all__ = ["RunDriver", "RunListener"]
