"""The run page: task instances and their states, the Gantt chart, a task's log per try,
and the retry / cancel / clear / mark buttons.

The design decision: a log is shown from the store with a bounded read (its
last lines), and while the try is still running the page's script follows
the API's server-sent events from the last line shown, so the page needs no
endpoint of its own for live logs. The buttons post forms to one route that
calls ``engine.control``, the functions behind the CLI and the API, so all
three refuse the same things with the same words.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from partita.definitions.states import TaskState
from partita.engine.control import (
    RunControlError,
    cancel_run,
    clear_task_instances,
    mark_task_instances,
    retry_run,
)
from partita.exceptions import RunNotFoundError
from partita.server.api.runs import DEFAULT_GRACE
from partita.server.state import ServerState, server_state
from partita.server.ui.render import (
    PageRefused,
    check_csrf,
    read_form,
    redirect,
    render,
    signed_in,
)
from partita.server.ui.svg import gantt, instance_name
from partita.storage.auth import Role
from partita.storage.records import EventKind, TaskInstanceRecord

router = APIRouter()
#: The lines of a log the page shows at first (the newest); the rest is one link away.
LOG_LINES = 2000


def _instance(
    instances: list[TaskInstanceRecord], task_id: str | None, map_index: int
) -> TaskInstanceRecord | None:
    for ti in instances:
        if ti.task_id == task_id and ti.map_index == map_index:
            return ti
    return None


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    run_id: str,
    request: Request,
    task: str | None = Query(None, max_length=250),
    map_index: int = Query(-1, ge=-1, le=2**31 - 1),
    try_number: int | None = Query(None, ge=1, le=100_000),
    state: ServerState = Depends(server_state),
) -> HTMLResponse:
    """One run: its task instances, Gantt chart and (with ``?task=``) a task's log."""
    viewer = signed_in(request, state)
    storage = state.storage
    try:
        run = storage.runs.get_run(run_id)
    except RunNotFoundError as exc:
        raise PageRefused(404, str(exc)) from exc
    instances = storage.runs.get_task_instances(run_id)
    log = _log_view(state, run_id, _instance(instances, task, map_index), try_number)
    if task is not None and log is None:
        raise PageRefused(404, f"run {run_id!r} has no task instance {task!r} [{map_index}]")
    return render(
        request,
        "run.html",
        viewer,
        run=run,
        instances=instances,
        name=instance_name,
        gantt=gantt(instances, datetime.now(UTC)),
        log=log,
        task_url=lambda ti, number=None: _task_url(run_id, ti, number),
    )


def _task_url(run_id: str, ti: TaskInstanceRecord, try_number: int | None) -> str:
    query: dict[str, object] = {"task": ti.task_id, "map_index": ti.map_index}
    if try_number is not None:
        query["try_number"] = try_number
    return f"/runs/{run_id}?{urlencode(query)}#log"


def _log_view(
    state: ServerState, run_id: str, ti: TaskInstanceRecord | None, try_number: int | None
) -> dict[str, object] | None:
    if ti is None:
        return None
    logs = state.storage.logs
    tries = logs.log_tries(run_id, ti.task_id, ti.map_index)
    number = try_number or ti.try_number or 1
    lines = logs.tail_lines(run_id, ti.task_id, ti.map_index, number, LOG_LINES)
    live = number == ti.try_number and not ti.state.finished
    stream = ""
    if live:
        start = lines[-1].seq + 1 if lines else 0
        query = urlencode({"map_index": ti.map_index, "try_number": number, "offset": start})
        stream = f"/api/v1/runs/{run_id}/tasks/{ti.task_id}/logs/stream?{query}"
    errors = state.storage.events.read_events(
        run_id, task_id=ti.task_id, map_index=ti.map_index, kinds=[EventKind.TASK_ERROR]
    )
    error = next((e.payload for e in reversed(errors) if e.try_number == number), None)
    return {
        "ti": ti,
        "error": error,
        "tries": sorted(set(tries) | {number}),
        "try_number": number,
        "lines": lines,
        "cut": bool(lines) and lines[0].seq > 0,
        "stream": stream,
    }


@router.post("/runs/{run_id}/control", response_model=None)
async def control(
    run_id: str, request: Request, state: ServerState = Depends(server_state)
) -> Response:
    """Retry, cancel, clear or mark (operator): the form's ``action`` says which."""
    viewer = signed_in(request, state, Role.OPERATOR)
    form = await read_form(request)
    check_csrf(viewer, form)
    action, task_id = form.get("action", ""), form.get("task_id", "")
    map_index = int(form["map_index"]) if form.get("map_index", "").lstrip("-").isdigit() else None
    storage = state.storage
    try:
        if action == "retry":
            retry_run(storage, run_id)
        elif action == "cancel":
            cancel_run(storage, run_id, DEFAULT_GRACE)
        elif action == "clear" and task_id:
            clear_task_instances(storage, run_id, task_id, map_index=map_index, downstream=True)
        elif action in ("mark_success", "mark_failed") and task_id:
            wanted = TaskState.SUCCESS if action == "mark_success" else TaskState.FAILED
            mark_task_instances(storage, run_id, task_id, wanted, map_index=map_index)
        else:
            raise PageRefused(
                422, f"unknown action {action!r}: retry, cancel, clear, mark_success, mark_failed"
            )
    except (RunControlError, RunNotFoundError) as exc:
        raise PageRefused(409, str(exc)) from exc
    state.wake_schedulers()
    return redirect(f"/runs/{run_id}")


__all__ = ["router"]
