"""``SensorDaemon``: evaluates the running sensors of the loaded code locations.

Each pass (``run_once``) records the evaluations that finished, fails those
that ran past the time limit, and starts the sensors that are due (every
``minimum_interval_seconds``, counted from their last tick, so a restart does
not evaluate them all at once). A sensor is evaluated when its stored status
says running, or, with none stored, when it is running by default. Each
evaluation is one tick, written with its runs, run keys and cursor in one
transaction with the other ticks of the pass (``InstigatorStore.record_ticks``):
a run key already used by the
sensor makes no second run, across restarts; a sensor that raises or
returns something else records a failed tick, keeps its cursor, and is
evaluated again at its next interval. Of several schedulers, one evaluates
each sensor per interval: a pass claims its due sensors in one batch
(``InstigatorStore.claim_due``: their last tick set to now, ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL), and leaves those another scheduler claimed.

The design decision: user code runs in a small thread pool, and the loop
never waits for it. An evaluation still running after ``evaluation_timeout``
seconds is recorded as a failed tick ("took longer than ...") and the sensor
is not evaluated again until that call returns (a thread cannot be killed;
its late result is dropped). Reads and writes of the metadata database stay
on the loop's thread, except what a run status or asset sensor reads
through ``context.instance``; on a store that is not thread-safe (an
in-memory SQLite database) evaluations run inline instead.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from partita.definitions.asset_key import AssetKey
from partita.definitions.dag import DAG
from partita.definitions.partitions import AddDynamicPartitionsRequest, DynamicPartitionsStore
from partita.definitions.schedules import RunRequest
from partita.definitions.sensors import (
    SensorDefinition,
    SensorEvaluation,
    SensorEvaluationContext,
)
from partita.definitions.states import RunState
from partita.engine.prepare import (
    check_conf,
    check_partition_key,
    new_run_id,
    resolve_params,
    run_dates,
)
from partita.engine.run_config import resolve_run_config
from partita.engine.secrets import use_store
from partita.exceptions import PartitaError, SensorEvaluationError
from partita.masking import mask
from partita.storage.base import Storage
from partita.storage.instigators import (
    InstigatorKind,
    InstigatorState,
    InstigatorStatus,
    TickRecord,
    TickStatus,
    TickWrite,
)
from partita.storage.records import AssetMaterializationRecord, DagRunRecord

logger = logging.getLogger("partita.scheduler")

#: Seconds one evaluation may take before its tick is recorded as failed.
DEFAULT_EVALUATION_TIMEOUT = 60.0
#: Threads evaluating sensors at once.
DEFAULT_SENSOR_THREADS = 4


class StorageSensorReads:
    """What sensors read (``SensorReads``), from a metadata store."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def ended_runs(
        self, after: tuple[datetime, str] | None, states: Sequence[str], limit: int
    ) -> list[DagRunRecord]:
        return self.storage.runs.list_ended_runs(after, [RunState(s) for s in states], limit)

    def latest_materialization(self, asset_key: AssetKey) -> AssetMaterializationRecord | None:
        return self.storage.assets.latest_materializations([asset_key]).get(asset_key)


def sensor_run_id(sensor: str, run_key: str | None, now: datetime) -> str:
    """A run key's run id is derived from it (the same key, the same id); else unique."""
    if run_key is None:
        return new_run_id("sensor", now)
    digest = hashlib.sha1(f"{sensor}\0{run_key}".encode()).hexdigest()[:20]
    return f"sensor__{sensor[:120]}__{digest}"


_Job = tuple[Future[Any], Callable[[Any], Any], Any] | None


class SensorThreads:
    """A few daemon threads running sensor evaluations; a hung one never blocks the exit.

    (``ThreadPoolExecutor`` joins its threads when the interpreter exits, so
    one stuck sensor would keep a stopped scheduler alive.)
    """

    def __init__(self, count: int) -> None:
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"partita-sensor-{i}", daemon=True)
            for i in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, function: Callable[[Any], Any], argument: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self._jobs.put((future, function, argument))
        return future

    def close(self) -> None:
        """Let the threads end once their current evaluation returns; cancel what waits."""
        for _ in self._threads:
            self._jobs.put(None)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, function, argument = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function(argument))
            except BaseException as exc:  # handed to whoever reads the future
                future.set_exception(exc)


@dataclass
class _Evaluation:
    """One evaluation started: its sensor, tick time, the cursor it began with, its call."""

    sensor: SensorDefinition
    timestamp: datetime
    cursor: str | None
    started: float
    future: Future[SensorEvaluation] | None = None
    outcome: SensorEvaluation | BaseException | None = None
    timed_out: bool = False


@dataclass
class _Plan:
    """What a finished evaluation comes to: the runs to queue with their keys, or why none."""

    runs: list[DagRunRecord] = field(default_factory=list)
    run_keys: dict[str, str] = field(default_factory=dict)
    skip_reason: str | None = None


class SensorDaemon:
    """Evaluates due sensors off the loop's thread and records a tick per evaluation."""

    def __init__(
        self,
        storage: Storage,
        sensors: Callable[[], Mapping[str, SensorDefinition]],
        get_dag: Callable[[str], DAG | None],
        *,
        stopped_by_default: bool = False,
        evaluation_timeout: float = DEFAULT_EVALUATION_TIMEOUT,
        threads: int = DEFAULT_SENSOR_THREADS,
    ) -> None:
        self.storage = storage
        self.sensors = sensors
        use_store(storage)  # Variable / Connection.get in user code read this store
        self.get_dag = get_dag
        self.stopped_by_default = stopped_by_default
        self.evaluation_timeout = evaluation_timeout
        self.reads = StorageSensorReads(storage)
        self._threads = threads
        self._pool: SensorThreads | None = None
        self._next_due: dict[str, datetime] = {}
        self._in_flight: dict[str, _Evaluation] = {}

    def run_once(self, now: datetime) -> list[TickRecord]:
        """Record finished (and overdue) evaluations, then start the due ones; the ticks written."""
        writes = self._collect()
        due = self._due(now)
        if due:
            stored = self.storage.instigators.list_states(InstigatorKind.SENSOR)
            states = {state.name: state for state in stored}
            running = [sensor for sensor in due if self._runs(sensor, states.get(sensor.name), now)]
            claimed = self.storage.instigators.claim_due(
                InstigatorKind.SENSOR,
                {sensor.name: now - _interval(sensor) for sensor in running},
                now,
            )
            for sensor in running:
                state = claimed.get(sensor.name)
                if state is None:  # another scheduler evaluates it this time
                    self._next_due[sensor.name] = now + _interval(sensor)
                    continue
                inline = self._start(sensor, state, now)
                if inline is not None:
                    writes.append(inline)
        return self.storage.instigators.record_ticks(writes)

    def next_due(self) -> datetime | None:
        """The soonest time a sensor seen so far falls due (None: none seen)."""
        return min(self._next_due.values(), default=None)

    def wait(self, timeout: float = 10.0) -> list[TickRecord]:
        """Wait up to ``timeout`` seconds for the evaluations started, and record them."""
        deadline = time.monotonic() + timeout
        for evaluation in list(self._in_flight.values()):
            if evaluation.future is not None:
                evaluation.future.exception(timeout=max(0.0, deadline - time.monotonic()))
        return self.storage.instigators.record_ticks(self._collect())

    def close(self) -> None:
        """Stop the evaluation threads (a call still running is left to finish on its own)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    # -- which sensors are due ----------------------------------------------------------
    def _due(self, now: datetime) -> list[SensorDefinition]:
        due = []
        for name, sensor in self.sensors().items():
            if name in self._in_flight:
                continue
            next_due = self._next_due.get(name)
            if next_due is None or next_due <= now:
                due.append(sensor)
        return due

    def _runs(self, sensor: SensorDefinition, state: InstigatorState | None, now: datetime) -> bool:
        """Whether ``sensor`` is to be evaluated now (started, and its interval has passed)."""
        interval = _interval(sensor)
        state = state or InstigatorState(InstigatorKind.SENSOR, sensor.name)
        running = sensor.is_running_by_default(self.stopped_by_default)
        if state.resolved_status(running) is InstigatorStatus.STOPPED:
            self._next_due[sensor.name] = now + min(interval, timedelta(seconds=5))
            return False
        last = state.last_tick_at
        if sensor.name not in self._next_due and last is not None and last + interval > now:
            self._next_due[sensor.name] = last + interval  # ticked before a restart: keep rhythm
            return False
        return True

    def _start(
        self, sensor: SensorDefinition, state: InstigatorState, now: datetime
    ) -> TickWrite | None:
        """Start an evaluation of ``sensor`` (claimed); what to write when it ran inline."""
        self._next_due[sensor.name] = now + _interval(sensor)
        evaluation = _Evaluation(sensor, now, state.cursor, time.monotonic())
        context = SensorEvaluationContext(
            cursor=state.cursor, sensor_name=sensor.name, instance=self.reads,
            last_tick_at=state.last_tick_at,
        )  # fmt: skip
        if not self.storage.threadsafe:
            evaluation.outcome = _evaluate(sensor, context)
            return self._write(evaluation)
        evaluation.future = self._executor().submit(sensor.evaluate, context)
        self._in_flight[sensor.name] = evaluation
        return None

    def _executor(self) -> SensorThreads:
        if self._pool is None:
            self._pool = SensorThreads(self._threads)
        return self._pool

    # -- recording what evaluations came to ----------------------------------------------
    def _collect(self) -> list[TickWrite]:
        recorded = []
        for name, evaluation in list(self._in_flight.items()):
            future = evaluation.future
            assert future is not None  # only evaluations in threads are in flight
            if future.done():
                del self._in_flight[name]
                if not evaluation.timed_out:
                    evaluation.outcome = future.exception() or future.result()
                    recorded.append(self._write(evaluation))
            elif not evaluation.timed_out and self._overdue(evaluation):
                evaluation.timed_out = True
                evaluation.outcome = SensorEvaluationError(
                    f"sensor {name!r} took longer than {self.evaluation_timeout:g} s "
                    "(sensor_evaluation_timeout); it is evaluated again once that call returns"
                )
                recorded.append(self._write(evaluation))
        return recorded

    def _overdue(self, evaluation: _Evaluation) -> bool:
        return time.monotonic() - evaluation.started > self.evaluation_timeout

    def _write(self, evaluation: _Evaluation) -> TickWrite:
        sensor, outcome = evaluation.sensor, evaluation.outcome
        duration = time.monotonic() - evaluation.started
        tick = TickRecord(
            InstigatorKind.SENSOR, sensor.name, TickStatus.FAILED, evaluation.timestamp,
            cursor=evaluation.cursor, duration=duration,
        )  # fmt: skip
        plan = _Plan()
        try:
            if isinstance(outcome, BaseException):
                raise outcome
            assert isinstance(outcome, SensorEvaluation)
            self._apply_partitions(sensor, outcome)
            plan = self._plan(sensor, outcome, evaluation.timestamp)
        except Exception as exc:
            text = str(exc) if isinstance(exc, PartitaError) else f"{type(exc).__name__}: {exc}"
            message = mask(text)  # a secret the sensor read never reaches a stored tick
            logger.warning("sensor %s: tick failed: %s", sensor.name, message)
            return TickWrite(_failed(tick, message))
        assert isinstance(outcome, SensorEvaluation)
        return TickWrite(_done(tick, plan, outcome.cursor), plan.runs, plan.run_keys)

    def _apply_partitions(self, sensor: SensorDefinition, outcome: SensorEvaluation) -> None:
        """Add and delete the dynamic partition keys the result asked for, in order.

        They are applied before the runs are planned (a run may ask for a key added
        here) and are kept even when the tick then fails, as Dagster does.
        """
        store = self.storage.partitions
        for request in outcome.dynamic_partitions_requests:
            name, keys = request.partitions_def_name, list(request.partition_keys)
            if isinstance(request, AddDynamicPartitionsRequest):
                changed, verb = store.add_partitions(name, keys), "added"
            else:
                changed, verb = store.delete_partitions(name, keys), "deleted"
            if changed:
                logger.info("sensor %s: %s partitions %s of %r", sensor.name, verb,
                            ", ".join(changed[:10]), name)  # fmt: skip

    def _plan(self, sensor: SensorDefinition, outcome: SensorEvaluation, now: datetime) -> _Plan:
        if not outcome.run_requests:
            return _Plan(skip_reason=outcome.skip_message or "the sensor asked for no run")
        assert sensor.job_name is not None  # evaluate refuses requests of a sensor with no job
        dag = self.get_dag(sensor.job_name)
        if dag is None:
            raise SensorEvaluationError(
                f"sensor {sensor.name!r}: its job {sensor.job_name!r} is not loaded; "
                "check that its code location defines it ('partita dags list')"
            )
        requests = _unique_keys(outcome.run_requests)
        keys = [r.run_key for r in requests if r.run_key is not None]
        used = self.storage.instigators.used_run_keys(sensor.name, keys) if keys else set()
        plan = _Plan()
        for request in requests:
            if request.run_key in used:
                continue
            run = _sensor_run(sensor, dag, request, now, self.storage.partitions)
            plan.runs.append(run)
            if request.run_key is not None:
                plan.run_keys[request.run_key] = run.run_id
        if not plan.runs:
            shown = ", ".join(sorted(used)[:5]) + (" ..." if len(used) > 5 else "")
            plan.skip_reason = f"run key(s) already used: {shown}"
        return plan


def _evaluate(sensor: SensorDefinition, context: SensorEvaluationContext) -> Any:
    try:
        return sensor.evaluate(context)
    except Exception as exc:
        return exc


def _unique_keys(requests: list[RunRequest]) -> list[RunRequest]:
    """The requests, a run key asked for twice in one evaluation counted once."""
    seen: set[str] = set()
    unique = []
    for request in requests:
        if request.run_key is not None:
            if request.run_key in seen:
                continue
            seen.add(request.run_key)
        unique.append(request)
    return unique


def _sensor_run(
    sensor: SensorDefinition, dag: DAG, request: RunRequest, now: datetime,
    partitions: DynamicPartitionsStore,
) -> DagRunRecord:  # fmt: skip
    try:
        conf = check_conf(dag, request.run_config)
        resolve_params(dag, conf)
        resolve_run_config(dag, conf)
        partition = check_partition_key(dag, request.partition_key, partitions)
    except PartitaError as exc:
        raise SensorEvaluationError(f"sensor {sensor.name!r}: {exc}") from None
    when, start, end = run_dates(dag, None)
    return DagRunRecord(
        run_id=sensor_run_id(sensor.name, request.run_key, now), dag_id=dag.dag_id,
        dag_version="", state=RunState.QUEUED, run_type="sensor", logical_date=when,
        data_interval_start=start, data_interval_end=end, conf=conf, queued_at=when,
        partition_key=partition,
        tags=dict(request.tags),
    )  # fmt: skip


def _failed(tick: TickRecord, error: str) -> TickRecord:
    return TickRecord(
        tick.kind, tick.name, TickStatus.FAILED, tick.timestamp, error=error,
        cursor=tick.cursor, duration=tick.duration,
    )  # fmt: skip


def _done(tick: TickRecord, plan: _Plan, cursor: str | None) -> TickRecord:
    status = TickStatus.REQUESTED if plan.runs else TickStatus.SKIPPED
    return TickRecord(
        tick.kind, tick.name, status, tick.timestamp, run_ids=[r.run_id for r in plan.runs],
        run_keys=list(plan.run_keys), skip_reason=plan.skip_reason, cursor=cursor,
        duration=tick.duration,
    )  # fmt: skip


def _interval(sensor: SensorDefinition) -> timedelta:
    return timedelta(seconds=sensor.minimum_interval_seconds)


__all__ = [
    "DEFAULT_EVALUATION_TIMEOUT",
    "SensorDaemon",
    "SensorThreads",
    "StorageSensorReads",
    "sensor_run_id",
]
