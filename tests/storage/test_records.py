"""Storage records are immutable: a change makes a new record, and mypy rejects an assignment."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from partita.definitions.asset_key import AssetKey
from partita.definitions.states import RunState, TaskState
from partita.storage.records import (
    AssetCheckEvaluationRecord,
    AssetMaterializationRecord,
    DagRunRecord,
    DagVersionRecord,
    EventKind,
    EventRecord,
    LogLineRecord,
    OutputRecord,
    TaskInstanceRecord,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
KEY = AssetKey(["orders"])

RECORDS: list[tuple[Any, str]] = [
    (DagRunRecord("r1", "etl", "v1", RunState.QUEUED), "state"),
    (TaskInstanceRecord("r1", "t"), "state"),
    (EventRecord("r1", EventKind.RUN_STATE, T0), "payload"),
    (OutputRecord("r1", "t", -1, "return_value", "inline"), "location"),
    (DagVersionRecord("etl", "v1", {}), "serialized"),
    (AssetMaterializationRecord(KEY, "r1", "t", T0), "metadata"),
    (AssetCheckEvaluationRecord(KEY, "c", "r1", "t", T0, True), "passed"),
    (LogLineRecord("r1", "t", -1, 1, 0, T0, "INFO", "hi"), "message"),
]


@pytest.mark.parametrize(("record", "name"), RECORDS, ids=lambda x: type(x).__name__)
def test_assigning_a_field_of_a_record_raises(record: Any, name: str) -> None:
    before = getattr(record, name)
    with pytest.raises(AttributeError):
        setattr(record, name, None)
    assert getattr(record, name) == before


def test_task_instance_updates_make_new_records_and_leave_the_old_one() -> None:
    ti = TaskInstanceRecord("r1", "t", max_tries=2, retry_at=T0)
    queued = ti.queued()
    assert (queued.try_number, queued.state, queued.retry_at) == (1, TaskState.QUEUED, None)
    assert (ti.try_number, ti.state, ti.retry_at) == (0, TaskState.NONE, T0)

    running = queued.started(T0, "host-a")
    assert (running.state, running.start_date, running.hostname) == (
        TaskState.RUNNING,
        T0,
        "host-a",
    )
    assert queued.state is TaskState.QUEUED

    end = T0 + timedelta(seconds=3)
    retry = running.finished(TaskState.UP_FOR_RETRY, T0, end, 3.0, "host-a", end)
    assert (retry.state, retry.end_date, retry.duration, retry.retry_at) == (
        TaskState.UP_FOR_RETRY, end, 3.0, end,
    )  # fmt: skip
    done = retry.queued().finished(TaskState.SUCCESS, T0, end, 1.0, "host-b", end)
    assert (done.state, done.try_number, done.retry_at, done.hostname) == (
        TaskState.SUCCESS, 2, None, "host-b",
    )  # fmt: skip

    lost = running.lost(end)  # its worker died: scheduled again, the lost try's dates kept
    assert (lost.state, lost.start_date, lost.end_date, lost.hostname) == (
        TaskState.SCHEDULED, T0, end, "host-a",
    )  # fmt: skip
    assert running.state is TaskState.RUNNING

    assert ti.moved(TaskState.SCHEDULED, end).end_date is None
    assert ti.moved(TaskState.SKIPPED, end).end_date == end


def test_run_updates_make_new_records() -> None:
    run = DagRunRecord("r1", "etl", "v1", RunState.QUEUED)
    began = run.began(T0)
    assert (began.state, began.queued_at, began.start_date, began.heartbeat_at) == (
        RunState.RUNNING, T0, T0, T0,
    )  # fmt: skip
    end = T0 + timedelta(seconds=5)
    ended = began.cancel_requested(end, 2.0).ended(RunState.CANCELLED, end)
    assert (ended.state, ended.end_date, ended.heartbeat_at) == (RunState.CANCELLED, end, end)
    assert (ended.cancel_requested_at, ended.cancel_grace) == (end, 2.0)
    assert (run.state, began.end_date) == (RunState.QUEUED, None)


@pytest.mark.slow
def test_mypy_rejects_an_assignment_to_a_record_field(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from partita.definitions.states import TaskState\n"
        "from partita.storage.records import TaskInstanceRecord\n"
        "ti = TaskInstanceRecord('r1', 't')\n"
        "ti.state = TaskState.RUNNING\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", "--no-incremental",
         "--config-file=", str(probe)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'probe.py:4: error: Property "state" defined in "TaskInstanceRecord" is read-only' in (
        done.stdout
    )
