"""``runs cancel``, ``runs retry``, ``tasks clear`` and ``tasks mark``: an operator's changes.

The design decision: these commands only parse and print; what changes is
decided and written by ``partita.engine.control``, in one transaction per
command, so they work the same whether or not a scheduler is running (a
scheduler picks up a run set back to ``queued``). A cancel of a running run
is a request that the process running it carries out at its next heartbeat;
``--wait`` waits for that.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import click

from partita.cli.console import ti_label
from partita.cli.recovery import fail_orphaned_runs
from partita.definitions.states import RunState, TaskState
from partita.engine.control import (
    ControlResult,
    cancel_run,
    clear_task_instances,
    mark_task_instances,
    retry_run,
)
from partita.exceptions import PartitaError
from partita.settings import load_settings
from partita.storage.base import Storage
from partita.storage.factory import open_storage
from partita.storage.records import TaskInstanceRecord
from partita.wakeups import wake_schedulers

#: Seconds between SIGTERM and SIGKILL unless ``--grace`` says otherwise.
DEFAULT_GRACE = 10.0
#: ``--wait``: seconds to wait beyond the grace period (the owner's heartbeat, the recording).
WAIT_MARGIN = 30.0

_map_index_option = click.option(
    "--map-index",
    type=int,
    default=None,
    help="Only this instance of a mapped task (default: every instance of the task).",
)


@contextmanager
def _store_and_recovered() -> Iterator[tuple[Storage, list[str]]]:
    """The metadata store, and the ids of the runs of dead owners just recorded as failed.

    Afterwards the schedulers on this host are woken: a run put back in the
    queue starts at once."""
    settings = load_settings()
    storage = open_storage(settings)
    try:
        yield storage, fail_orphaned_runs(storage)
    finally:
        storage.close()
    wake_schedulers(settings.home)


@click.command("cancel")
@click.argument("run_id")
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    default=DEFAULT_GRACE,
    show_default=True,
    help="Seconds between SIGTERM and SIGKILL to the running tasks.",
)
@click.option("--wait", is_flag=True, help="Return only once the run has ended.")
def cancel(run_id: str, grace: float, wait: bool) -> None:
    """Cancel RUN_ID: its running tasks are stopped and recorded as cancelled."""
    with _store_and_recovered() as (storage, recovered):
        result = cancel_run(storage, run_id, grace, owner_gone=run_id in recovered)
        if result.run_state_after is RunState.CANCELLED:
            count = _instances(len(result.changed))
            click.echo(f"Run {run_id} cancelled ({count} cancelled).")
            return
        run = storage.runs.get_run(run_id)
        owner = f"pid {run.pid} on {run.hostname}" if run.pid is not None else "its owner"
        click.echo(
            f"Cancel of run {run_id} requested: {owner} stops it at its next heartbeat "
            f"(SIGTERM to its running tasks, SIGKILL {grace:g}s later)."
        )
        if wait:
            state = _wait_for_end(storage, run_id, grace + WAIT_MARGIN)
            click.echo(f"Run {run_id} ended {state}.")


def _wait_for_end(storage: Storage, run_id: str, timeout: float) -> RunState:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fail_orphaned_runs(storage)  # an owner that dies meanwhile is recorded too
        state = storage.runs.get_run(run_id).state
        if state.finished:
            return state
        time.sleep(0.2)
    raise PartitaError(
        f"run {run_id!r} has not ended {timeout:g}s after the cancel request; is the process "
        "running it stuck? 'partita runs show' shows its state"
    )


@click.command("retry")
@click.argument("run_id")
def retry(run_id: str) -> None:
    """Run RUN_ID's failed tasks again, and what depends on them; successes are reused."""
    with _store_and_recovered() as (storage, _):
        result = retry_run(storage, run_id)
    _print_cleared(result, "to retry")


@click.command("clear")
@click.argument("run_id")
@click.argument("task_id")
@_map_index_option
@click.option("--downstream", is_flag=True, help="Also clear every task downstream of TASK_ID.")
@click.option("--upstream", is_flag=True, help="Also clear every task upstream of TASK_ID.")
@click.option("--yes", "-y", is_flag=True, help="Clear without asking.")
def clear(
    run_id: str, task_id: str, map_index: int | None, downstream: bool, upstream: bool, yes: bool
) -> None:
    """Clear TASK_ID in RUN_ID so it runs again (the run is queued again if it had ended)."""

    def confirm(tis: list[TaskInstanceRecord]) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise PartitaError(
                f"clearing {len(tis)} task instances of run {run_id!r} needs confirmation; "
                "add --yes to clear without asking"
            )
        click.echo(f"Task instances to clear: {_labels(tis)}")
        return click.confirm("Clear them?", default=False)

    with _store_and_recovered() as (storage, _):
        result = clear_task_instances(
            storage,
            run_id,
            task_id,
            map_index=map_index,
            downstream=downstream,
            upstream=upstream,
            confirm=confirm,
        )
    if not result.changed:
        click.echo("Nothing cleared.")
        return
    _print_cleared(result, "cleared")


@click.command("mark")
@click.argument("run_id")
@click.argument("task_id")
@click.argument("state", type=click.Choice(["success", "failed"]))
@_map_index_option
def mark(run_id: str, task_id: str, state: str, map_index: int | None) -> None:
    """Mark TASK_ID in RUN_ID success or failed without running it."""
    with _store_and_recovered() as (storage, _):
        result = mark_task_instances(
            storage, run_id, task_id, TaskState(state), map_index=map_index
        )
    marked = [ti for ti in result.changed if ti.task_id == task_id and ti.state == state]
    rerun = [ti for ti in result.changed if ti not in marked]
    click.echo(f"Marked {state} in run {run_id}: {_labels(marked)}")
    if rerun:
        click.echo(f"Cleared downstream to run again: {_labels(rerun)}")
    click.echo(_run_state_line(result))


def _print_cleared(result: ControlResult, verb: str) -> None:
    click.echo(
        f"Cleared {_instances(len(result.changed))} of run {result.run_id} {verb}: "
        f"{_labels(result.changed)}"
    )
    click.echo(_run_state_line(result))


def _run_state_line(result: ControlResult) -> str:
    before, after = result.run_state_before, result.run_state_after
    if after is RunState.QUEUED and before is not RunState.QUEUED:
        return f"Run {result.run_id}: {before} -> queued; a scheduler resumes it."
    if after is not before:
        return f"Run {result.run_id}: {before} -> {after}."
    return f"Run {result.run_id} stays {after}."


def _instances(count: int) -> str:
    return f"{count} task instance" + ("" if count == 1 else "s")


def _labels(tis: list[TaskInstanceRecord]) -> str:
    return ", ".join(ti_label(ti) for ti in tis) or "none"


__all__ = ["cancel", "clear", "mark", "retry"]
