"""Plain records that cross the storage boundary: runs, task instances, events, outputs, assets.

They are frozen ``msgspec`` structs, not ORM objects: nothing edits a record in
place; a change makes a new record (the ``started``/``finished``/... methods of
the hot ones, or ``msgspec.structs.replace``) and the holder swaps it in. So a
record handed to a store or to the writer thread never changes under it, and
mypy rejects an assignment to a field. Times are timezone-aware UTC.

The records made per task instance (task instances, events, outputs, log
lines) are not tracked by the garbage collector (``gc=False``): they refer to
no object that could refer back to them, so they can be in no reference
cycle, and a 100,000-instance run makes hundreds of thousands of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from msgspec.structs import force_setattr
from msgspec.structs import replace as _replace

from partita.definitions.asset_key import AssetKey
from partita.definitions.states import RunState, TaskState, TextEnum


class EventKind(TextEnum):
    """What an event in the append-only event log records."""

    RUN_STATE = "run_state"  # payload: state, [message]
    TASK_STATE = "task_state"  # payload: state, [duration], [hostname]
    LOG = "log"  # no longer written: task logs are in the log store (old ones were moved there)
    TASK_ERROR = "task_error"  # payload: error, traceback, [metadata]
    OUTPUT_STORED = "output_stored"  # payload: key, location, size
    RETRY = "retry"  # payload: retry_at, error
    CALLBACK_ERROR = "callback_error"  # payload: callback, error, traceback
    ASSET_MATERIALIZED = "asset_materialized"  # payload: asset_key, data_version, location
    TASK_LOST = "task_lost"  # payload: reason, lost (how many tries lost so far)
    TASK_REPORTED = "task_reported"  # payload: a remote worker's outcome of one try (Celery)
    TASK_CLEARED = "task_cleared"  # payload: state, previous_state (an operator's clear)
    TASK_MARKED = "task_marked"  # payload: state, previous_state (an operator's mark)
    CANCEL_REQUESTED = "cancel_requested"  # payload: grace (an operator's cancel)


class DagRunRecord(msgspec.Struct, frozen=True):
    """One run of one DAG."""

    run_id: str
    dag_id: str
    dag_version: str
    state: RunState
    run_type: str = "manual"
    logical_date: datetime | None = None
    data_interval_start: datetime | None = None
    data_interval_end: datetime | None = None
    conf: dict[str, Any] = msgspec.field(default_factory=dict)
    queued_at: datetime | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    hostname: str | None = None
    pid: int | None = None
    #: When the owner process last said it was alive (None before its first heartbeat).
    heartbeat_at: datetime | None = None
    #: When an operator asked to cancel the running run (``partita runs cancel``), or None.
    cancel_requested_at: datetime | None = None
    #: Seconds the run's tasks get to stop after SIGTERM before SIGKILL, with that request.
    cancel_grace: float | None = None
    #: The partition the run is for (None: its DAG is not partitioned).
    partition_key: str | None = None
    #: Labels of the run (a schedule's ``tags=``, a ``RunRequest``'s, ``trigger --tag``).
    tags: dict[str, str] = msgspec.field(default_factory=dict)

    def began(self, when: datetime) -> DagRunRecord:
        """This run, now running: queued, started and last alive at ``when``."""
        return _replace(
            self, state=RunState.RUNNING, queued_at=when, start_date=when, heartbeat_at=when
        )

    def ended(self, state: RunState, when: datetime) -> DagRunRecord:
        """This run, ended in ``state`` at ``when`` (its last heartbeat too)."""
        return _replace(self, state=state, end_date=when, heartbeat_at=when)

    def cancel_requested(self, when: datetime | None, grace: float | None) -> DagRunRecord:
        """This run with an operator's cancel request (``when`` None withdraws it)."""
        return _replace(self, cancel_requested_at=when, cancel_grace=grace)


class TaskInstanceRecord(msgspec.Struct, frozen=True, gc=False):
    """The current state of one (run, task, map index); earlier tries live in the event log."""

    run_id: str
    task_id: str
    map_index: int = -1
    try_number: int = 0
    max_tries: int = 0
    state: TaskState = TaskState.NONE
    operator: str = ""
    start_date: datetime | None = None
    end_date: datetime | None = None
    duration: float | None = None
    hostname: str | None = None
    retry_at: datetime | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.task_id, self.map_index)

    def queued(self) -> TaskInstanceRecord:
        """This task instance with its next try handed to the executor.

        A rescheduled instance (``up_for_reschedule``) goes on with the same try.
        """
        tries = self.try_number + (self.state is not TaskState.UP_FOR_RESCHEDULE)
        return _replace(self, try_number=tries, state=TaskState.QUEUED, retry_at=None)

    def started(self, when: datetime, hostname: str) -> TaskInstanceRecord:
        """This task instance running since ``when`` on ``hostname``."""
        return _replace(
            self, state=TaskState.RUNNING, start_date=when, end_date=None, duration=None,
            hostname=hostname,
        )  # fmt: skip

    def finished(
        self,
        state: TaskState,
        start: datetime | None,
        end: datetime,
        duration: float | None,
        hostname: str | None,
        retry_at: datetime | None = None,
    ) -> TaskInstanceRecord:
        """This task instance after a try ended in ``state`` (``retry_at``: when it runs again,
        up for retry or for reschedule)."""
        if state is not TaskState.UP_FOR_RETRY and state is not TaskState.UP_FOR_RESCHEDULE:
            retry_at = self.retry_at
        return _replace(
            self, state=state, start_date=start, end_date=end, duration=duration,
            hostname=hostname, retry_at=retry_at,
        )  # fmt: skip

    def lost(self, when: datetime) -> TaskInstanceRecord:
        """This task instance scheduled again: its try was lost with its worker at ``when``."""
        return _replace(self, state=TaskState.SCHEDULED, end_date=when)

    def moved(self, state: TaskState, when: datetime) -> TaskInstanceRecord:
        """This task instance moved to ``state`` at ``when`` (its end date if ``state`` ends it)."""
        if state.finished:
            return _replace(self, state=state, end_date=when)
        return _replace(self, state=state)


class EventRecord(msgspec.Struct, frozen=True, gc=False):
    """One entry of the append-only event log. ``id`` is given by the store, in order."""

    run_id: str
    kind: EventKind
    timestamp: datetime
    task_id: str | None = None
    map_index: int = -1
    try_number: int = 0
    payload: dict[str, Any] = msgspec.field(default_factory=dict)
    id: int | None = None


class OutputRecord(msgspec.Struct, frozen=True, gc=False):
    """Where one output value of a task instance is stored.

    ``location`` names the place (``inline``, ``memory://...`` or a file path);
    ``payload`` holds the serialized bytes when they are stored inline in the
    metadata database.
    """

    run_id: str
    task_id: str
    map_index: int
    key: str
    location: str
    size: int = 0
    payload: bytes | None = None


class TaskSummary(msgspec.Struct, frozen=True):
    """One task of a run in numbers: its instances by state, the first start and last end.

    What the run page draws a task from however many instances it has (a
    mapped task of 100,000 instances is one summary, read by one grouped query).
    """

    task_id: str
    states: dict[str, int]
    #: Whether the task is mapped (its instances have map indexes >= 0).
    mapped: bool
    first_start: datetime | None = None
    last_end: datetime | None = None
    #: The highest try number of its instances.
    tries: int = 0

    @property
    def count(self) -> int:
        return sum(self.states.values())


def fold_summaries(
    rows: Iterable[Sequence[Any]],
) -> list[TaskSummary]:
    """Task summaries (by task id) from rows of (task id, state, count, highest map index,
    first start, last end, highest try), one row per task and state."""
    folded: dict[str, dict[str, Any]] = {}
    for task_id, state, count, top, start, end, tries in rows:
        task = folded.setdefault(
            task_id, {"states": {}, "mapped": False, "first": None, "last": None, "tries": 0}
        )
        task["states"][str(state)] = int(count)
        task["mapped"] = task["mapped"] or top >= 0
        task["tries"] = max(task["tries"], int(tries or 0))
        if start is not None and (task["first"] is None or start < task["first"]):
            task["first"] = start
        if end is not None and (task["last"] is None or end > task["last"]):
            task["last"] = end
    return [
        TaskSummary(task_id, t["states"], t["mapped"], t["first"], t["last"], t["tries"])
        for task_id, t in sorted(folded.items())
    ]


class DagVersionRecord(msgspec.Struct, frozen=True):
    """The serialized structure of a DAG and its hash, stored once per distinct structure."""

    dag_id: str
    version: str
    serialized: dict[str, Any]
    created_at: datetime | None = None


class AssetMaterializationRecord(msgspec.Struct, frozen=True):
    """One materialization of one asset: the asset catalog's unit of history.

    ``id`` is given by the store, in write order, so the newest materialization of
    a key is the one with the highest id.
    """

    asset_key: AssetKey
    run_id: str
    task_id: str
    timestamp: datetime
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    code_version: str | None = None
    data_version: str | None = None
    #: Where the IO manager stored the value (None when the asset stored none).
    location: str | None = None
    map_index: int = -1
    id: int | None = None
    #: The partition materialized (None: the asset is not partitioned).
    partition_key: str | None = None


class AssetCheckEvaluationRecord(msgspec.Struct, frozen=True):
    """One evaluation of one asset check: did the asset's data pass it, and with what metadata.

    ``id`` is given by the store, in write order, as for materializations.
    """

    asset_key: AssetKey
    check_name: str
    run_id: str
    task_id: str
    timestamp: datetime
    passed: bool
    #: "ERROR" or "WARN" (``AssetCheckSeverity``).
    severity: str = "ERROR"
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    description: str | None = None
    id: int | None = None


class AssetPartitionStatus(TextEnum):
    """Where a partition of an asset stands: its last run's outcome, or never run."""

    MATERIALIZED = "materialized"
    FAILED = "failed"
    MISSING = "missing"


class AssetPartitionStatusRecord(msgspec.Struct, frozen=True):
    """The latest outcome of one partition of one asset (a store keeps one per pair)."""

    asset_key: AssetKey
    partition_key: str
    status: AssetPartitionStatus
    run_id: str
    timestamp: datetime


class LogLineRecord(msgspec.Struct, frozen=True, gc=False):
    """One line (or one bounded piece of a very long line) of one try of a task instance.

    ``seq`` numbers the lines of a try from 0 without gaps, in the order they
    were written: it is the line number ranges and tails refer to, and the
    cursor a live reader follows.
    """

    run_id: str
    task_id: str
    map_index: int
    try_number: int
    seq: int
    timestamp: datetime
    level: str
    message: str


def stamp_id(record: EventRecord, record_id: int) -> None:
    """Give an appended event the id its store chose: the one field a store sets, once.

    The caller's record learns its place in the log, as an insert returns a row id;
    nothing else of a record ever changes in place.
    """
    force_setattr(record, "id", record_id)


@dataclass(slots=True)
class WriteBatch:
    """Everything one flush of the engine writes; a store applies it in one transaction.

    Runs and task instances are upserted by their keys, events are appended,
    outputs are upserted by (run, task, map index, key), DAG versions are
    inserted if new, asset materializations and check evaluations are appended
    (the asset catalog), log lines are inserted by (run, task, map index, try,
    seq), partition statuses are upserted by (asset key, partition key).
    """

    runs: list[DagRunRecord] = field(default_factory=list)
    task_instances: list[TaskInstanceRecord] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    outputs: list[OutputRecord] = field(default_factory=list)
    dag_versions: list[DagVersionRecord] = field(default_factory=list)
    materializations: list[AssetMaterializationRecord] = field(default_factory=list)
    check_evaluations: list[AssetCheckEvaluationRecord] = field(default_factory=list)
    log_lines: list[LogLineRecord] = field(default_factory=list)
    partition_statuses: list[AssetPartitionStatusRecord] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.runs
            or self.task_instances
            or self.events
            or self.outputs
            or self.dag_versions
            or self.materializations
            or self.check_evaluations
            or self.log_lines
            or self.partition_statuses
        )
