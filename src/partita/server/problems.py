"""Errors as ``application/problem+json`` (RFC 9457): one shape for every failed request.

``ApiProblem`` is what a route raises; the handlers installed by
``install_problem_handlers`` turn it, FastAPI's own errors (unknown route,
bad parameters: 422 naming each field) and partita's errors (an unknown run
is 404, a refused change 409, other bad input 400) into a problem document.
``problem_openapi`` rewrites the schema so every error response is documented
with that shape.

The design decision: partita's exceptions already carry a message that says
what was wrong and how to fix it; the API sends that message as ``detail``
rather than inventing a second wording.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from partita.engine.control import RunControlError
from partita.engine.manual_run import DagPausedError
from partita.exceptions import DagNotFoundError, PartitaError, RunNotFoundError, StorageError
from partita.masking import mask
from partita.schemas import ProblemModel
from partita.storage.auth import AuthStoreError

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("partita.server")

#: The error statuses every operation documents (with the problem shape).
DOCUMENTED_ERRORS = {
    "400": "Bad input",
    "401": "Not logged in",
    "403": "Not allowed",
    "404": "Not found",
    "409": "Conflict with the current state",
    "413": "Request body too large",
    "422": "Invalid parameters",
    "429": "Too many requests",
}


#: How a request proves who it is: an API token, or the session cookie (with X-CSRF-Token on
#: changes). ``/health`` and ``/auth/login`` need neither.
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "'partita tokens create'"},
    "session": {"type": "apiKey", "in": "cookie", "name": "partita_session"},
}
_PUBLIC_PATHS = {"/api/v1/health", "/api/v1/auth/login"}


class ApiProblem(Exception):
    """An error response: its status, a short title and a detail saying what to do."""

    def __init__(
        self, status: int, title: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem document with ``status``."""
    body = ProblemModel(title=title, status=status, detail=detail, errors=errors)
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _status_of(exc: PartitaError) -> tuple[int, str]:
    if isinstance(exc, (RunNotFoundError, DagNotFoundError)):
        return 404, "Not found"
    if isinstance(exc, (RunControlError, DagPausedError, AuthStoreError)):
        return 409, "Conflict"
    if isinstance(exc, StorageError):
        return 503, "Metadata database unavailable"
    return 400, "Bad input"


def _field_errors(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    errors = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()))
        errors.append({"field": where, "message": str(error.get("msg", "invalid"))})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    return detail, errors


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error ``app`` answers a problem document."""

    @app.exception_handler(ApiProblem)
    async def on_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        detail = _masked(request, exc.detail)
        return problem_response(exc.status, exc.title, detail, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail, errors = _field_errors(exc)
        errors = [{**e, "message": _masked(request, e["message"])} for e in errors]
        return problem_response(422, "Invalid parameters", _masked(request, detail), errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such URL: {request.url.path}; the API is under /api/v1 (see its schema)"
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        return problem_response(exc.status_code, _title(exc.status_code), detail)

    @app.exception_handler(PartitaError)
    async def on_partita(request: Request, exc: PartitaError) -> JSONResponse:
        status, title = _status_of(exc)
        return problem_response(status, title, _masked(request, str(exc)))

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error answering %s %s", request.method, request.url.path)
        detail = f"internal error: {type(exc).__name__} (a bug in partita; the server log has it)"
        return problem_response(500, "Internal error", detail)


def _masked(request: Request, text: str) -> str:
    """``text`` with the served store's secrets masked (this process's, if the store is down)."""
    state = getattr(request.app.state, "partita", None)
    if state is not None:
        try:
            return str(state.secrets.mask(text))
        except PartitaError:
            pass
    return mask(text)


def _title(status: int) -> str:
    return DOCUMENTED_ERRORS.get(str(status), "Error")


def problem_openapi(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI schema with every error response documented as a problem document."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        servers=app.servers,
    )
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    schema["security"] = [{"bearer": []}, {"session": []}]
    components = schema["components"].setdefault("schemas", {})
    components["ProblemModel"] = ProblemModel.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    problem = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemModel"}}}
    for path, path_item in schema.get("paths", {}).items():
        for operation in path_item.values():
            if path in _PUBLIC_PATHS:
                operation["security"] = []
            responses = operation.setdefault("responses", {})
            for status, description in DOCUMENTED_ERRORS.items():
                responses[status] = {"description": description, "content": problem}
            responses["500"] = {"description": "Internal error", "content": problem}
            responses["503"] = {"description": "Database unavailable", "content": problem}
    app.openapi_schema = schema
    return schema


__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "ApiProblem",
    "install_problem_handlers",
    "problem_openapi",
    "problem_response",
]
