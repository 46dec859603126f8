"""The sensors and schedules pages: the list with their state, and one page each with its
ticks (status, reason, runs) and a start / stop button.

The design decision: the pages call what the API calls
(``api.instigators``); the button is a form that checks the role and the CSRF
token itself, so a viewer who posts it by hand is refused as the API refuses him.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from partita.server.api.instigators import (
    known_instigator,
    page_instigators,
    set_instigator_status,
    tick_page,
)
from partita.server.api.params import PageParams
from partita.server.code import ServerCode, server_code
from partita.server.problems import ApiProblem
from partita.server.state import ServerState, server_state
from partita.server.ui.render import PageRefused, check_csrf, read_form, redirect, render, signed_in
from partita.storage.auth import Role
from partita.storage.instigators import InstigatorKind, InstigatorStatus, TickStatus

router = APIRouter()
PAGE_SIZE = 25
TICKS_PAGE = 25


def _kind(plural: str) -> InstigatorKind:
    return InstigatorKind.SENSOR if plural == "sensors" else InstigatorKind.SCHEDULE


def _known(state: ServerState, code: ServerCode, kind: InstigatorKind, name: str) -> object:
    try:
        return known_instigator(state, code, kind, name)
    except ApiProblem as exc:
        raise PageRefused(exc.status, exc.detail) from exc


def _list_page(
    plural: str, request: Request, q: str, status: str, page: int, state: ServerState,
    code: ServerCode,
) -> HTMLResponse:  # fmt: skip
    viewer = signed_in(request, state)
    kind = _kind(plural)
    wanted = InstigatorStatus(status) if status else None
    found = page_instigators(
        state, code, kind, q, wanted, PageParams(PAGE_SIZE, (page - 1) * PAGE_SIZE)
    )

    def page_url(number: int) -> str:
        return f"/{plural}?" + urlencode({"q": q, "status": status, "page": number})

    return render(
        request, "instigators.html", viewer, kind=kind, plural=plural, items=found.instigators,
        total=found.total, q=q, chosen_status=status, page=page,
        pages=max(1, -(-found.total // PAGE_SIZE)), page_url=page_url,
        code_errors=code.errors,
    )  # fmt: skip


def _detail_page(
    plural: str, name: str, request: Request, status: str, page: int, state: ServerState,
    code: ServerCode,
) -> HTMLResponse:  # fmt: skip
    viewer = signed_in(request, state)
    kind = _kind(plural)
    item = _known(state, code, kind, name)
    statuses = [TickStatus(status)] if status else None
    ticks = tick_page(state, kind, name, statuses, PageParams(TICKS_PAGE, (page - 1) * TICKS_PAGE))

    def page_url(number: int) -> str:
        return f"/{plural}/{quote(name, safe='')}?" + urlencode({"status": status, "page": number})

    return render(
        request, "instigator.html", viewer, kind=kind, plural=plural, item=item,
        ticks=ticks, chosen_status=status, page=page, page_url=page_url,
        tick_statuses=[s.value for s in TickStatus],
    )  # fmt: skip


@router.get("/sensors", response_class=HTMLResponse)
def sensors_page(
    request: Request,
    q: str = Query("", max_length=250),
    status: str = Query("", pattern="^(|running|stopped)$"),
    page: int = Query(1, ge=1, le=1_000_000),
    state: ServerState = Depends(server_state),
    code: ServerCode = Depends(server_code),
) -> HTMLResponse:
    """The sensors: type, job, status, interval and last tick."""
    return _list_page("sensors", request, q, status, page, state, code)


@router.get("/schedules", response_class=HTMLResponse)
def schedules_page(
    request: Request,
    q: str = Query("", max_length=250),
    status: str = Query("", pattern="^(|running|stopped)$"),
    page: int = Query(1, ge=1, le=1_000_000),
    state: ServerState = Depends(server_state),
    code: ServerCode = Depends(server_code),
) -> HTMLResponse:
    """The Dagster-style schedules: cron, job, status and last tick."""
    return _list_page("schedules", request, q, status, page, state, code)


def _routes(plural: str) -> None:
    """The detail page and the start / stop form of ``plural`` (sensors or schedules)."""
    kind = _kind(plural)

    def detail(
        name: str,
        request: Request,
        status: str = Query("", pattern="^(|skipped|requested|failed)$"),
        page: int = Query(1, ge=1, le=1_000_000),
        state: ServerState = Depends(server_state),
        code: ServerCode = Depends(server_code),
    ) -> HTMLResponse:
        return _detail_page(plural, name, request, status, page, state, code)

    async def change_status(
        name: str,
        request: Request,
        state: ServerState = Depends(server_state),
        code: ServerCode = Depends(server_code),
    ) -> Response:
        viewer = signed_in(request, state, Role.OPERATOR)
        form = await read_form(request)
        check_csrf(viewer, form)
        wanted = form.get("status", "")
        if wanted not in ("running", "stopped"):
            raise PageRefused(400, f"status must be running or stopped, not {wanted!r}")
        _known(state, code, kind, name)
        set_instigator_status(state, code, kind, name, InstigatorStatus(wanted))
        return redirect(f"/{plural}/{quote(name, safe='')}")

    detail.__doc__ = f"One {kind} with its ticks, newest first, and start / stop."
    change_status.__doc__ = f"Start or stop a {kind} (operator; the form's ``status``)."
    router.add_api_route(
        f"/{plural}/{{name}}", detail, methods=["GET"], response_class=HTMLResponse
    )
    router.add_api_route(
        f"/{plural}/{{name}}/status", change_status, methods=["POST"], response_model=None
    )


for _plural in ("sensors", "schedules"):
    _routes(_plural)


__all__ = ["router"]
