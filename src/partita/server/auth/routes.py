"""``/api/v1/auth``: log in (a session cookie and its CSRF token), log out, who am I.

The design decision: the session lives in the database (``web_session``,
keyed by the digest of the cookie's random id), not in a signed cookie, so
logging out, changing a password or deleting a user ends it at once on
every server sharing the database; a signed cookie would stay valid until
it expired. Failed logins are limited per client address and username
(``LoginLimiter``), and a wrong username costs the same time as a wrong
password.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from partita.schemas import SessionModel
from partita.server.auth.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Principal,
    current_principal,
)
from partita.server.auth.secrets import digest, dummy_verify, new_secret, verify_password
from partita.server.problems import ApiProblem
from partita.server.state import ServerState, server_state
from partita.storage.auth import SessionRecord

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginRequest(BaseModel):
    """A username and password."""

    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1024)


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


@router.post("/login", response_model=SessionModel)
def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    state: ServerState = Depends(server_state),
) -> SessionModel:
    """Log in: sets the session cookie and returns the CSRF token to send with changes."""
    return open_session(state, request, response, body.username, body.password)


def open_session(
    state: ServerState, request: Request, response: Response, username: str, password: str
) -> SessionModel:
    """Check a login (rate-limited), store a session and set its cookies on ``response``.

    Shared by the API's login and the login page; raises ``ApiProblem`` (429, 401).
    """
    key = (_client(request), username)
    wait = state.limiter.retry_after(key)
    if wait is not None:
        raise ApiProblem(
            429,
            "Too many failed logins",
            f"too many failed logins for {username!r} from this address; "
            f"try again in {int(wait) + 1} s",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    user = state.storage.auth.get_user(username)
    if user is None:
        dummy_verify(password)
    if user is None or not verify_password(user.password_hash, password):
        state.limiter.failed(key)
        raise ApiProblem(401, "Login failed", "wrong username or password")
    state.limiter.succeeded(key)
    now = datetime.now(UTC)
    session_id, csrf = new_secret(), new_secret()
    expires = now + timedelta(hours=state.config.session_hours)
    state.storage.auth.delete_expired_sessions(now)
    state.storage.auth.create_session(
        SessionRecord(digest(session_id), user.username, csrf, now, expires)
    )
    secure = request.url.scheme == "https"
    max_age = int(state.config.session_hours * 3600)
    response.set_cookie(
        SESSION_COOKIE, session_id, max_age=max_age, httponly=True, samesite="strict",
        secure=secure, path="/",
    )  # fmt: skip
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="strict", secure=secure,
        path="/",
    )  # fmt: skip
    return SessionModel(username=user.username, role=str(user.role), csrf_token=csrf)


def close_session(request: Request, response: Response, state: ServerState) -> None:
    """Delete this browser's session and clear its cookies on ``response``."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        state.storage.auth.delete_session(digest(cookie))
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


@router.post("/logout", status_code=204)
def logout(
    request: Request,
    response: Response,
    principal: Principal = Depends(current_principal),
    state: ServerState = Depends(server_state),
) -> Response:
    """End the session of this browser (its cookie is cleared)."""
    response = Response(status_code=204)
    close_session(request, response, state)
    return response


@router.get("/me", response_model=SessionModel)
def me(principal: Principal = Depends(current_principal)) -> SessionModel:
    """Who is logged in, their role, and (for a session) the CSRF token."""
    csrf = principal.session.csrf_token if principal.session is not None else None
    return SessionModel(username=principal.username, role=str(principal.role), csrf_token=csrf)


__all__ = ["close_session", "open_session", "router"]
