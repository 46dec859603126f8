"""The backfills pages: the list (DAG and status filters, pages) and one backfill with its
progress bar, its runs and a cancel button.

The design decision: the pages call what the API calls (``api.backfills``);
cancel is a form that checks the role and the CSRF token itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from partita.exceptions import PartitaError
from partita.scheduler.backfill_plan import cancel_backfill
from partita.server.api.backfills import known_backfill, queued_runs
from partita.server.api.params import PageParams
from partita.server.problems import ApiProblem
from partita.server.state import ServerState, server_state
from partita.server.ui.charts import progress_bar
from partita.server.ui.render import PageRefused, check_csrf, read_form, redirect, render, signed_in
from partita.storage.auth import Role
from partita.storage.backfills import BackfillRecord, BackfillStatus

router = APIRouter()
PAGE_SIZE = 25
RUNS_PAGE = 50


def _known(state: ServerState, backfill_id: str) -> BackfillRecord:
    try:
        return known_backfill(state, backfill_id)
    except ApiProblem as exc:
        raise PageRefused(exc.status, exc.detail) from exc


@router.get("/backfills", response_class=HTMLResponse)
def backfills_page(
    request: Request,
    dag_id: str = Query("", max_length=250),
    status: str = Query("", pattern="^(|running|completed|failed|cancelled)$"),
    page: int = Query(1, ge=1, le=1_000_000),
    state: ServerState = Depends(server_state),
) -> HTMLResponse:
    """Backfills, newest first, each with its progress."""
    viewer = signed_in(request, state)
    store = state.storage.backfills
    records = store.list_backfills(
        dag_id=dag_id or None,
        statuses=[BackfillStatus(status)] if status else None,
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    progress = store.progress_of([b.backfill_id for b in records[:PAGE_SIZE]])
    rows = [(b, progress[b.backfill_id]) for b in records[:PAGE_SIZE] if b.backfill_id in progress]

    def page_url(number: int) -> str:
        return "/backfills?" + urlencode({"dag_id": dag_id, "status": status, "page": number})

    return render(
        request, "backfills.html", viewer, rows=rows, dag_id=dag_id, chosen_status=status,
        page=page, more=len(records) > PAGE_SIZE, page_url=page_url,
        statuses=[s.value for s in BackfillStatus],
    )  # fmt: skip


@router.get("/backfills/{backfill_id}", response_class=HTMLResponse)
def backfill_page(
    backfill_id: str,
    request: Request,
    page: int = Query(1, ge=1, le=1_000_000),
    state: ServerState = Depends(server_state),
) -> HTMLResponse:
    """One backfill: range, options, a progress bar and its runs."""
    viewer = signed_in(request, state)
    record = _known(state, backfill_id)
    progress = state.storage.backfills.progress(backfill_id)
    runs, total = queued_runs(state, backfill_id, PageParams(RUNS_PAGE, (page - 1) * RUNS_PAGE))
    parts = {str(s): n for s, n in sorted(progress.states.items()) if s.finished}
    parts["skipped"] = progress.skipped
    parts.update({str(s): n for s, n in progress.states.items() if not s.finished})
    return render(
        request, "backfill.html", viewer, backfill=record, progress=progress,
        bar=progress_bar(parts, progress.total), runs=runs, runs_total=total, page=page,
        pages=max(1, -(-total // RUNS_PAGE)),
    )  # fmt: skip


@router.post("/backfills/{backfill_id}/cancel", response_model=None)
async def cancel_page(
    backfill_id: str, request: Request, state: ServerState = Depends(server_state)
) -> Response:
    """Cancel a running backfill (operator)."""
    viewer = signed_in(request, state, Role.OPERATOR)
    form = await read_form(request)
    check_csrf(viewer, form)
    _known(state, backfill_id)
    try:
        cancel_backfill(state.storage, backfill_id, datetime.now(UTC))
    except PartitaError as exc:
        raise PageRefused(409, str(exc)) from exc
    return redirect(f"/backfills/{backfill_id}")


__all__ = ["router"]
