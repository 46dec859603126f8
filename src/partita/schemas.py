"""The JSON shape of runs and task instances, shared by the CLI (``--json``) and the REST API.

``DagRunModel`` is one run, ``TaskInstanceModel`` one task instance (each
instance of a mapped task its own, ``map_index`` -1 when not mapped), and
``DagRunDetailModel`` a run with its task instances. Each is built from the
storage records with ``from_record``.

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

from partita.definitions.states import RunState, TaskState
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


__all__ = [
    "DagRunDetailModel",
    "DagRunModel",
    "TaskInstanceModel",
    "Timestamp",
    "latest_errors",
]
