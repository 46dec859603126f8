"""The run page: the live graph, the Gantt chart, the tasks (a mapped task as ``name [N]``
with its instances' states, and its instances one page at a time), outputs, a task's log
per try, and the retry / cancel / clear / mark buttons.

The design decision: the page reads the run's tasks in summary (one grouped
query, ``task_summaries``) and pages everything with one row per instance
(a mapped task's instances, outputs), so a run of 10,000 tasks or a task
mapped 100,000 times loads as fast as a small one; the Gantt chart draws the
tasks that started first and says how many more there are.

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
from partita.server.ui.dag_graph import describe, parse_expanded, summary_state
from partita.server.ui.render import (
    PageRefused,
    check_csrf,
    read_form,
    redirect,
    render,
    signed_in,
)
from partita.server.ui.run_live import run_graph_box
from partita.server.ui.svg import gantt_summaries, instance_name
from partita.storage.auth import Role
from partita.storage.records import EventKind, TaskInstanceRecord

router = APIRouter()
#: The lines of a log the page shows at first (the newest); the rest is one link away.
LOG_LINES = 2000
#: Tasks per page of the task list, instances per page of a mapped task's list.
TASKS_PAGE = 100
INSTANCES_PAGE = 100
#: Bars the Gantt chart draws at most (the tasks that started first).
GANTT_ROWS = 200
#: The Gantt chart's drawing width (it shares the row with the graph).
GANTT_WIDTH = 600
#: Output records the page lists at most.
OUTPUTS = 50
Expand = Query([], max_length=100, description="The task groups shown open.")


def _page_count(total: int, size: int) -> int:
    return max(1, -(-total // size))


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    run_id: str,
    request: Request,
    task: str | None = Query(None, max_length=250),
    map_index: int = Query(-1, ge=-1, le=2**31 - 1),
    try_number: int | None = Query(None, ge=1, le=100_000),
    tpage: int = Query(1, ge=1, le=1_000_000),
    ipage: int = Query(1, ge=1, le=1_000_000),
    istate: TaskState | None = Query(None),
    expand: list[str] = Expand,
    state: ServerState = Depends(server_state),
) -> HTMLResponse:
    """One run: live graph, Gantt chart, its tasks (a page), a mapped task's instances (a
    page), outputs, and (with ``?task=``) a task's log."""
    viewer = signed_in(request, state)
    storage = state.storage
    try:
        run = storage.runs.get_run(run_id)
    except RunNotFoundError as exc:
        raise PageRefused(404, str(exc)) from exc
    summaries = storage.runs.task_summaries(run_id)
    by_task = {s.task_id: s for s in summaries}
    chosen = by_task.get(task) if task is not None else None
    if task is not None and chosen is None:
        raise PageRefused(404, f"run {run_id!r} has no task {task!r}")
    instances: list[TaskInstanceRecord] = []
    log = None
    if chosen is not None and (not chosen.mapped or map_index >= 0):
        found = storage.runs.page_task_instances(run_id, task_id=task, map_index=map_index, limit=1)
        if not found:
            raise PageRefused(404, f"run {run_id!r} has no task instance {task!r} [{map_index}]")
        log = _log_view(state, run_id, found[0], try_number)
    if chosen is not None and chosen.mapped:
        instances = storage.runs.page_task_instances(
            run_id,
            task_id=task,
            state=istate,
            limit=INSTANCES_PAGE,
            offset=(ipage - 1) * INSTANCES_PAGE,
        )
    listed = 0 if chosen is None else chosen.states.get(str(istate), 0) if istate else chosen.count
    outputs = storage.outputs.page_records(
        run_id,
        task_id=task,
        map_index=map_index if chosen is not None and map_index >= 0 else None,
        limit=OUTPUTS,
    )
    expanded = parse_expanded(expand)
    box = run_graph_box(state, run, summaries, expanded)
    return render(
        request,
        "run.html",
        viewer,
        run=run,
        summaries=summaries[(tpage - 1) * TASKS_PAGE : tpage * TASKS_PAGE],
        task_count=len(summaries),
        tpage=tpage,
        tpages=_page_count(len(summaries), TASKS_PAGE),
        chosen=chosen,
        instances=instances,
        istate=str(istate) if istate else "",
        ipage=ipage,
        ipages=_page_count(listed, INSTANCES_PAGE),
        outputs=outputs,
        outputs_cut=len(outputs) == OUTPUTS,
        graph=box,
        state_of=summary_state,
        describe=describe,
        name=instance_name,
        gantt=gantt_summaries(summaries, datetime.now(UTC), GANTT_ROWS, GANTT_WIDTH),
        log=log,
        url=lambda **changes: _run_url(run_id, request, changes),
        task_url=lambda ti, number=None: _task_url(run_id, ti, number),
    )


def _run_url(run_id: str, request: Request, changes: dict[str, object]) -> str:
    """This page's URL with ``changes`` to its query (a None value drops the parameter)."""
    query: dict[str, object] = dict(request.query_params)
    query.update(changes)
    kept = {k: v for k, v in query.items() if v is not None and v != ""}
    return f"/runs/{run_id}" + (f"?{urlencode(kept)}" if kept else "")


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
    errors = state.secrets.events(e for e in errors if e.try_number == number)
    error = errors[-1].payload if errors else None
    return {
        "ti": ti,
        "error": error,
        "tries": sorted(set(tries) | {number}),
        "try_number": number,
        "lines": state.secrets.lines(lines),
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
