"""Who is asking, and may they: the dependencies every API route declares.

A request is authenticated by ``Authorization: Bearer <API token>`` or by the
session cookie a login set. ``require(role)`` returns the dependency that
lets through only users whose role allows ``role`` (401 when nobody is
logged in, 403 when the role is too low).

The design decision: a request authenticated by its cookie and changing
state (anything but GET, HEAD, OPTIONS) must carry the session's CSRF token
in ``X-CSRF-Token``; a page on another site can make a browser send the
cookie, never that header. Bearer tokens need no CSRF token: a browser never
adds them by itself.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Depends, Request

from partita.server.auth.secrets import digest
from partita.server.problems import ApiProblem
from partita.server.state import ServerState, server_state
from partita.storage.auth import Role, SessionRecord

SESSION_COOKIE = "partita_session"
CSRF_COOKIE = "partita_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """The user behind a request, their role, and how they proved it."""

    username: str
    role: Role
    #: "token", "session", or "none" (``--no-auth``).
    via: str
    session: SessionRecord | None = None


def _unauthorized(detail: str) -> ApiProblem:
    return ApiProblem(401, "Not logged in", detail, headers={"WWW-Authenticate": "Bearer"})


def current_principal(request: Request, state: ServerState = Depends(server_state)) -> Principal:
    """The user making ``request``; 401 when there is none or the credentials are wrong."""
    if not state.config.auth:
        return Principal("anonymous", Role.ADMIN, "none")
    header = request.headers.get("authorization")
    if header is not None:
        return _from_token(state, header)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        principal = _from_session(state, cookie)
        if request.method not in SAFE_METHODS:
            _check_csrf(request, principal)
        return principal
    raise _unauthorized(
        "log in first (POST /api/v1/auth/login), or send 'Authorization: Bearer <token>' "
        "with a token from 'partita tokens create'"
    )


def _from_token(state: ServerState, header: str) -> Principal:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("the Authorization header must be 'Bearer <token>'")
    record = state.storage.auth.find_token(digest(token.strip()))
    user = state.storage.auth.get_user(record.username) if record is not None else None
    if user is None:
        raise _unauthorized("unknown or revoked API token; 'partita tokens list' shows them")
    return Principal(user.username, user.role, "token")


def _from_session(state: ServerState, cookie: str) -> Principal:
    session = state.storage.auth.get_session(digest(cookie), datetime.now(UTC))
    user = state.storage.auth.get_user(session.username) if session is not None else None
    if session is None or user is None:
        raise _unauthorized("the session has ended; log in again")
    return Principal(user.username, user.role, "session", session)


def session_principal(state: ServerState, request: Request) -> Principal | None:
    """The user of the session cookie ``request`` carries, or None (no cookie, or it ended).

    The pages use it: they redirect to the login page instead of answering 401.
    """
    if not state.config.auth:
        return Principal("anonymous", Role.ADMIN, "none")
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        return _from_session(state, cookie)
    except ApiProblem:
        return None


def _check_csrf(request: Request, principal: Principal) -> None:
    sent = request.headers.get(CSRF_HEADER, "")
    expected = principal.session.csrf_token if principal.session is not None else ""
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise ApiProblem(
            403,
            "CSRF token missing or wrong",
            f"a request that changes something must send the session's CSRF token in the "
            f"{CSRF_HEADER} header (GET /api/v1/auth/me returns it)",
        )


def require(role: Role) -> Callable[..., Principal]:
    """The dependency that admits users whose role allows ``role``."""

    def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.role.allows(role):
            raise ApiProblem(
                403,
                "Not allowed",
                f"user {principal.username!r} has the role {principal.role}; this needs "
                f"{role} or above (ask an admin for such a user: 'partita users create')",
            )
        return principal

    dependency.__name__ = f"require_{role}"
    return dependency


__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Principal",
    "current_principal",
    "require",
    "session_principal",
]
