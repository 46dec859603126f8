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
    key = (_client(request), body.username)
    wait = state.limiter.retry_after(key)
    if wait is not None:
        raise ApiProblem(
            429,
            "Too many failed logins",
            f"too many failed logins for {body.username!r} from this address; "
            f"try again in {int(wait) + 1} s",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    user = state.storage.auth.get_user(body.username)
    if user is None:
        dummy_verify(body.password)
    if user is None or not verify_password(user.password_hash, body.password):
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


@router.post("/logout", status_code=204)
def logout(
    request: Request,
    response: Response,
    principal: Principal = Depends(current_principal),
    state: ServerState = Depends(server_state),
) -> Response:
    """End the session of this browser (its cookie is cleared)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        state.storage.auth.delete_session(digest(cookie))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/me", response_model=SessionModel)
def me(principal: Principal = Depends(current_principal)) -> SessionModel:
    """Who is logged in, their role, and (for a session) the CSRF token."""
    csrf = principal.session.csrf_token if principal.session is not None else None
    return SessionModel(username=principal.username, role=str(principal.role), csrf_token=csrf)


__all__ = ["router"]
