"""The JSON shape of runs, task instances, connections and variables (CLI ``--json``, REST API).

``DagRunModel`` is one run, ``TaskInstanceModel`` one task instance (each
instance of a mapped task its own, ``map_index`` -1 when not mapped), and
``DagRunDetailModel`` a run with its task instances, ``BackfillModel`` a
backfill with its progress. ``InstigatorModel`` is a sensor or a
Dagster-style schedule with its state, ``TickModel`` one of its evaluations.
Each is built from the storage records with ``from_record``.

The design decision: these pydantic models are the one place the field
names and formats are decided, so ``partita runs show --json`` and the
server's API cannot drift apart. Timestamps are ISO 8601 with their UTC
offset (``2026-11-30T16:00:00.123456+00:00``), never naive and never ``Z``.
This module imports pydantic: it is imported lazily, never by ``import partita``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from partita.definitions.connection import Connection
from partita.definitions.states import RunState, TaskState
from partita.storage.backfills import BackfillProgress, BackfillRecord, BackfillStatus, Reprocess
from partita.storage.dag_records import DagRecord
from partita.storage.instigators import (
    InstigatorKind,
    InstigatorStatus,
    TickRecord,
    TickStatus,
)
from partita.storage.records import (
    AssetMaterializationRecord,
    DagRunRecord,
    EventKind,
    EventRecord,
    LogLineRecord,
    TaskInstanceRecord,
)


def _iso_utc(value: datetime) -> str:
    if value.tzinfo is None:  # the store hands out aware times; a naive one is taken as UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


#: A timestamp serialized as ISO 8601 with its UTC offset.
Timestamp = Annotated[datetime, PlainSerializer(_iso_utc, return_type=str)]


class TaskInstanceModel(BaseModel):
    """One task instance of a run: its latest try's state, times and error."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    map_index: int = Field(description="The instance of a mapped task; -1 when not mapped.")
    state: TaskState
    try_number: int = Field(description="The latest try (0 before the first).")
    start_date: Timestamp | None = None
    end_date: Timestamp | None = None
    error: str | None = Field(
        default=None, description="The last error message of the latest try, if it failed."
    )

    @classmethod
    def from_record(cls, record: TaskInstanceRecord, error: str | None = None) -> TaskInstanceModel:
        """The model of ``record``; ``error`` comes from the event log (``latest_errors``)."""
        return cls(
            task_id=record.task_id,
            map_index=record.map_index,
            state=record.state,
            try_number=record.try_number,
            start_date=record.start_date,
            end_date=record.end_date,
            error=error,
        )


class DagRunModel(BaseModel):
    """One DAG run: what it ran, for which dates and conf, and how it went."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    dag_id: str
    state: RunState
    run_type: str = Field(
        description="manual, scheduled, backfill, sensor, asset_triggered, automation or test."
    )
    logical_date: Timestamp | None = None
    data_interval_start: Timestamp | None = None
    data_interval_end: Timestamp | None = None
    conf: dict[str, Any] = Field(default_factory=dict)
    start_date: Timestamp | None = None
    end_date: Timestamp | None = None
    partition_key: str | None = Field(
        default=None, description="The partition the run is for (None: not partitioned)."
    )
    tags: dict[str, str] = Field(
        default_factory=dict,
        description="The run's tags: its schedule's or sensor request's, or given at trigger.",
    )
    note: str | None = Field(
        default=None,
        description="Set on a running run whose scheduler stopped: who will resume it.",
    )

    @classmethod
    def from_record(cls, record: DagRunRecord, note: str | None = None) -> DagRunModel:
        """The model of ``record`` (``note``: see ``scheduler.ownership.orphan_notes``)."""
        return cls(**_run_fields(record), note=note)

    def as_json(self) -> dict[str, Any]:
        """The JSON object: the stable fields, and ``note`` only when there is one."""
        return self.model_dump(mode="json", exclude={"note"} if self.note is None else None)


class DagRunDetailModel(DagRunModel):
    """A run and every one of its task instances."""

    task_instances: list[TaskInstanceModel] = Field(default_factory=list)

    @classmethod
    def from_records(
        cls,
        run: DagRunRecord,
        task_instances: Iterable[TaskInstanceRecord],
        events: Iterable[EventRecord] = (),
        note: str | None = None,
    ) -> DagRunDetailModel:
        """The run with its instances; ``events`` (its ``task_error`` events) give the errors."""
        tis = list(task_instances)
        errors = latest_errors(tis, events)
        return cls(
            **_run_fields(run),
            note=note,
            task_instances=[TaskInstanceModel.from_record(ti, errors.get(ti.key)) for ti in tis],
        )


class TickModel(BaseModel):
    """One evaluation of a sensor or schedule: what it came to, and when."""

    model_config = ConfigDict(frozen=True)

    id: int | None = None
    status: TickStatus = Field(description="skipped, requested or failed.")
    timestamp: Timestamp
    run_ids: list[str] = Field(description="The runs the tick queued.")
    run_keys: list[str] = Field(description="The run keys of those runs (sensors).")
    skip_reason: str | None = None
    error: str | None = None
    cursor: str | None = Field(default=None, description="The cursor after the tick (sensors).")
    duration: float | None = Field(default=None, description="Seconds the evaluation took.")

    @classmethod
    def from_record(cls, record: TickRecord) -> TickModel:
        return cls(
            id=record.id,
            status=record.status,
            timestamp=record.timestamp,
            run_ids=list(record.run_ids),
            run_keys=list(record.run_keys),
            skip_reason=record.skip_reason,
            error=record.error,
            cursor=record.cursor,
            duration=record.duration,
        )


class InstigatorModel(BaseModel):
    """A sensor or a Dagster-style schedule: what it runs, whether it runs, its last tick."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: InstigatorKind
    type: str = Field(description="sensor, run_status or asset (sensors); cron (schedules).")
    job: str | None = Field(description="The DAG or job its runs run.")
    status: InstigatorStatus = Field(description="running or stopped, as in force now.")
    status_set_by_hand: bool = Field(
        description="True when 'start'/'stop' set the status; False when declared in code."
    )
    interval: str = Field(description="Seconds between evaluations, or the cron schedule.")
    cursor: str | None = None
    last_tick: TickModel | None = None
    loaded: bool = Field(description="False when only its stored state was found.")


class BackfillProgressModel(BaseModel):
    """How far a backfill is, counted in logical dates (planned runs)."""

    model_config = ConfigDict(frozen=True)

    total: int
    finished: int = Field(description="Kept as they were, or queued and ended.")
    active: int = Field(description="Queued or running now.")
    pending: int = Field(description="Not queued yet.")
    skipped: int = Field(description="Runs that existed already and were kept as they were.")
    states: dict[RunState, int] = Field(description="The runs it queued, by their state now.")


class BackfillModel(BaseModel):
    """One backfill (``partita backfill create``): its DAG, range, options, status, progress."""

    model_config = ConfigDict(frozen=True)

    backfill_id: str
    dag_id: str
    status: BackfillStatus
    from_date: Timestamp
    to_date: Timestamp
    reprocess: Reprocess
    max_active_runs: int
    conf: dict[str, Any] = Field(default_factory=dict)
    created_at: Timestamp
    ended_at: Timestamp | None = None
    #: An asset backfill's ``FIRST...LAST`` partition keys (None: a backfill of dates).
    partitions: str | None = None
    progress: BackfillProgressModel

    @classmethod
    def from_record(cls, record: BackfillRecord, progress: BackfillProgress) -> BackfillModel:
        """The model of ``record`` with its ``progress``."""
        return cls(
            backfill_id=record.backfill_id, dag_id=record.dag_id, status=record.status,
            from_date=record.from_date, to_date=record.to_date, reprocess=record.reprocess,
            max_active_runs=record.max_active_runs, conf=record.conf,
            created_at=record.created_at, ended_at=record.ended_at, partitions=record.partitions,
            progress=BackfillProgressModel(
                total=progress.total, finished=progress.finished, active=progress.active,
                pending=progress.pending, skipped=progress.skipped, states=progress.states,
            ),
        )  # fmt: skip


def latest_errors(
    task_instances: Iterable[TaskInstanceRecord], events: Iterable[EventRecord]
) -> dict[tuple[str, int], str]:
    """(task id, map index) -> the last error message recorded for the instance's latest try."""
    latest_try = {ti.key: ti.try_number for ti in task_instances}
    errors: dict[tuple[str, int], str] = {}
    for event in events:
        if event.kind is not EventKind.TASK_ERROR or event.task_id is None:
            continue
        key = (event.task_id, event.map_index)
        if latest_try.get(key) == event.try_number:
            errors[key] = str(event.payload.get("error") or "failed")
    return errors


def _run_fields(record: DagRunRecord) -> dict[str, Any]:
    return {
        "run_id": record.run_id,
        "dag_id": record.dag_id,
        "state": record.state,
        "run_type": record.run_type,
        "logical_date": record.logical_date,
        "data_interval_start": record.data_interval_start,
        "data_interval_end": record.data_interval_end,
        "conf": record.conf,
        "start_date": record.start_date,
        "end_date": record.end_date,
        "partition_key": record.partition_key,
        "tags": record.tags,
    }


class ConnectionModel(BaseModel):
    """A connection as ``partita connections list/get --json`` shows it (secrets ``***``)."""

    model_config = ConfigDict(frozen=True)

    conn_id: str
    conn_type: str | None = None
    host: str | None = None
    login: str | None = None
    password: str | None = Field(default=None, description="``***`` unless revealed.")
    schema_: str | None = Field(default=None, alias="schema", serialization_alias="schema")
    port: int | None = None
    extra: dict[str, Any] = Field(
        default_factory=dict, description="Secret extras (token, api_key...) ``***``."
    )
    description: str | None = None
    source: str = Field(description="Where it is defined: ``metadata`` or the environment.")

    @classmethod
    def from_connection(
        cls, connection: Connection, source: str, *, reveal: bool = False
    ) -> ConnectionModel:
        return cls.model_validate({**connection.to_dict(reveal=reveal), "source": source})


class VariableModel(BaseModel):
    """A variable as ``partita variables list/get --json`` shows it (secret values ``***``)."""

    model_config = ConfigDict(frozen=True)

    key: str
    value: Any = Field(description="The value (parsed JSON when it is JSON); ``***`` if secret.")
    description: str | None = None
    source: str = Field(description="Where it is defined: ``metadata`` or the environment.")


# -- the REST API's other shapes (``partita.server.api``) --------------------------------------
class Page(BaseModel):
    """Where a page of a list is: how many items match in all, and which slice this is."""

    total: int = Field(description="How many items match the filters, across all pages.")
    limit: int
    offset: int


class DagRunPageModel(Page):
    """One page of runs, newest first."""

    runs: list[DagRunModel]


class DagModel(BaseModel):
    """A DAG the scheduler knows: where it lives, whether it is paused, when it next runs."""

    model_config = ConfigDict(frozen=True)

    dag_id: str
    is_paused: bool
    is_active: bool
    fileloc: str | None = None
    schedule: str | None = Field(default=None, description="The timetable, in words.")
    next_run: Timestamp | None = Field(default=None, description="The next run's logical date.")
    tags: list[str] = Field(default_factory=list)
    owner: str | None = None
    description: str | None = None
    last_parsed_at: Timestamp | None = None

    @classmethod
    def from_record(cls, record: DagRecord) -> DagModel:
        """The model of a DAG registry row."""
        return cls(
            dag_id=record.dag_id,
            is_paused=record.is_paused,
            is_active=record.is_active,
            fileloc=record.fileloc,
            schedule=record.timetable_summary,
            next_run=record.next_run.logical_date if record.next_run is not None else None,
            tags=list(record.tags),
            owner=record.owner,
            description=record.description,
            last_parsed_at=record.last_parsed_at,
        )


class DagPageModel(Page):
    """One page of DAGs, sorted by id."""

    dags: list[DagModel]


class TaskModel(BaseModel):
    """One task of a DAG's structure."""

    task_id: str
    operator: str
    upstream: list[str]
    trigger_rule: str
    retries: int
    group: str | None = None


class ParamModel(BaseModel):
    """One param of a DAG: its default (if any), description and JSON-schema rules."""

    required: bool = Field(description="True when the param has no default: a run must set it.")
    default: Any = None
    description: str | None = None
    json_schema: dict[str, Any] = Field(default_factory=dict)


class DagDetailModel(DagModel):
    """A DAG with its tasks, its schedule's settings and its params."""

    tasks: list[TaskModel]
    timezone: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    catchup: bool | None = None
    max_active_runs: int | None = None
    params: dict[str, ParamModel] = Field(default_factory=dict)


class DagSourceModel(BaseModel):
    """The code of the file that defines a DAG."""

    dag_id: str
    fileloc: str
    source: str
    truncated: bool = Field(description="True when the file was longer than what is shown.")


class TaskTryModel(BaseModel):
    """One try of a task instance, as the event log recorded it."""

    try_number: int
    state: TaskState | None = None
    start_date: Timestamp | None = None
    end_date: Timestamp | None = None
    hostname: str | None = None
    error: str | None = None


class TaskInstanceDetailModel(TaskInstanceModel):
    """A task instance with every try it made."""

    run_id: str
    operator: str
    max_tries: int
    hostname: str | None = None
    tries: list[TaskTryModel]


class LogLineModel(BaseModel):
    """One line of a task's log; ``seq`` numbers the lines of a try from 0."""

    seq: int
    timestamp: Timestamp
    level: str
    message: str

    @classmethod
    def from_record(cls, record: LogLineRecord) -> LogLineModel:
        """The model of a stored line."""
        return cls(
            seq=record.seq, timestamp=record.timestamp, level=record.level, message=record.message
        )


class LogChunkModel(BaseModel):
    """A bounded piece of one try's log and where the next piece starts."""

    try_number: int
    tries: list[int] = Field(description="The tries of the instance that have a log.")
    lines: list[LogLineModel]
    next_offset: int = Field(description="The offset that asks for the lines after these.")
    finished: bool = Field(description="True when the instance has finished (no more lines).")


class ControlResultModel(BaseModel):
    """What a clear, mark, retry or cancel changed."""

    run_id: str
    changed: list[TaskInstanceModel]
    run_state_before: RunState
    run_state_after: RunState


class OutputModel(BaseModel):
    """Where one output of a task instance is stored, and how big it is."""

    task_id: str
    map_index: int
    key: str
    size: int
    inline: bool


class OutputPreviewModel(OutputModel):
    """The start of an output's value, as text (``repr``), cut to the preview limit."""

    type: str | None = None
    preview: str | None = None
    truncated: bool = False
    note: str | None = Field(default=None, description="Why there is no preview, if none.")


class MaterializationModel(BaseModel):
    """One materialization of an asset."""

    asset_key: str
    run_id: str
    task_id: str
    timestamp: Timestamp
    metadata: dict[str, Any] = Field(default_factory=dict)
    data_version: str | None = None
    code_version: str | None = None

    @classmethod
    def from_record(cls, record: AssetMaterializationRecord) -> MaterializationModel:
        """The model of a catalog entry."""
        return cls(
            asset_key=record.asset_key.to_user_string(),
            run_id=record.run_id,
            task_id=record.task_id,
            timestamp=record.timestamp,
            metadata=record.metadata,
            data_version=record.data_version,
            code_version=record.code_version,
        )


class AssetModel(BaseModel):
    """An asset of the catalog with its newest materialization."""

    asset_key: str
    last_materialization: MaterializationModel | None = None


class AssetLineageModel(BaseModel):
    """The assets next to one asset, as the run that last materialized it recorded them."""

    asset_key: str
    run_id: str | None = None
    upstream: list[str]
    downstream: list[str]


class PoolModel(BaseModel):
    """A pool of task slots."""

    name: str
    slots: int = Field(ge=0)
    description: str | None = None


class ImportErrorModel(BaseModel):
    """A DAG file that failed to import at its last parse."""

    fileloc: str
    error: str
    timestamp: Timestamp
    code_location: str | None = None


class HealthModel(BaseModel):
    """Is the server's database reachable, and is a scheduler alive?"""

    status: str = Field(
        description="ok, or degraded when the database (or the Celery broker) is unreachable."
    )
    database: str = Field(description="ok, or the error met reaching it.")
    scheduler_alive: bool
    scheduler_heartbeat_age: float | None = Field(
        default=None, description="Seconds since the newest scheduler heartbeat (None: none)."
    )
    broker: str | None = Field(
        default=None,
        description="With the Celery executor: ok, or why its broker is unreachable "
        "(absent with the local executor).",
    )


class UserModel(BaseModel):
    """A user of the web server (never its password hash)."""

    username: str
    role: str
    created_at: Timestamp


class ApiTokenModel(BaseModel):
    """An API token (never its secret, which is shown once, when it is created)."""

    token_id: str
    username: str
    name: str
    created_at: Timestamp


class SessionModel(BaseModel):
    """Who is logged in, and the CSRF token their state-changing requests must carry."""

    username: str
    role: str
    csrf_token: str | None = Field(
        default=None, description="Send it as X-CSRF-Token with POST, PATCH, PUT and DELETE."
    )


class ProblemModel(BaseModel):
    """An error (RFC 9457 problem details): what went wrong, for a person to read."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="The fields that were wrong (422 only)."
    )


__all__ = [
    "ApiTokenModel",
    "AssetLineageModel",
    "AssetModel",
    "BackfillModel",
    "BackfillProgressModel",
    "ConnectionModel",
    "ControlResultModel",
    "DagDetailModel",
    "DagModel",
    "DagPageModel",
    "DagRunDetailModel",
    "DagRunModel",
    "DagRunPageModel",
    "DagSourceModel",
    "HealthModel",
    "ImportErrorModel",
    "InstigatorModel",
    "LogChunkModel",
    "LogLineModel",
    "MaterializationModel",
    "OutputModel",
    "OutputPreviewModel",
    "Page",
    "ParamModel",
    "PoolModel",
    "ProblemModel",
    "SessionModel",
    "TaskInstanceDetailModel",
    "TaskInstanceModel",
    "TaskModel",
    "TaskTryModel",
    "TickModel",
    "Timestamp",
    "UserModel",
    "VariableModel",
    "latest_errors",
]
