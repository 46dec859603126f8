"""``create_app``: the FastAPI app of one web server, built from a store and a config.

The app serves the REST API under ``/api/v1`` (schema at
``/api/v1/openapi.json``), answers every error as a problem document, adds
the security headers (a Content-Security-Policy without inline script) to
every response and refuses bodies over the configured size.

The design decision: no interactive docs page is served, because those
pages load third-party JavaScript, which partita's CSP forbids; the schema
itself is the documentation (and ``docs/api.md``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from partita import __version__
from partita.server.api import API_PREFIX, api_router
from partita.server.auth.ratelimit import LoginLimiter
from partita.server.config import ServerConfig
from partita.server.middleware import BodyLimit, SecurityHeaders
from partita.server.problems import install_problem_handlers, problem_openapi
from partita.server.state import ServerState
from partita.server.ui import install_ui
from partita.storage.base import Storage

DESCRIPTION = (
    "partita's REST API. Log in with POST /api/v1/auth/login (a session cookie; send the "
    "returned CSRF token as X-CSRF-Token with every change) or send 'Authorization: Bearer "
    "<token>' with a token from 'partita tokens create'. Errors are application/problem+json."
)


def create_app(storage: Storage, config: ServerConfig) -> FastAPI:
    """The web server's app on ``storage``."""
    app = FastAPI(
        title="partita",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    limiter = LoginLimiter(storage.auth, config.login_attempts, config.login_window)
    app.state.partita = ServerState(storage, config, limiter)
    install_problem_handlers(app)
    app.include_router(api_router())
    install_ui(app)

    def openapi() -> dict[str, Any]:
        return problem_openapi(app)

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app


__all__ = ["create_app"]
