"""The JSON shape of runs, task instances, connections and variables (CLI ``--json``, REST API).

``DagRunModel`` is one run, ``TaskInstanceModel`` one task instance (each
instance of a mapped task its own, ``map_index`` -1 when not mapped), and
``DagRunDetailModel`` a run with its task instances. ``InstigatorModel`` is
a sensor or a Dagster-style schedule with its state, ``TickModel`` one of its
evaluations. Each is built from the storage records with ``from_record``.

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
from partita.storage.instigators import (
    InstigatorKind,
    InstigatorStatus,
    TickRecord,
    TickStatus,
)
from partita.storage.records import DagRunRecord, EventKind, EventRecord, TaskInstanceRecord


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
        description="manual, scheduled, backfill, sensor, asset_triggered or test."
    )
    logical_date: Timestamp | None = None
    data_interval_start: Timestamp | None = None
    data_interval_end: Timestamp | None = None
    conf: dict[str, Any] = Field(default_factory=dict)
    start_date: Timestamp | None = None
    end_date: Timestamp | None = None
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


__all__ = [
    "ConnectionModel",
    "DagRunDetailModel",
    "DagRunModel",
    "InstigatorModel",
    "TaskInstanceModel",
    "TickModel",
    "Timestamp",
    "VariableModel",
    "latest_errors",
]
