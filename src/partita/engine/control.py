"""Changes an operator makes to a recorded run: clear, mark, retry, cancel.

Each function reads the run, decides what changes (plain code on records:
which instances, to which state) and writes it as one ``WriteBatch``, so a
change is all or nothing, with an event per instance (``task_cleared``,
``task_marked``) and a ``run_state`` event when the run's state moves.

The design decision: a run that is running belongs to the process running
it, which keeps its state in memory and would overwrite these changes;
clear, mark and retry refuse such a run (cancel it, or wait for its end). A
finished run whose instances are cleared goes back to ``queued``, where a
scheduler picks it up and resumes it from its stored task instances. Cancel
never edits a running run either: it records a request
(``Storage.request_cancel``) that the owner sees at its next heartbeat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from msgspec.structs import replace

from partita.definitions.states import FAILED_TASK_STATES, RunState, TaskState
from partita.exceptions import PartitaError
from partita.storage.base import Storage
from partita.storage.records import (
    DagRunRecord,
    EventKind,
    EventRecord,
    TaskInstanceRecord,
    WriteBatch,
)

#: The instances ``retry_run`` runs again (with everything downstream of them).
RETRIED_STATES = frozenset({TaskState.FAILED, TaskState.UPSTREAM_FAILED, TaskState.CANCELLED})
#: States an operator may mark an instance with.
MARKABLE_STATES = frozenset({TaskState.SUCCESS, TaskState.FAILED})


class RunControlError(PartitaError):
    """A clear, mark, retry or cancel that cannot be done as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class ControlResult:
    """What a control command changed: the instances and the run's state before and after."""

    run_id: str
    changed: list[TaskInstanceRecord]
    run_state_before: RunState
    run_state_after: RunState


# -- the DAG's structure, as recorded with the run ------------------------------------------
def _recorded_tasks(storage: Storage, run: DagRunRecord) -> list[dict[str, Any]]:
    """The serialized tasks of the DAG version the run recorded."""
    version = storage.dags.get_dag_version(run.dag_id, run.dag_version)
    if version is None:
        raise RunControlError(
            f"run {run.run_id!r}: the structure of DAG {run.dag_id!r} (version "
            f"{run.dag_version}) is not in the metadata database; it cannot be changed"
        )
    tasks: list[dict[str, Any]] = version.serialized["tasks"]
    return tasks


def upstream_map(storage: Storage, run: DagRunRecord) -> dict[str, set[str]]:
    """task id -> its direct upstream task ids, from the DAG version the run recorded."""
    return {t["task_id"]: set(t.get("upstream", ())) for t in _recorded_tasks(storage, run)}


def ignored_teardowns(storage: Storage, run: DagRunRecord) -> set[str]:
    """Teardowns that do not decide the run's state (no ``on_failure_fail_dagrun``)."""
    return {
        t["task_id"]
        for t in _recorded_tasks(storage, run)
        if t.get("teardown") and not t.get("on_failure_fail_dagrun")
    }


def with_setups_and_teardowns(
    storage: Storage, run: DagRunRecord, upstream: dict[str, set[str]], tasks: set[str]
) -> set[str]:
    """``tasks`` plus the setups upstream of them and those setups' teardowns (Airflow's clear)."""
    recorded = _recorded_tasks(storage, run)
    setups = {t["task_id"] for t in recorded if t.get("setup")}
    teardowns = {t["task_id"] for t in recorded if t.get("teardown")}
    if not setups and not teardowns:
        return tasks
    needed = {s for s in relatives(upstream, tasks, down=False) | tasks if s in setups}
    below = relatives(upstream, needed, down=True) if needed else set()
    return tasks | needed | {t for t in below if t in teardowns and upstream[t] & needed}


def relatives(upstream: dict[str, set[str]], roots: Iterable[str], *, down: bool) -> set[str]:
    """Every task downstream (``down``) or upstream of ``roots``, the roots excluded."""
    edges: dict[str, set[str]] = {t: set() for t in upstream}
    if down:
        for task_id, ups in upstream.items():
            for up in ups:
                edges.setdefault(up, set()).add(task_id)
    else:
        edges = upstream
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen - set(roots)


def leaf_tasks(
    upstream: dict[str, set[str]], ignored: frozenset[str] | set[str] = frozenset()
) -> set[str]:
    """Tasks no other task depends on; with ``ignored`` teardowns, Airflow's effective leaves.

    An ignored teardown is no leaf, and a task followed only by ignored
    teardowns is one (as ``ActiveRun`` decides a run's state).
    """
    has_downstream = {up for t, ups in upstream.items() if t not in ignored for up in ups}
    leaves = set(upstream) - has_downstream - set(ignored)
    if not leaves:
        leaves = set(upstream) - {up for ups in upstream.values() for up in ups}
    return leaves


def finished_run_state(
    upstream: dict[str, set[str]],
    tis: list[TaskInstanceRecord],
    ignored: frozenset[str] | set[str] = frozenset(),
) -> RunState:
    """A finished run's state from its instances: failed if one was cancelled or a leaf failed."""
    if any(ti.state is TaskState.CANCELLED for ti in tis):
        return RunState.FAILED
    leaves = leaf_tasks(upstream, ignored)
    if any(ti.task_id in leaves and ti.state in FAILED_TASK_STATES for ti in tis):
        return RunState.FAILED
    return RunState.SUCCESS


# -- reading and checking ---------------------------------------------------------------------
def _owned_run(storage: Storage, run_id: str, action: str) -> DagRunRecord:
    run = storage.runs.get_run(run_id)  # RunNotFoundError names the id
    if run.state is RunState.RUNNING:
        owner = f" (pid {run.pid} on {run.hostname})" if run.pid is not None else ""
        raise RunControlError(
            f"run {run_id!r} is running{owner}: its tasks cannot be {action} while it runs; "
            f"wait for it to end, or stop it with 'partita runs cancel {run_id}'"
        )
    return run


def select_instances(
    tis: list[TaskInstanceRecord], run_id: str, task_id: str, map_index: int | None
) -> list[TaskInstanceRecord]:
    """The instances of ``task_id`` (only ``map_index`` when given), or an error naming the fix."""
    of_task = [ti for ti in tis if ti.task_id == task_id]
    if not of_task:
        known = ", ".join(sorted({ti.task_id for ti in tis})[:30]) or "none"
        raise RunControlError(f"run {run_id!r} has no task {task_id!r}; its tasks are: {known}")
    if map_index is None:
        return of_task
    chosen = [ti for ti in of_task if ti.map_index == map_index]
    if not chosen:
        indexes = ", ".join(str(ti.map_index) for ti in of_task)
        raise RunControlError(
            f"task {task_id!r} of run {run_id!r} has no map index {map_index}; "
            f"its map indexes are: {indexes}"
        )
    return chosen


# -- the changes ------------------------------------------------------------------------------
def clear_task_instances(
    storage: Storage,
    run_id: str,
    task_id: str,
    *,
    map_index: int | None = None,
    downstream: bool = False,
    upstream: bool = False,
    confirm: Callable[[list[TaskInstanceRecord]], bool] | None = None,
) -> ControlResult:
    """Reset instances of ``task_id`` (and of its downstream/upstream tasks) so they run again.

    ``confirm`` sees the instances first; when it returns False nothing is written.
    """
    run = _owned_run(storage, run_id, "cleared")
    tis = storage.runs.get_task_instances(run_id)
    chosen = select_instances(tis, run_id, task_id, map_index)
    structure = upstream_map(storage, run)
    tasks: set[str] = set()
    if downstream:
        tasks |= relatives(structure, [task_id], down=True)
    if upstream:
        tasks |= relatives(structure, [task_id], down=False)
    tasks = with_setups_and_teardowns(storage, run, structure, tasks | {task_id}) - {task_id}
    chosen += [ti for ti in tis if ti.task_id in tasks]
    return _clear(storage, run, chosen, f"cleared by an operator (task {task_id!r})", confirm)


def retry_run(storage: Storage, run_id: str) -> ControlResult:
    """Clear the failed, upstream-failed and cancelled instances and all downstream of them."""
    run = _owned_run(storage, run_id, "retried")
    if run.state is RunState.QUEUED:
        raise RunControlError(f"run {run_id!r} is already queued; a scheduler will run it")
    tis = storage.runs.get_task_instances(run_id)
    failed = {ti.task_id for ti in tis if ti.state in RETRIED_STATES}
    if not failed:
        raise RunControlError(
            f"run {run_id!r} ended {run.state} with no failed task instance to retry; "
            f"'partita tasks clear {run_id} TASK_ID' runs chosen tasks again"
        )
    tasks = failed | relatives(upstream_map(storage, run), failed, down=True)
    chosen = [ti for ti in tis if ti.task_id in tasks and ti.state is not TaskState.SUCCESS]
    return _clear(storage, run, chosen, "retried by an operator")


def rerun_run(storage: Storage, run_id: str, why: str) -> ControlResult:
    """Clear every instance of a finished run and queue it: the whole run runs again."""
    run = _owned_run(storage, run_id, "run again")
    if not run.state.finished:
        raise RunControlError(f"run {run_id!r} is {run.state}; only an ended run is run again")
    return _clear(storage, run, storage.runs.get_task_instances(run_id), why)


def reset_run(storage: Storage, run_id: str) -> ControlResult:
    """Clear every instance of a run that is not running, so a scheduler runs it all again."""
    run = _owned_run(storage, run_id, "reset")
    return _clear(storage, run, storage.runs.get_task_instances(run_id), "reset")


def mark_task_instances(
    storage: Storage, run_id: str, task_id: str, state: TaskState, *, map_index: int | None = None
) -> ControlResult:
    """Set instances of ``task_id`` to success or failed without running them.

    On a finished run, marking success also clears the downstream instances
    that failed or were upstream-failed and queues the run, so a scheduler runs
    them (Airflow's "set state" does the same); otherwise the run's state is
    recomputed from its instances.
    """
    if state not in MARKABLE_STATES:
        raise RunControlError(f"a task instance can be marked success or failed, not {state}")
    run = _owned_run(storage, run_id, "marked")
    tis = storage.runs.get_task_instances(run_id)
    chosen = select_instances(tis, run_id, task_id, map_index)
    for ti in chosen:
        if ti.state in (TaskState.RUNNING, TaskState.QUEUED):
            raise RunControlError(
                f"task {task_id!r} (map index {ti.map_index}) of run {run_id!r} is {ti.state}; "
                "an instance can be marked only when it is not running"
            )
    now = datetime.now(UTC)
    batch = WriteBatch()
    marked: list[TaskInstanceRecord] = []
    for old in chosen:
        ti = replace(old, state=state, end_date=old.end_date or now)
        marked.append(ti)
        batch.task_instances.append(ti)
        batch.events.append(_ti_event(ti, EventKind.TASK_MARKED, now, old.state))
        batch.events.append(_ti_event(ti, EventKind.TASK_STATE, now, None))
    chosen = marked
    tis = list(({ti.key: ti for ti in tis} | {ti.key: ti for ti in chosen}).values())
    before = run.state
    structure = upstream_map(storage, run)
    if run.state.finished:
        rerun: list[TaskInstanceRecord] = []
        if state is TaskState.SUCCESS:
            below = relatives(structure, [task_id], down=True)
            rerun = [ti for ti in tis if ti.task_id in below and ti.state in RETRIED_STATES]
        if rerun:
            rerun = _add_clears(batch, rerun, now)
            run = _set_run_state(batch, run, RunState.QUEUED, now, "downstream of a marked task")
        else:
            new_state = finished_run_state(structure, tis, ignored_teardowns(storage, run))
            if new_state is not run.state:
                why = f"task {task_id!r} marked {state}"
                run = _set_run_state(batch, run, new_state, now, why)
        chosen = chosen + rerun
    storage.write(batch)
    return ControlResult(run_id, chosen, before, run.state)


def cancel_run(
    storage: Storage, run_id: str, grace: float, *, owner_gone: bool = False
) -> ControlResult:
    """Cancel a run: a queued one at once, a running one by a request its owner acts on.

    ``owner_gone``: the run was running until its dead owner was just recorded
    as failed (``fail_orphaned_runs``); it is then recorded as cancelled.
    The result's ``run_state_after`` is ``running`` while the request waits for the owner.
    """
    run = storage.runs.get_run(run_id)
    before = run.state
    now = datetime.now(UTC)
    if run.state is RunState.RUNNING and storage.request_cancel(run_id, now, grace):
        return ControlResult(run_id, [], before, RunState.RUNNING)
    run = storage.runs.get_run(run_id)  # not running (any more)
    if run.state is RunState.QUEUED or (owner_gone and run.state is RunState.FAILED):
        batch = WriteBatch()
        changed = cancel_unfinished(batch, storage.runs.get_task_instances(run_id), now)
        run = replace(run, cancel_requested_at=run.cancel_requested_at or now)
        why = "its owner process was gone" if owner_gone else "it had not started"
        _set_run_state(batch, run, RunState.CANCELLED, now, f"cancelled by an operator; {why}")
        storage.write(batch)
        return ControlResult(run_id, changed, before, RunState.CANCELLED)
    raise RunControlError(f"run {run_id!r} already ended {run.state}; there is nothing to cancel")


def cancel_unfinished(
    batch: WriteBatch, tis: Iterable[TaskInstanceRecord], now: datetime
) -> list[TaskInstanceRecord]:
    """Add to ``batch`` every unfinished instance of ``tis`` as cancelled; return them."""
    changed = [
        replace(ti, state=TaskState.CANCELLED, end_date=now) for ti in tis if not ti.state.finished
    ]
    for ti in changed:
        batch.task_instances.append(ti)
        batch.events.append(_ti_event(ti, EventKind.TASK_STATE, now, None))
    return changed


def _clear(
    storage: Storage,
    run: DagRunRecord,
    chosen: list[TaskInstanceRecord],
    why: str,
    confirm: Callable[[list[TaskInstanceRecord]], bool] | None = None,
) -> ControlResult:
    now = datetime.now(UTC)
    unique = sorted({ti.key: ti for ti in chosen}.values(), key=lambda ti: ti.key)
    for ti in unique:
        if ti.state in (TaskState.RUNNING, TaskState.QUEUED):
            raise RunControlError(
                f"task {ti.task_id!r} (map index {ti.map_index}) of run {run.run_id!r} is "
                f"{ti.state}; wait for it to end before clearing it"
            )
    before = run.state
    if confirm is not None and not confirm(unique):
        return ControlResult(run.run_id, [], before, before)
    batch = WriteBatch()
    unique = _add_clears(batch, unique, now)
    if run.state.finished:
        run = _set_run_state(batch, run, RunState.QUEUED, now, why)
    storage.write(batch)
    return ControlResult(run.run_id, unique, before, run.state)


def _add_clears(
    batch: WriteBatch, tis: list[TaskInstanceRecord], now: datetime
) -> list[TaskInstanceRecord]:
    """Add ``tis`` cleared to ``batch``; return them as they are now."""
    cleared: list[TaskInstanceRecord] = []
    for old in tis:
        ti = replace(  # the try number stays: the next try continues from it
            old, state=TaskState.NONE, start_date=None, end_date=None, duration=None,
            retry_at=None,
        )  # fmt: skip
        cleared.append(ti)
        batch.task_instances.append(ti)
        batch.events.append(_ti_event(ti, EventKind.TASK_CLEARED, now, old.state))
    return cleared


def _set_run_state(
    batch: WriteBatch, run: DagRunRecord, state: RunState, now: datetime, message: str
) -> DagRunRecord:
    """Add ``run`` moved to ``state`` to ``batch``; return it as it is now."""
    if state is RunState.QUEUED:
        run = replace(run, state=state, queued_at=now, end_date=None, cancel_requested_at=None)
    else:
        run = replace(run, state=state, end_date=now)
    batch.runs.append(run)
    batch.events.append(
        EventRecord(
            run.run_id, EventKind.RUN_STATE, now, payload={"state": state.value, "message": message}
        )
    )
    return run


def _ti_event(
    ti: TaskInstanceRecord, kind: EventKind, now: datetime, previous: TaskState | None
) -> EventRecord:
    payload: dict[str, str] = {"state": ti.state.value}
    if previous is not None:
        payload["previous_state"] = previous.value
    return EventRecord(ti.run_id, kind, now, ti.task_id, ti.map_index, ti.try_number, payload)


__all__ = [
    "MARKABLE_STATES",
    "RETRIED_STATES",
    "ControlResult",
    "RunControlError",
    "cancel_run",
    "cancel_unfinished",
    "clear_task_instances",
    "finished_run_state",
    "ignored_teardowns",
    "leaf_tasks",
    "mark_task_instances",
    "relatives",
    "rerun_run",
    "reset_run",
    "retry_run",
    "select_instances",
    "upstream_map",
    "with_setups_and_teardowns",
]
