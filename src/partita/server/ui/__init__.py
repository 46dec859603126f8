"""The web UI: server-rendered pages (Jinja2, autoescaped), SVG pictures drawn in Python,
and one small script of ours (``static/partita.js``) for live logs over server-sent events.

The design decision: everything a page needs is served by the app itself from
this package (``/static``), no third-party script or style and no inline
script, so the app's Content-Security-Policy holds for the pages as for the API.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from partita.server.ui.render import HERE, PageRedirect, PageRefused, render


def install_ui(app: FastAPI) -> None:
    """Add the pages, their static files and their error pages to ``app``."""
    from partita.server.ui import (
        admin_pages,
        asset_pages,
        auth_pages,
        backfill_pages,
        dag_page,
        instigator_pages,
        launchpad,
        pages,
        run_live,
        run_page,
    )

    for module in (auth_pages, pages, run_page, run_live, launchpad, dag_page, admin_pages):
        app.include_router(module.router, include_in_schema=False)
    for module in (asset_pages, instigator_pages, backfill_pages):
        app.include_router(module.router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    async def to_login(request: Request, exc: Exception) -> RedirectResponse:
        assert isinstance(exc, PageRedirect)
        return RedirectResponse(exc.location, status_code=303)

    async def refused(request: Request, exc: Exception) -> HTMLResponse:
        assert isinstance(exc, PageRefused)
        return render(request, "error.html", None, status=exc.status, message=exc.message)

    app.add_exception_handler(PageRedirect, to_login)
    app.add_exception_handler(PageRefused, refused)


__all__ = ["install_ui"]
