"""The login page, its form POST and logout.

The design decision: before a session exists, the login form is protected
by a double-submit token: GET /login sets a random value in an HttpOnly,
SameSite=Strict cookie and in a hidden field, and POST /login accepts the
form only when both match. The password check, rate limit and session are
the API's own (``open_session``), so both logins refuse the same things.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from partita.server.auth.routes import close_session, open_session
from partita.server.auth.secrets import new_secret
from partita.server.problems import ApiProblem
from partita.server.state import ServerState, server_state
from partita.server.ui.render import (
    check_csrf,
    read_form,
    redirect,
    render,
    safe_next,
    signed_in,
)

router = APIRouter()
LOGIN_CSRF_COOKIE = "partita_login_csrf"


def _login_form(
    request: Request, error: str | None = None, username: str = "", status: int = 200
) -> HTMLResponse:
    token = new_secret()
    response = render(
        request,
        "login.html",
        None,
        status=status,
        error=error,
        username=username,
        login_csrf=token,
        next=safe_next(request.query_params.get("next")),
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
        secure=request.url.scheme == "https", path="/login",
    )  # fmt: skip
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    """The login form."""
    return _login_form(request)


@router.post("/login", response_model=None)
async def login_submit(request: Request, state: ServerState = Depends(server_state)) -> Response:
    """Check the form's login; to the page asked for, or the form again with the reason."""
    form = await read_form(request)
    username = form.get("username", "").strip()
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = form.get("csrf_token", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        return _login_form(
            request, "the form expired or came from another site; log in again", username, 403
        )
    if not username or not form.get("password"):
        return _login_form(request, "enter a username and a password", username, 422)
    response = redirect(safe_next(form.get("next")))
    try:
        open_session(state, request, response, username, form["password"])
    except ApiProblem as problem:
        return _login_form(request, problem.detail, username, problem.status)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", response_model=None)
async def logout_submit(request: Request, state: ServerState = Depends(server_state)) -> Response:
    """End the session (a form with the CSRF token) and show the login page."""
    viewer = signed_in(request, state)
    check_csrf(viewer, await read_form(request))
    response = redirect("/login")
    close_session(request, response, state)
    return response


__all__ = ["router"]
