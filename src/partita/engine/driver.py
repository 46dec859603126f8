"""``RunDriver``: drives one DAG run from start to end through an executor.

The loop is: take the tasks the state machine says are ready, submit them,
poll the executor for outcomes, feed each outcome back to the state machine.
What changed is recorded by a ``RunRecorder`` (``engine.recorder``), which
builds the events and makes them durable; before a task is submitted the
driver waits until its upstream tasks' changes are durable, so a task that
finished stays finished whatever happens next. If the driver itself is
interrupted or crashes, every unfinished task instance is recorded as
cancelled and the run as failed before the exception goes on, so no run is
left half-recorded.

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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from msgspec.structs import replace

from partita.definitions.dag import DAG
from partita.definitions.ids import check_id_length
from partita.definitions.partition_range import RANGE_SEPARATOR
from partita.definitions.resources import ResourcesView
from partita.definitions.serialize import dag_version, serialize_dag
from partita.definitions.states import RunState, TaskState
from partita.engine.active_run import ActiveRun, InvalidTransition, TIKey
from partita.engine.admission import TaskGate
from partita.engine.asset_lineage import UpstreamVersions
from partita.engine.cancel import CancelRequest, RunCancelled
from partita.engine.mapping import InstanceResolver, is_mapped, map_sources, task_spec
from partita.engine.outputs import StoreOutputAccess
from partita.engine.partition_context import partition_keys_of_run
from partita.engine.prepare import (
    check_conf,
    check_partition_key,
    new_run_id,
    resolve_params,
    run_dates,
)
from partita.engine.recorder import RunListener, RunRecorder
from partita.engine.reschedule import RescheduleBook
from partita.engine.resources import RunResources, io_aware_pull
from partita.engine.result import RunResult
from partita.engine.run_config import resolve_run_config
from partita.engine.runtime import run_context
from partita.engine.secrets import use_store
from partita.engine.task_log import LiveLogs
from partita.engine.task_runner import HOSTNAME, run_callbacks
from partita.engine.work import Executor, LogLine, RunInfo, TaskOutcome, TaskWork
from partita.storage.base import Storage
from partita.storage.group_commit import BatchWriter
from partita.storage.records import (
    AssetMaterializationRecord,
    DagRunRecord,
    DagVersionRecord,
    EventKind,
    TaskInstanceRecord,
)

#: A task that ran this long has its end committed before the next task starts (a commit
#: is cheap next to it); shorter ones go with the next flush, or the writer thread's look
#: once the engine sits still, and in any case before a task that depends on them starts.
SYNC_AFTER_SECONDS = 0.02
_SYNC_AFTER = timedelta(seconds=SYNC_AFTER_SECONDS)
#: The states an instance ends in by running (the others are decided for it).
_OWN_END_STATES = frozenset({TaskState.SUCCESS, TaskState.FAILED, TaskState.SKIPPED})
_OWN_END_VALUES = frozenset(state.value for state in _OWN_END_STATES)


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


class RunDriver:
    """Runs one DAG once. Build it, then call ``run()``; or step it (``begin``, ``step``, ``end``).

    ``run()`` blocks until the run ends (``partita run``, ``dag.test()``). The
    scheduler drives many runs at once instead: ``begin()``, then ``step()``
    (which waits at most ``timeout`` seconds and says whether the run
    finished) until it returns True, then ``end()``; ``abort(exc)`` stops a run
    and records it failed. A driver built with ``for_run`` starts a run that
    was queued; with ``begin(resume=True)`` it carries on a run whose driver
    died, from its stored task instances.
    """

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
        writer: BatchWriter | None = None,
        max_lost_attempts: int = DEFAULT_MAX_LOST_ATTEMPTS,
        data_interval: tuple[datetime, datetime] | None = None,
        gate: TaskGate | None = None,
        partition_key: str | None = None,
    ) -> None:
        dag.validate()
        self.max_lost_attempts = max_lost_attempts
        #: How many tries of each instance were lost with their worker (see ``_apply_lost``).
        self._lost_tries: dict[TIKey, int] = {}
        self.dag = dag
        self.executor = executor
        self.storage = storage
        use_store(storage)  # Connection.get / Variable in this process's tasks read it
        self.listener = listener
        conf = check_conf(dag, run_conf)
        # Run config and resources are checked here, before anything of the run is recorded.
        run_config = resolve_run_config(dag, conf)
        self.resources = RunResources(dag, storage, resources, run_config.resources)
        if run_id is not None:
            check_id_length(run_id, f"DAG {dag.dag_id!r}: run id", "choose a shorter run id")
        partition_key = check_partition_key(dag, partition_key, storage.partitions)
        ld, start, end = run_dates(dag, logical_date)
        if data_interval is not None:  # a scheduled run: the timetable's own interval
            start, end = data_interval
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
            partition_key=partition_key,
        )
        with gc_relaxed():  # thousands of records: as cheap as inside the run
            self.serialized = serialize_dag(dag)
            info = self.info
            self._queued_record = _queued_run(info, dag_version(self.serialized))
            self.tis: dict[TIKey, TaskInstanceRecord] = {
                (t.task_id, -1): self._new_ti(t.task_id, -1, TaskState.NONE)
                for t in dag.task_dict.values()
                if not is_mapped(t)
            }
            self.active = ActiveRun(task_spec(t) for t in dag.task_dict.values())
            self.outputs = StoreOutputAccess(storage, info.run_id)
            #: Reads an output through its IO manager; set again once the resources are open.
            self._pull_output: Callable[[str, int, str], tuple[bool, Any]] = self.outputs.pull
            self.resolver = InstanceResolver(dag, self._pull)
            self.map_sources = map_sources(dag)
            self._upstream = {t: tuple(spec.upstream) for t, spec in self.active.specs.items()}
        self.recorder_options: dict[str, Any] = {
            "flush_interval": flush_interval, "flush_size": flush_size, "writer": writer,
        }  # fmt: skip
        #: Made when the run begins (it may start a writer thread).
        self.recorder: RunRecorder | None = None
        #: The run's opened resources and the context every task starts from, once begun.
        self.resource_view: ResourcesView | None = None
        self.base_context: dict[str, Any] = {}
        self._retries: list[tuple[datetime, TIKey]] = []
        #: Sensors' tries waiting for their next poke (``up_for_reschedule``) go on from here.
        self._rescheduled = RescheduleBook()
        #: The first task instance that failed, with its error (for the DAG's failure callbacks).
        self._first_failure: tuple[TIKey, str] | None = None
        self._in_flight = 0
        #: An operator's cancel request, once the recorder's heartbeat found one.
        self._cancel: CancelRequest | None = None
        self._upstream_versions = UpstreamVersions(storage.assets)
        #: The stored run this driver starts (``for_run``); None: a new run of its own.
        self.stored_run: DagRunRecord | None = None
        #: Decides which ready instances may start (pools, max_active_tasks); None: all.
        self.gate = gate
        self._held: list[TIKey] = []
        self._resubmit: list[TIKey] = []
        self._replaying = False
        self._open = False
        self._aborted = False
        self._cancelled = False

    @classmethod
    def for_run(
        cls, dag: DAG, executor: Executor, storage: Storage, run: DagRunRecord, **options: Any
    ) -> RunDriver:
        """A driver for ``run``, a stored (queued or interrupted) run: its id, dates and conf."""
        interval = None
        if run.data_interval_start is not None and run.data_interval_end is not None:
            interval = (run.data_interval_start, run.data_interval_end)
        driver = cls(
            dag, executor, storage, run_conf=run.conf, logical_date=run.logical_date,
            run_type=run.run_type, run_id=run.run_id, data_interval=interval,
            partition_key=run.partition_key, **options,
        )  # fmt: skip
        driver.stored_run = run
        if run.tags:  # labels the run was queued with stay on it
            driver._queued_record = replace(driver._queued_record, tags=dict(run.tags))
        return driver

    # -- public ---------------------------------------------------------------------
    @property
    def record(self) -> DagRunRecord:
        """The run's record as it is now (the recorder's, once the run began)."""
        return self._queued_record if self.recorder is None else self.recorder.run

    def run(self) -> RunResult:
        """Run the DAG to the end and return its result."""
        with gc_relaxed():
            self.begin()
            while not self.step(None):
                pass
            return self.end()

    def begin(self, *, resume: bool = False) -> None:
        """Open the resources, record the run as running and hand out its first tasks.

        With ``resume`` (a ``for_run`` driver), the run's stored task instances
        are taken up: finished ones stay finished, and the others (those that were
        running when the previous driver died are lost attempts) run again.
        """
        self.resource_view = self.resources.open()  # once per run; closed whatever happens
        self.live_logs = LiveLogs(self.storage)
        self._open = True
        try:
            self._begin(resume)
        except BaseException as exc:
            self.abort(exc)
            raise

    def step(self, timeout: float | None = 0.0) -> bool:
        """Hand out ready tasks and take in outcomes, waiting at most ``timeout`` seconds
        (None: until something happens); True once the run is finished (call ``end``)."""
        try:
            return self._step(timeout)
        except RunCancelled:  # an operator cancelled the run: ``end`` records it cancelled
            self._cancelled = True
            return True
        except BaseException as exc:
            self.abort(exc)
            raise

    def end(self) -> RunResult:
        """Record the end of a finished run, run its DAG callbacks, close its resources."""
        try:
            if self._cancelled:
                self._end_cancelled()
            else:
                self._end()
        except BaseException as exc:
            self.abort(exc)
            raise
        self._close_resources()
        run_id = self.info.run_id
        loader = self.resources.value_loader(run_id, self.info.partition_key)
        return RunResult(self.storage, run_id, loader)

    def abort(self, exc: BaseException) -> None:
        """Stop the run: record it failed and its unfinished tasks cancelled (once)."""
        if self._aborted:
            return
        self._aborted = True
        try:
            self._abort(exc)
        finally:
            self._close_resources()

    def _close_resources(self) -> None:
        if self.gate is not None:
            self.gate.release_run(self.info.run_id)
        if self._open:
            self._open = False
            try:
                self.live_logs.stop()
            finally:
                self.resources.close()

    # -- phases -----------------------------------------------------------------------
    def _begin(self, resume: bool) -> None:
        now = datetime.now(UTC)
        info, record = self.info, self.record.began(now)
        stored = self.stored_run
        if stored is not None:  # the scheduler's run: no pid, so no pid check fails it
            record = replace(
                record,
                queued_at=stored.queued_at or now,
                start_date=stored.start_date or now,
                pid=None,
            )
        previous: dict[TIKey, TaskInstanceRecord] = {}
        if resume:
            previous = {ti.key: ti for ti in self.storage.runs.get_task_instances(info.run_id)}
            self.tis.update(previous)
        recorder = self.recorder = RunRecorder(
            record, self.storage, self.listener, **self.recorder_options
        )
        if record.partition_key is not None and RANGE_SEPARATOR in record.partition_key:
            recorder.partition_keys = partition_keys_of_run(
                self.dag.partitions_def, record.partition_key, self.storage.partitions
            )
        version = DagVersionRecord(info.dag_id, record.dag_version, self.serialized, now)
        recorder.on_cancel = self._cancel_requested
        recorder.run_began(version, self.tis.values(), len(self.tis))
        self._pull_output = io_aware_pull(self.dag, info.run_id, self.outputs, self.resource_view)
        self.base_context = run_context(
            self.info, self.dag, self.resource_view, self.storage.partitions, self.storage
        )
        self.executor.start(
            self.info, self.dag, self.outputs, self._on_started, self._on_finished,
            self.resource_view,
            logs=self.live_logs,
        )  # fmt: skip
        if resume:
            self._replay(previous)
        else:
            self._apply_changes(self.active.start(), now)
            self._expand_ready()

    def _replay(self, previous: dict[TIKey, TaskInstanceRecord]) -> None:
        """Bring the state machine to where the stored task instances say the run was.

        Finished instances are fed back as they ended (a branch's skips from its
        event); the rest wait in ``_resubmit`` to run again, as a new try.
        """
        skips: dict[TIKey, list[str]] = {}
        ended: set[tuple[TIKey, int]] = set()  # the tries whose end the events tell
        for event in self.storage.events.read_events(
            self.info.run_id, kinds=[EventKind.TASK_STATE]
        ):
            if event.task_id is None:
                continue
            key = (event.task_id, event.map_index)
            if event.payload.get("state") in _OWN_END_VALUES:
                ended.add((key, event.try_number))
            skipped = event.payload.get("skipped_downstream")
            if skipped:
                skips[key] = list(skipped)
        unrecorded = self._unrecorded_ends(previous, ended)
        self._rescheduled.recover(self.storage, self.info.run_id, previous.values())
        self._replaying = True
        try:
            now = datetime.now(UTC)
            self._apply_changes(self.active.start(), now)
            while True:
                self._expand_ready()
                ready = self.active.take_ready()
                if not ready:
                    break
                for key in ready:
                    ti = previous.get(key)
                    if ti is not None and ti.state in _OWN_END_STATES:
                        outcome = unrecorded.get(key)
                        if outcome is not None:  # its end, as its worker reported it
                            self.tis[key] = self._recorder().recovered(ti, outcome)
                            skips[key] = list(outcome.skip_downstream)
                        changes = self.active.finish(key, ti.state, skips.get(key, ()))
                        self._apply_changes(changes, now)
                    elif ti is not None and ti.state is TaskState.UP_FOR_RESCHEDULE:
                        self.tis[key] = ti  # as stored: its next poke is the same try
                        self._recorder().created([ti])
                        self.active.mark_up_for_reschedule(key)
                        heapq.heappush(self._retries, (ti.retry_at or now, key))
                    else:
                        self._resubmit.append(key)
        finally:
            self._replaying = False

    def _unrecorded_ends(
        self, previous: dict[TIKey, TaskInstanceRecord], ended: set[tuple[TIKey, int]]
    ) -> dict[TIKey, TaskOutcome]:
        """The tries a worker ended (a ``task_reported`` event: the Celery executor) that the
        previous driver died before recording: their outcomes, by task instance.

        Without them a resumed run would lose the end's event and a branch's choice.
        """
        missing = {
            (key, ti.try_number)
            for key, ti in previous.items()
            if ti.state in _OWN_END_STATES and (key, ti.try_number) not in ended
        }
        if not missing:
            return {}
        found: dict[TIKey, TaskOutcome] = {}
        for event in self.storage.events.read_events(
            self.info.run_id, kinds=[EventKind.TASK_REPORTED]
        ):
            key = (event.task_id or "", event.map_index)
            if (key, event.try_number) in missing:
                found[key] = msgspec.convert(event.payload, TaskOutcome, strict=False)
        return found

    def _step(self, timeout: float | None) -> bool:
        active, recorder = self.active, self._recorder()
        if active.finished:
            return True
        if self._cancel is not None:
            raise RunCancelled(self._cancel.message())
        if self._retries:
            self._release_due_retries()
        ready = self._held + self._resubmit + (active.take_ready() if active.has_ready else [])
        self._held, self._resubmit = [], []
        if self.gate is not None and ready:
            ready, self._held = self.gate.admit(self.dag, self.info.run_id, ready)
        for key in ready:
            self._submit(key)
        if self._in_flight == 0:
            recorder.maybe_flush()
            if not self._held:  # else: waiting for pool slots
                self._wait_for_retry(recorder, timeout)
            return False
        self.executor.poll(self._poll_timeout(timeout))
        recorder.maybe_flush()
        return active.finished

    def _poll_timeout(self, timeout: float | None) -> float | None:
        if not self._retries:
            return timeout
        wait = max((self._retries[0][0] - datetime.now(UTC)).total_seconds(), 0.0)
        return wait if timeout is None else min(wait, timeout)

    def _wait_for_retry(self, recorder: RunRecorder, timeout: float | None) -> None:
        if not self._retries:
            raise InvalidTransition(f"run {self.info.run_id} stalled with nothing to run")
        wait = (self._retries[0][0] - datetime.now(UTC)).total_seconds()
        limit = (
            recorder.flush_interval if timeout is None else min(timeout, recorder.flush_interval)
        )
        time.sleep(min(max(wait, 0.0), limit))

    def _end(self) -> None:
        self.executor.shutdown()
        state = self.active.run_state()
        recorder = self._recorder()
        recorder.run_finished(state)
        reason = "success" if state is RunState.SUCCESS else "task_failure"
        callbacks = (
            self.dag.on_success_callback if state is RunState.SUCCESS
            else self.dag.on_failure_callback
        )  # fmt: skip
        if callbacks:
            self._dag_callbacks(callbacks, reason)
        recorder.close()
        if self.listener is not None:
            self.listener.run_finished(self.record)

    def _cancel_requested(self, request: CancelRequest) -> None:
        """The heartbeat found a cancel request (writer thread): stop the running tasks."""
        self._cancel = request
        stop_running = getattr(self.executor, "cancel_running", None)
        if stop_running is not None:
            stop_running(request.grace, request.message())

    def _end_cancelled(self) -> None:
        """Record the unfinished task instances and the run as cancelled."""
        request = self._cancel
        self.executor.shutdown()
        recorder = self._recorder()
        self._apply_changes(self.active.cancel_unfinished(), datetime.now(UTC))
        message = "cancelled by an operator"
        if request is not None:
            recorder.cancel_requested(request.requested_at, request.grace)
            message = request.message()
        recorder.run_finished(RunState.CANCELLED, message)
        recorder.close()
        if self.listener is not None:
            self.listener.run_finished(self.record)

    def _abort(self, exc: BaseException) -> None:
        """Record the run as failed and every unfinished task as cancelled."""
        try:
            self.executor.shutdown()
        finally:
            recorder = self.recorder
            if recorder is not None:
                if not self.record.state.finished:
                    now = datetime.now(UTC)
                    self._apply_changes(self.active.cancel_unfinished(), now)
                    reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else "engine error"
                    recorder.run_finished(RunState.FAILED, f"{reason}: {type(exc).__name__}: {exc}")
                recorder.close()

    # -- steps --------------------------------------------------------------------------
    def _recorder(self) -> RunRecorder:
        if self.recorder is None:
            raise InvalidTransition(f"run {self.info.run_id} has not begun")
        return self.recorder

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
        recorder = self._recorder()
        try:
            length = self.resolver.length(task)
        except Exception as exc:
            recorder.failed_to_expand(self._ti((task_id, -1)), now, f"{type(exc).__name__}: {exc}")
            self._apply_changes(self.active.fail_expansion(task_id, TaskState.FAILED), now)
            return
        changes = self.active.expand(task_id, length, self.resolver.widths(task) if length else ())
        if length:
            self.outputs.map_lengths[task_id] = length
            created = [
                self._new_ti(task_id, index, TaskState.SCHEDULED)
                for index in range(length)
                if (task_id, index) not in self.tis  # a resumed run replays its stored ones
            ]
            for ti in created:
                self.tis[ti.key] = ti
            recorder.created(created)
            if self.listener is not None:
                self.listener.task_expanded(task_id, length)
        self._apply_changes(changes, now)

    def _submit(self, key: TIKey) -> None:
        ti = self.tis[key]
        recorder = self._recorder()
        recorder.wait_for_tasks(self._upstream[key[0]])
        ti = self.tis[key] = recorder.queued(ti)
        self._in_flight += 1
        lost, rescheduled = self._lost_tries.get(key, 0), self._rescheduled.get(key)
        self.executor.submit(TaskWork(key[0], key[1], ti.try_number, lost, rescheduled))

    def _on_started(self, work: TaskWork, when: datetime, hostname: str) -> None:
        key = (work.task_id, work.map_index)
        self.active.mark_running(key)
        self.tis[key] = self._recorder().started(self.tis[key], when, hostname)

    def _on_finished(self, outcome: TaskOutcome) -> None:
        """The executor's report of a try's end, as it happens."""
        self._in_flight -= 1
        if self.gate is not None:
            self.gate.release(self.info.run_id, (outcome.task_id, outcome.map_index))
        self._apply_outcome(outcome)
        if outcome.end_date - outcome.start_date >= _SYNC_AFTER:
            self._recorder().sync()  # a commit is cheap next to such a task: durable at once

    def _apply_outcome(self, outcome: TaskOutcome) -> None:
        key = (outcome.task_id, outcome.map_index)
        if outcome.lost:
            self._apply_lost(key, outcome)
            return
        ti = self.tis[key]
        if outcome.state is TaskState.SUCCESS and outcome.task_id in self.map_sources:
            self._check_map_source(outcome)
        if outcome.materializations:
            outcome.materializations = self._annotate_lineage(ti.task_id, outcome.materializations)
        began = ti.start_date  # as its "running" event says
        ti = self.tis[key] = self._recorder().finished(ti, outcome)
        if outcome.state is TaskState.UP_FOR_RESCHEDULE:  # same try, after its reschedule date
            self._rescheduled.note(key, outcome, began)
            self.active.mark_up_for_reschedule(key)
            heapq.heappush(self._retries, (ti.retry_at or outcome.end_date, key))
            return
        self._rescheduled.forget(key)
        if outcome.state is TaskState.FAILED and self._first_failure is None:
            self._first_failure = (key, outcome.error or "")
        if outcome.state is TaskState.UP_FOR_RETRY:
            self.active.mark_up_for_retry(key)
            heapq.heappush(self._retries, (ti.retry_at or outcome.end_date, key))
            return
        changes = self.active.finish(key, outcome.state, outcome.skip_downstream)
        skipped = set(outcome.skip_downstream)
        end = outcome.end_date
        self._apply_changes(changes, end, skipped_by=ti.task_id if skipped else None, only=skipped)
        self._expand_ready()

    def _apply_lost(self, key: TIKey, outcome: TaskOutcome) -> None:
        """The try was lost with its worker: run it again (no retry used), or fail at the limit."""
        ti = self.tis[key]
        if ti.state is TaskState.QUEUED:  # lost before its worker said it started
            work = TaskWork(key[0], key[1], ti.try_number)
            self._on_started(work, outcome.start_date, outcome.hostname)
            ti = self.tis[key]  # running now
        self._rescheduled.forget(key)  # it runs again as a new try
        lost = self._lost_tries[key] = self._lost_tries.get(key, 0) + 1
        reason = outcome.error or "its worker process died"
        if lost >= self.max_lost_attempts:
            outcome.lost = False
            outcome.state = TaskState.FAILED
            outcome.error = (
                f"WorkerLost: task {ti.task_id!r} lost its worker {lost} times (last: {reason}); "
                f"it failed after max_lost_attempts={self.max_lost_attempts}"
            )
            outcome.traceback = None
            self._recorder().lost(ti, outcome.end_date, reason, lost, again=False)
            self._apply_outcome(outcome)
            return
        self.active.requeue_lost(key)
        self.tis[key] = self._recorder().lost(ti, outcome.end_date, reason, lost, again=True)

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

    def _annotate_lineage(
        self, task_id: str, records: Sequence[AssetMaterializationRecord]
    ) -> Sequence[AssetMaterializationRecord]:
        """The materializations with the data versions of the upstream assets they consumed."""
        definition = getattr(self.dag.task_dict[task_id], "asset_definition", None)
        upstream = definition.upstream_keys() if definition is not None else []
        return self._upstream_versions.annotate(records, upstream)

    def _apply_changes(
        self,
        changes: list[tuple[TIKey, TaskState]],
        when: datetime,
        skipped_by: str | None = None,
        only: set[str] | None = None,
    ) -> None:
        recorder = self._recorder()
        if self._replaying:  # what was recorded stands; the rest is decided again, quietly
            for key, state in changes:
                ti = self._ti(key)
                if not ti.state.finished:
                    ti = self.tis[key] = replace(ti, state=state)
                    recorder.created([ti])
            return
        changed = recorder.changed
        for key, state in changes:
            marked = skipped_by is not None and only is not None and key[0] in only
            ti = changed(self._ti(key), state, when, {"skipped_by": skipped_by} if marked else None)
            self.tis[key] = ti

    def _release_due_retries(self) -> None:
        if not self._retries:
            return
        now = datetime.now(UTC)
        while self._retries and self._retries[0][0] <= now:
            _, key = heapq.heappop(self._retries)
            self.active.retry_now(key)

    def _dag_callbacks(self, callbacks: Any, reason: str) -> None:
        context = dict(self.base_context)
        context["reason"] = reason
        context["task_instances"] = list(self.tis.values())
        # As in Airflow, a DAG callback sees one task instance: the first that failed, else
        # the last to end.
        if self._first_failure is not None:
            key, context["exception"] = self._first_failure
            ti: TaskInstanceRecord | None = self.tis[key]
        else:
            ended = [(t.end_date, t) for t in self.tis.values() if t.end_date is not None]
            ti = max(ended, key=lambda pair: pair[0])[1] if ended else None
        if ti is not None:
            context["ti"] = context["task_instance"] = ti
            context["task"] = self.dag.task_dict.get(ti.task_id)
        lines: list[LogLine] = []
        run_callbacks(callbacks, context, lines, "DAG callback")  # type: ignore[arg-type]
        self._recorder().callback_errors(lines)


def _queued_run(info: RunInfo, version: str) -> DagRunRecord:
    """The run's record before it begins, owned by this process."""
    return DagRunRecord(
        run_id=info.run_id, dag_id=info.dag_id, dag_version=version, state=RunState.QUEUED,
        run_type=info.run_type, logical_date=info.logical_date,
        data_interval_start=info.data_interval_start, data_interval_end=info.data_interval_end,
        conf=info.conf, hostname=HOSTNAME, pid=os.getpid(), partition_key=info.partition_key,
    )  # fmt: skip


__all__ = ["RunDriver", "RunListener"]
