"""What crosses between the engine and an executor: run facts, work items, outcomes.

All of it is plain, picklable data, because an executor may run the task in
another process or on another machine: the engine never assumes the task
runs where the DAG was loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import msgspec

from partita.definitions.asset_key import AssetKey
from partita.definitions.states import TaskState
from partita.engine.task_log import LiveLogs, LogLine
from partita.storage.records import (
    AssetCheckEvaluationRecord,
    AssetMaterializationRecord,
    OutputRecord,
)


@dataclass(frozen=True, slots=True)
class RunInfo:
    """The facts of a run every task instance of it sees (also ``context['dag_run']``)."""

    run_id: str
    dag_id: str
    run_type: str
    logical_date: datetime
    data_interval_start: datetime
    data_interval_end: datetime
    conf: dict[str, Any]
    params: dict[str, Any]
    dag_fileloc: str | None = None
    start_date: datetime | None = None
    #: Task id -> its validated ``Config`` object, for the tasks that take config.
    task_config: dict[str, Any] = field(default_factory=dict)
    #: The partition this run is for (None: the DAG is not partitioned).
    partition_key: str | None = None


@dataclass(frozen=True, slots=True)
class Rescheduled:
    """Where a rescheduled try stands (a sensor in ``mode="reschedule"``), for its next run."""

    #: When the try's first run (poke) started: a sensor's timeout counts from it.
    first_start: datetime
    #: How many times the try was rescheduled so far.
    count: int
    #: The seq its log goes on from (the earlier runs of the try wrote the lines before).
    log_seq: int


class TaskWork(msgspec.Struct, frozen=True, gc=False):
    """One try of one task instance to run."""

    task_id: str
    map_index: int
    try_number: int
    #: Earlier tries of this instance lost with their worker: they use up no retry.
    lost_tries: int = 0
    #: Set when this try was rescheduled before: it goes on from there.
    rescheduled: Rescheduled | None = None


class TaskOutcome(msgspec.Struct):
    """How one try of a task instance ended, as the executor reports it."""

    task_id: str
    map_index: int
    try_number: int
    state: TaskState
    start_date: datetime
    end_date: datetime
    hostname: str
    outputs: list[OutputRecord] = msgspec.field(default_factory=list)
    #: The try's log lines not yet written to the store (those written while it ran are there).
    logs: list[LogLine] = msgspec.field(default_factory=list)
    error: str | None = None
    traceback: str | None = None
    error_metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    retry_at: datetime | None = None
    skip_downstream: list[str] = msgspec.field(default_factory=list)
    #: For a branch task: the downstream task ids it chose to follow (None for other tasks).
    followed_branches: list[str] | None = None
    #: The assets the task instance materialized (recorded in the asset catalog).
    materializations: Sequence[AssetMaterializationRecord] = ()
    #: The asset checks the task instance evaluated (recorded in the asset catalog).
    check_evaluations: Sequence[AssetCheckEvaluationRecord] = ()
    #: In a partitioned run: the assets a failed try did not materialize (failed partitions).
    failed_asset_keys: Sequence[AssetKey] = ()
    #: The seq (line number in the try's log) of ``logs[0]``.
    first_log_seq: int = 0
    #: The try was lost with its worker (killed, or silent for too long): no verdict on
    #: the task; the engine runs it again without using a retry (``state`` is meaningless).
    lost: bool = False

    @property
    def duration(self) -> float:
        return (self.end_date - self.start_date).total_seconds()


class OutputAccess(Protocol):
    """How a running task stores its outputs and reads other tasks' outputs of the run."""

    def push(self, task_id: str, map_index: int, key: str, value: Any) -> OutputRecord: ...

    def pull(self, task_id: str, map_index: int, key: str) -> tuple[bool, Any]: ...


class Executor(Protocol):
    """Runs task instances somewhere: ``submit`` work, ``poll`` to hear how it goes.

    ``start`` is called once per run before any ``submit``. While ``poll`` runs,
    the executor calls ``on_started`` when a task instance begins and
    ``on_finished`` with its outcome when a try ends, each as it happens, so the
    engine records a try's end before the executor starts another task (a task
    that ended stays ended if the process dies in the next one). ``resources``
    are the run's opened resources (what ``context["resources"]`` holds), None
    when the run has none. ``logs``
    streams each try's log lines to the store while it runs (``logs.open``);
    without it the lines travel in the outcome only.
    """

    def start(
        self,
        run: RunInfo,
        dag: Any,
        outputs: OutputAccess,
        on_started: Callable[[TaskWork, datetime, str], None],
        on_finished: Callable[[TaskOutcome], None],
        resources: Mapping[str, Any] | None = None,
        logs: LiveLogs | None = None,
    ) -> None: ...

    def submit(self, work: TaskWork) -> None: ...

    def poll(self, timeout: float | None) -> None:
        """Run or wait for work at most ``timeout`` seconds (None: until a try ends),
        calling ``on_started`` / ``on_finished`` for what happens meanwhile."""

    def shutdown(self) -> None: ...


__all__ = [
    "Executor",
    "LogLine",
    "OutputAccess",
    "Rescheduled",
    "RunInfo",
    "TaskOutcome",
    "TaskWork",
]
