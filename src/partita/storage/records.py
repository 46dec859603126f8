"""Plain records that cross the storage boundary: runs, task instances, events, outputs, assets.

They are dataclasses with slots, not ORM objects: the engine builds and mutates
them freely, and a store copies what it needs. Times are timezone-aware UTC.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from partita.definitions.asset_key import AssetKey
from partita.definitions.states import RunState, TaskState


class EventKind(StrEnum):
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
    TASK_CLEARED = "task_cleared"  # payload: state, previous_state (an operator's clear)
    TASK_MARKED = "task_marked"  # payload: state, previous_state (an operator's mark)
    CANCEL_REQUESTED = "cancel_requested"  # payload: grace (an operator's cancel)


@dataclass(slots=True)
class DagRunRecord:
    """One run of one DAG."""

    run_id: str
    dag_id: str
    dag_version: str
    state: RunState
    run_type: str = "manual"
    logical_date: datetime | None = None
    data_interval_start: datetime | None = None
    data_interval_end: datetime | None = None
    conf: dict[str, Any] = field(default_factory=dict)
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


@dataclass(slots=True)
class TaskInstanceRecord:
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


@dataclass(slots=True)
class EventRecord:
    """One entry of the append-only event log. ``id`` is given by the store, in order."""

    run_id: str
    kind: EventKind
    timestamp: datetime
    task_id: str | None = None
    map_index: int = -1
    try_number: int = 0
    payload: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(slots=True)
class OutputRecord:
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


@dataclass(slots=True)
class DagVersionRecord:
    """The serialized structure of a DAG and its hash, stored once per distinct structure."""

    dag_id: str
    version: str
    serialized: dict[str, Any]
    created_at: datetime | None = None


_getters: dict[type, Any] = {}


@dataclass(slots=True)
class AssetMaterializationRecord:
    """One materialization of one asset: the asset catalog's unit of history.

    ``id`` is given by the store, in write order, so the newest materialization of
    a key is the one with the highest id.
    """

    asset_key: AssetKey
    run_id: str
    task_id: str
    timestamp: datetime
    metadata: dict[str, Any] = field(default_factory=dict)
    code_version: str | None = None
    data_version: str | None = None
    #: Where the IO manager stored the value (None when the asset stored none).
    location: str | None = None
    map_index: int = -1
    id: int | None = None


@dataclass(slots=True)
class AssetCheckEvaluationRecord:
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
    metadata: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    id: int | None = None


@dataclass(slots=True)
class LogLineRecord:
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


def clone(record: Any) -> Any:
    """A shallow copy of a record (a dataclass), several times faster than ``copy.copy``."""
    cls = type(record)
    getter = _getters.get(cls)
    if getter is None:
        getter = _getters[cls] = operator.attrgetter(*(f.name for f in fields(cls)))
    return cls(*getter(record))


@dataclass(slots=True)
class WriteBatch:
    """Everything one flush of the engine writes; a store applies it in one transaction.

    Runs and task instances are upserted by their keys, events are appended,
    outputs are upserted by (run, task, map index, key), DAG versions are
    inserted if new, asset materializations and check evaluations are appended
    (the asset catalog), log lines are inserted by (run, task, map index, try,
    seq).
    """

    runs: list[DagRunRecord] = field(default_factory=list)
    task_instances: list[TaskInstanceRecord] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    outputs: list[OutputRecord] = field(default_factory=list)
    dag_versions: list[DagVersionRecord] = field(default_factory=list)
    materializations: list[AssetMaterializationRecord] = field(default_factory=list)
    check_evaluations: list[AssetCheckEvaluationRecord] = field(default_factory=list)
    log_lines: list[LogLineRecord] = field(default_factory=list)

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
        )
