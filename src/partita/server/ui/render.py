"""How a page is made: the signed-in user, the Jinja2 environment, forms and their CSRF check.

The design decision: a page never answers 401; a browser without a session
is sent to the login page (303), and a page that needs a higher role or a
form whose CSRF token is missing or wrong answers a plain HTML 403 page that
says why. Forms are read with the standard library (``parse_qs``), so the
pages need no multipart dependency; every template is autoescaped.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from partita.server.auth.deps import Principal, session_principal
from partita.server.state import ServerState
from partita.storage.auth import Role

HERE = Path(__file__).resolve().parent
ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
#: The largest form a page accepts (the app's body limit applies first).
MAX_FORM_BYTES = 256 * 1024


class PageRedirect(Exception):
    """Answer with a redirect (to the login page) instead of the page."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class PageRefused(Exception):
    """Answer with an HTML error page: ``status`` and a sentence saying why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Viewer:
    """The signed-in user of a page request, and the CSRF token its forms carry."""

    principal: Principal

    @property
    def csrf_token(self) -> str:
        session = self.principal.session
        return session.csrf_token if session is not None else ""

    def may(self, role: str) -> bool:
        return self.principal.role.allows(Role(role))


def signed_in(request: Request, state: ServerState, role: Role = Role.VIEWER) -> Viewer:
    """The user behind a page request; to the login page when there is none."""
    principal = session_principal(state, request)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise PageRedirect(f"/login?next={quote(target, safe='')}")
    if not principal.role.allows(role):
        raise PageRefused(
            403,
            f"user {principal.username!r} has the role {principal.role}; this needs {role} "
            "or above (ask an admin for such a user)",
        )
    return Viewer(principal)


async def read_form(request: Request) -> dict[str, str]:
    """The fields of an urlencoded form (the last value of each name)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise PageRefused(413, f"the form is larger than {MAX_FORM_BYTES} bytes")
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in fields.items()}


def check_csrf(viewer: Viewer, form: dict[str, str]) -> None:
    """Refuse a form whose ``csrf_token`` is not the session's."""
    if viewer.principal.via == "none":
        return
    sent = form.get("csrf_token", "")
    if not sent or not hmac.compare_digest(sent.encode(), viewer.csrf_token.encode()):
        raise PageRefused(
            403, "the form's CSRF token is missing or wrong; reload the page and submit it again"
        )


def render(
    request: Request, template: str, viewer: Viewer | None, status: int = 200, **context: Any
) -> HTMLResponse:
    """The page ``template`` with the layout's user, role and navigation."""
    html = ENV.get_template(template).render(
        viewer=viewer, path=request.url.path, now=datetime.now(UTC), **context
    )
    return HTMLResponse(html, status_code=status)


def redirect(location: str) -> RedirectResponse:
    """See Other: after a form POST, the browser GETs ``location``."""
    return RedirectResponse(location, status_code=303)


def safe_next(target: str | None) -> str:
    """A local path to go to after logging in (anything else: the home page)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


__all__ = [
    "ENV",
    "PageRedirect",
    "PageRefused",
    "Viewer",
    "check_csrf",
    "read_form",
    "redirect",
    "render",
    "safe_next",
    "signed_in",
]
