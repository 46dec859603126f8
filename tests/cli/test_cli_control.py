"""The run-control commands: runs list/show --json, runs retry and cancel, tasks clear and mark."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from cli_helpers import TEST_DAGS, Invoke, only_line, run_id_of

from partita.definitions.states import RunState, TaskState
from partita.engine.host import HOSTNAME
from partita.storage.base import Storage
from partita.storage.records import (
    DagRunRecord,
    EventKind,
    TaskInstanceRecord,
    WriteBatch,
)

DAGS = str(TEST_DAGS / "control.py")
RUN_FIELDS = {
    "run_id",
    "dag_id",
    "state",
    "run_type",
    "logical_date",
    "data_interval_start",
    "data_interval_end",
    "conf",
    "start_date",
    "end_date",
    "partition_key",
    "tags",
}
TI_FIELDS = {"task_id", "map_index", "state", "try_number", "start_date", "end_date", "error"}

StoreOpener = Callable[[], Storage]


def _run(invoke: Invoke, dag_id: str = "control") -> str:
    result = invoke("run", DAGS, dag_id)
    assert result.exit_code in (0, 1), result.output
    return run_id_of(result.stdout)


def _states(storage: Storage, run_id: str) -> dict[tuple[str, int], tuple[TaskState, int]]:
    return {ti.key: (ti.state, ti.try_number) for ti in storage.runs.get_task_instances(run_id)}


def _is_offset_time(value: str) -> bool:
    return value.endswith("+00:00") and datetime.fromisoformat(value).tzinfo is not None


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def _write_running_run(storage: Storage, run_id: str, pid: int) -> None:
    """A run recorded as running by process ``pid`` of this host, one task running."""
    now = datetime.now(UTC)
    run = DagRunRecord(
        run_id, "chain", "v", RunState.RUNNING, queued_at=now, start_date=now,
        hostname=HOSTNAME, pid=pid,
    )  # fmt: skip
    tis = [
        TaskInstanceRecord(run_id, "first", try_number=1, state=TaskState.SUCCESS),
        TaskInstanceRecord(run_id, "middle", try_number=1, state=TaskState.RUNNING),
        TaskInstanceRecord(run_id, "last"),
    ]
    storage.write(WriteBatch(runs=[run], task_instances=tis))


# -- JSON ---------------------------------------------------------------------------------
def test_runs_show_json_pins_the_fields_offsets_and_one_entry_per_mapped_instance(
    invoke: Invoke,
) -> None:
    run_id = _run(invoke)

    shown = invoke("runs", "show", run_id, "--json")
    assert shown.exit_code == 0, shown.output
    run = json.loads(shown.stdout)  # nothing but the JSON object on stdout
    assert set(run) == RUN_FIELDS | {"task_instances"}
    assert (run["run_id"], run["dag_id"], run["state"], run["run_type"]) == (
        run_id, "control", "failed", "manual",
    )  # fmt: skip
    for field in ("logical_date", "data_interval_start", "start_date", "end_date"):
        assert _is_offset_time(run[field]), run[field]
    entries = {(ti["task_id"], ti["map_index"]): ti for ti in run["task_instances"]}
    assert set(entries) == {
        ("numbers", -1), ("side", -1), ("total", -1),
        ("double", 0), ("double", 1), ("double", 2),
    }  # fmt: skip
    assert all(set(ti) == TI_FIELDS for ti in entries.values())
    failed = entries[("double", 1)]
    assert (failed["state"], failed["try_number"]) == ("failed", 1)
    assert failed["error"] == "ValueError: two is not welcome"
    assert _is_offset_time(failed["start_date"]) and _is_offset_time(failed["end_date"])
    assert entries[("double", 0)]["error"] is None
    total = entries[("total", -1)]
    assert (total["state"], total["try_number"], total["start_date"]) == (
        "upstream_failed", 0, None,
    )  # fmt: skip


def test_runs_list_json_is_newest_first_and_filters(invoke: Invoke) -> None:
    failed = _run(invoke)
    succeeded = _run(invoke, "chain")

    listed = invoke("runs", "list", "--json")
    assert listed.exit_code == 0, listed.output
    runs = json.loads(listed.stdout)
    assert [r["run_id"] for r in runs] == [succeeded, failed]
    assert all(set(r) == RUN_FIELDS for r in runs)

    only_failed = json.loads(invoke("runs", "list", "--json", "--state", "failed").stdout)
    assert [r["run_id"] for r in only_failed] == [failed]
    of_chain = json.loads(invoke("runs", "list", "--json", "--dag", "chain").stdout)
    assert [r["run_id"] for r in of_chain] == [succeeded]
    assert len(json.loads(invoke("runs", "list", "--json", "--limit", "1").stdout)) == 1
    assert json.loads(invoke("runs", "list", "--json", "--dag", "nope").stdout) == []


# -- retry and clear ----------------------------------------------------------------------
def test_retry_clears_the_failed_instances_and_their_downstream_and_queues_the_run(
    invoke: Invoke, cli_storage: StoreOpener
) -> None:
    run_id = _run(invoke)

    result = invoke("runs", "retry", run_id)
    assert result.exit_code == 0, result.output
    assert "Cleared 2 task instances" in result.stdout and "double[1], total" in result.stdout
    assert "failed -> queued" in result.stdout

    storage = cli_storage()
    assert storage.runs.get_run(run_id).state is RunState.QUEUED
    states = _states(storage, run_id)
    assert states[("double", 1)] == (TaskState.NONE, 1)  # the try number continues from 1
    assert states[("total", -1)] == (TaskState.NONE, 0)
    assert states[("double", 0)] == (TaskState.SUCCESS, 1)  # kept: its output is reused
    assert states[("numbers", -1)] == (TaskState.SUCCESS, 1)
    cleared = storage.events.read_events(run_id, kinds=[EventKind.TASK_CLEARED])
    assert {(e.task_id, e.map_index, e.payload["previous_state"]) for e in cleared} == {
        ("double", 1, "failed"), ("total", -1, "upstream_failed"),
    }  # fmt: skip

    again = invoke("runs", "retry", run_id)
    assert again.exit_code == 2
    assert "is already queued" in only_line(again.stderr)


def test_retry_of_a_successful_run_says_what_to_use(invoke: Invoke) -> None:
    run_id = _run(invoke, "chain")
    result = invoke("runs", "retry", run_id)
    assert result.exit_code == 2
    assert f"'partita tasks clear {run_id} TASK_ID'" in only_line(result.stderr)


def test_clear_one_mapped_instance_with_its_downstream(
    invoke: Invoke, cli_storage: StoreOpener
) -> None:
    run_id = _run(invoke)

    result = invoke("tasks", "clear", run_id, "double", "--map-index", "0", "--downstream", "--yes")
    assert result.exit_code == 0, result.output
    assert "double[0], total" in result.stdout

    states = _states(cli_storage(), run_id)
    assert states[("double", 0)] == (TaskState.NONE, 1)
    assert states[("double", 1)] == (TaskState.FAILED, 1)  # another instance: untouched
    assert states[("total", -1)] == (TaskState.NONE, 0)
    assert states[("side", -1)] == (TaskState.SUCCESS, 1)


def test_clear_every_instance_and_upstream(invoke: Invoke, cli_storage: StoreOpener) -> None:
    run_id = _run(invoke)

    result = invoke("tasks", "clear", run_id, "double", "--upstream", "--yes")
    assert result.exit_code == 0, result.output

    states = _states(cli_storage(), run_id)
    cleared = {key for key, (state, _) in states.items() if state is TaskState.NONE}
    assert cleared == {("double", 0), ("double", 1), ("double", 2), ("numbers", -1)}
    assert states[("total", -1)][0] is TaskState.UPSTREAM_FAILED  # downstream: not asked for
    assert states[("side", -1)] == (TaskState.SUCCESS, 1)


def test_clear_without_yes_and_without_a_terminal_changes_nothing(
    invoke: Invoke, cli_storage: StoreOpener
) -> None:
    run_id = _run(invoke, "chain")
    result = invoke("tasks", "clear", run_id, "middle")
    assert result.exit_code == 2
    assert "add --yes to clear without asking" in only_line(result.stderr)
    assert cli_storage().runs.get_run(run_id).state is RunState.SUCCESS


# -- mark -----------------------------------------------------------------------------------
def test_mark_success_reruns_what_failed_downstream(
    invoke: Invoke, cli_storage: StoreOpener
) -> None:
    run_id = _run(invoke)

    result = invoke("tasks", "mark", run_id, "double", "success", "--map-index", "1")
    assert result.exit_code == 0, result.output
    assert "Cleared downstream to run again: total" in result.stdout

    storage = cli_storage()
    states = _states(storage, run_id)
    assert states[("double", 1)] == (TaskState.SUCCESS, 1)
    assert states[("total", -1)] == (TaskState.NONE, 0)
    assert storage.runs.get_run(run_id).state is RunState.QUEUED
    (marked,) = storage.events.read_events(run_id, kinds=[EventKind.TASK_MARKED])
    assert (marked.task_id, marked.map_index, marked.payload) == (
        "double", 1, {"state": "success", "previous_state": "failed"},
    )  # fmt: skip


def test_mark_recomputes_the_state_of_a_finished_run(
    invoke: Invoke, cli_storage: StoreOpener
) -> None:
    run_id = _run(invoke, "chain")

    failed = invoke("tasks", "mark", run_id, "last", "failed")
    assert failed.exit_code == 0, failed.output
    assert "success -> failed" in failed.stdout
    assert cli_storage().runs.get_run(run_id).state is RunState.FAILED

    again = invoke("tasks", "mark", run_id, "last", "success")
    assert "failed -> success" in again.stdout
    assert cli_storage().runs.get_run(run_id).state is RunState.SUCCESS


# -- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tasks", "clear", "nope", "a", "--yes"), "no run with id 'nope'"),
        (("tasks", "mark", "RUN", "nope", "success"), "has no task 'nope'; its tasks are: double,"),
        (("tasks", "mark", "RUN", "double", "failed", "--map-index", "9"), "has no map index 9"),
        (("tasks", "clear", "RUN", "side", "--map-index", "3", "--yes"), "has no map index 3"),
        (("runs", "retry", "nope"), "no run with id 'nope'"),
        (("runs", "cancel", "RUN"), "already ended failed; there is nothing to cancel"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    invoke: Invoke, args: tuple[str, ...], message: str
) -> None:
    run_id = _run(invoke)
    result = invoke(*(run_id if a == "RUN" else a for a in args))
    assert result.exit_code == 2, result.output
    assert message in only_line(result.stderr)


def test_a_running_run_cannot_be_cleared_marked_or_retried(
    invoke: Invoke, cli_storage: StoreOpener
) -> None:
    _write_running_run(cli_storage(), "live", os.getpid())  # this process: alive

    for args in (
        ("tasks", "clear", "live", "first", "--yes"),
        ("tasks", "mark", "live", "middle", "success"),
        ("runs", "retry", "live"),
    ):
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        assert "is running (pid" in only_line(result.stderr)
        assert "'partita runs cancel live'" in result.stderr
    assert _states(cli_storage(), "live")[("middle", -1)] == (TaskState.RUNNING, 1)


# -- cancel ---------------------------------------------------------------------------------
def test_cancel_of_a_running_run_records_a_request_for_its_owner(
    invoke: Invoke, cli_storage: StoreOpener
) -> None:
    _write_running_run(cli_storage(), "live", os.getpid())

    result = invoke("runs", "cancel", "live", "--grace", "3")
    assert result.exit_code == 0, result.output
    assert "SIGKILL 3s later" in result.stdout

    run = cli_storage().runs.get_run("live")
    assert run.state is RunState.RUNNING  # the owner ends it, not the command
    assert (run.cancel_requested_at is not None, run.cancel_grace) == (True, 3.0)


def test_cancel_of_a_queued_run_is_at_once(invoke: Invoke, cli_storage: StoreOpener) -> None:
    run_id = _run(invoke)
    assert invoke("runs", "retry", run_id).exit_code == 0  # queued again

    result = invoke("runs", "cancel", run_id)
    assert result.exit_code == 0, result.output
    assert f"Run {run_id} cancelled (2 task instances cancelled)" in result.stdout

    storage = cli_storage()
    assert storage.runs.get_run(run_id).state is RunState.CANCELLED
    assert _states(storage, run_id)[("total", -1)] == (TaskState.CANCELLED, 0)

    retried = invoke("runs", "retry", run_id)  # a cancelled run can be retried
    assert retried.exit_code == 0, retried.output
    assert storage.runs.get_run(run_id).state is RunState.QUEUED


def test_cancel_of_a_run_whose_owner_died_records_it_cancelled(
    invoke: Invoke, cli_storage: StoreOpener
) -> None:
    _write_running_run(cli_storage(), "orphan", _dead_pid())

    result = invoke("runs", "cancel", "orphan")
    assert result.exit_code == 0, result.output

    storage = cli_storage()
    assert storage.runs.get_run("orphan").state is RunState.CANCELLED
    assert _states(storage, "orphan")[("middle", -1)][0] is TaskState.CANCELLED
    messages = [
        e.payload.get("message", "")
        for e in storage.events.read_events("orphan", kinds=[EventKind.RUN_STATE])
    ]
    assert any("is gone" in m for m in messages)  # recovered as failed first
    assert "its owner process was gone" in messages[-1]
