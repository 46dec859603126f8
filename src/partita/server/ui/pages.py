"""The home page and the DAG list (search, tags, pages, last runs, pause toggle).

The design decision: the pages read the same stores the API reads and change
things through the same calls (``set_paused``); a hidden button is not the
protection, each POST checks the role and the form's CSRF token itself. The
DAG list is a fixed number of indexed queries whatever the registry holds: a
page of DAGs (filtered and counted in SQL), the tags, and the last runs of
the page's DAGs in one windowed read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from partita.definitions.states import RunState
from partita.scheduler.loop import live_scheduler_ids
from partita.server.state import ServerState, server_state
from partita.server.ui.render import (
    PageRefused,
    check_csrf,
    read_form,
    redirect,
    render,
    signed_in,
)
from partita.storage.auth import Role

router = APIRouter()
PAGE_SIZE = 25
#: How many of its latest runs the DAG list shows per DAG.
LAST_RUNS = 10


@router.get("/", response_class=HTMLResponse)
def home(request: Request, state: ServerState = Depends(server_state)) -> HTMLResponse:
    """Running and failed runs, the scheduler's health, import errors."""
    viewer = signed_in(request, state)
    storage = state.storage
    now = datetime.now(UTC)
    schedulers = storage.queue.list_schedulers()
    newest = max((s.heartbeat_at for s in schedulers), default=None)
    return render(
        request,
        "home.html",
        viewer,
        running=storage.runs.count_runs(states=[RunState.RUNNING]),
        queued=storage.runs.count_runs(states=[RunState.QUEUED]),
        failed=storage.runs.count_runs(states=[RunState.FAILED]),
        recent_failed=storage.runs.list_runs(states=[RunState.FAILED], limit=5),
        scheduler_alive=bool(live_scheduler_ids(schedulers, now)),
        heartbeat_age=(now - newest).total_seconds() if newest is not None else None,
        import_errors=storage.registry.list_import_errors(),
    )


@router.get("/dags", response_class=HTMLResponse)
def dag_list(
    request: Request,
    q: str = Query("", max_length=250),
    tag: str = Query("", max_length=250),
    page: int = Query(1, ge=1, le=1_000_000),
    state: ServerState = Depends(server_state),
) -> HTMLResponse:
    """The DAGs: schedule, next run, their last runs' states, pause toggle."""
    viewer = signed_in(request, state)
    registry = state.storage.registry
    all_tags = registry.list_tags()
    chosen, total = registry.page_dags(
        search=q or None, tag=tag or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    pages = max(1, -(-total // PAGE_SIZE))
    latest = state.storage.runs.latest_runs([r.dag_id for r in chosen], LAST_RUNS)
    last_runs = {dag_id: list(reversed(runs)) for dag_id, runs in latest.items()}

    def page_url(number: int) -> str:
        return "/dags?" + urlencode({"q": q, "tag": tag, "page": number})

    return render(
        request,
        "dags.html",
        viewer,
        dags=chosen,
        last_runs=last_runs,
        total=total,
        q=q,
        tag=tag,
        tags=all_tags,
        page=page,
        pages=pages,
        page_url=page_url,
        back=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
    )


@router.post("/dags/{dag_id}/pause", response_model=None)
async def toggle_pause(
    dag_id: str, request: Request, state: ServerState = Depends(server_state)
) -> Response:
    """Pause or unpause a DAG (operator; the form's ``paused`` is "true" or "false")."""
    viewer = signed_in(request, state, Role.OPERATOR)
    form = await read_form(request)
    check_csrf(viewer, form)
    if state.storage.registry.get_dag(dag_id) is None:
        raise PageRefused(404, f"no DAG {dag_id!r} in the DAG registry; /dags lists them")
    state.storage.registry.set_paused(dag_id, form.get("paused") == "true")
    back = form.get("back", "/dags")
    return redirect(back if back.startswith("/dags") else "/dags")


__all__ = ["router"]
