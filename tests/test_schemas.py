"""The JSON models of runs and task instances (``partita.schemas``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from partita.definitions.states import RunState, TaskState
from partita.schemas import DagRunDetailModel, DagRunModel
from partita.storage.records import DagRunRecord, EventKind, EventRecord, TaskInstanceRecord

T0 = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def _error(task_id: str, try_number: int, message: str, map_index: int = -1) -> EventRecord:
    return EventRecord(
        "r", EventKind.TASK_ERROR, T0, task_id, map_index, try_number, {"error": message}
    )


def test_timestamps_are_utc_with_their_offset_whatever_zone_they_were_in() -> None:
    paris = timezone(timedelta(hours=2))
    run = DagRunRecord("r", "etl", "v", RunState.SUCCESS, start_date=T0.astimezone(paris))

    dumped = json.loads(DagRunModel.from_record(run).model_dump_json())

    assert dumped["start_date"] == "2026-03-29T01:30:00+00:00"
    assert dumped["end_date"] is None and dumped["state"] == "success"


def test_error_is_the_last_error_of_the_latest_try_only() -> None:
    run = DagRunRecord("r", "etl", "v", RunState.FAILED)
    tis = [
        TaskInstanceRecord("r", "flaky", try_number=2, state=TaskState.SUCCESS),
        TaskInstanceRecord("r", "broken", try_number=2, state=TaskState.FAILED),
        TaskInstanceRecord("r", "mapped", 0, try_number=1, state=TaskState.FAILED),
    ]
    events = [
        _error("flaky", 1, "first try failed"),
        _error("broken", 1, "old"),
        _error("broken", 2, "first message"),
        _error("broken", 2, "last message"),
        _error("mapped", 1, "index 0 failed", map_index=0),
    ]

    model = DagRunDetailModel.from_records(run, tis, events)

    errors = {(ti.task_id, ti.map_index): ti.error for ti in model.task_instances}
    assert errors == {
        ("flaky", -1): None,
        ("broken", -1): "last message",
        ("mapped", 0): "index 0 failed",
    }
