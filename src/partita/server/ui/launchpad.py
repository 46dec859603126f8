"""The launchpad: a form generated from a DAG's params (defaults filled in) that triggers a run.

The design decision: each param becomes one field whose HTML constraints
(``type``, ``min``, ``max``, ``required``, ``pattern``, a select for an
enum or a boolean) come from its JSON schema, so the browser shows field
errors before the form is sent; the server then converts the fields to a
conf and queues the run with ``queue_run``, the API's and the CLI's code,
so a conf the browser let through is still checked the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from partita.engine.manual_run import queue_run
from partita.exceptions import PartitaError
from partita.schemas import ParamModel
from partita.server.api.dags import load_dag, param_model
from partita.server.problems import ApiProblem
from partita.server.state import ServerState, server_state
from partita.server.ui.render import (
    PageRefused,
    Viewer,
    check_csrf,
    read_form,
    redirect,
    render,
    signed_in,
)
from partita.storage.auth import Role

router = APIRouter()
FIELD_PREFIX = "param."


@dataclass(frozen=True)
class Field:
    """One input of the launchpad: what kind of input, its value as text, its rules."""

    name: str
    kind: str  # "number", "integer", "boolean", "select", "json", "text"
    value: str
    model: ParamModel
    options: tuple[str, ...] = ()
    error: str | None = None

    @property
    def schema(self) -> dict[str, Any]:
        return self.model.json_schema


def _kind(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if "enum" in schema:
        return "select"
    if kind in ("integer", "number", "boolean"):
        return str(kind)
    if kind == "string":
        return "text"
    return "json"


def _text(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("json", "select") and not isinstance(value, str):
        return json.dumps(value)
    return str(value)


def build_fields(params: dict[str, ParamModel], sent: dict[str, str] | None = None) -> list[Field]:
    """The form's fields, filled with the defaults (or with what was sent)."""
    fields = []
    for name, model in params.items():
        kind = _kind(model.json_schema)
        value = _text(model.default, kind)
        if sent is not None:
            value = sent.get(FIELD_PREFIX + name, "")
        options = tuple(_text(v, "json") for v in model.json_schema.get("enum", []))
        fields.append(Field(name, kind, value, model, options))
    return fields


def _convert(field: Field) -> Any:
    """The field's text as the param's value; ValueError naming what is wrong."""
    text = field.value.strip()
    if field.kind == "integer":
        return int(text)
    if field.kind == "number":
        return float(text)
    if field.kind == "boolean":
        return text == "true"
    if field.kind in ("json", "select"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            if field.kind == "select":
                return text
            raise ValueError("not valid JSON") from None
    return field.value


def fields_to_conf(fields: list[Field]) -> tuple[dict[str, Any], list[Field]]:
    """The conf the fields make, and the fields again with an error on each that failed."""
    conf: dict[str, Any] = {}
    checked = []
    for field in fields:
        if field.value.strip() == "" and field.kind != "text":
            if field.model.required:
                field = replace(field, error="required: this param has no default")
            checked.append(field)
            continue
        try:
            conf[field.name] = _convert(field)
        except ValueError as exc:
            field = replace(field, error=f"{field.kind} expected ({exc})")
        checked.append(field)
    return conf, checked


def _launchpad(
    request: Request, state: ServerState, dag_id: str, role: Role
) -> tuple[Viewer, Any, dict[str, ParamModel]]:
    viewer = signed_in(request, state, role)
    record = state.storage.registry.get_dag(dag_id)
    if record is None:
        raise PageRefused(404, f"no DAG {dag_id!r} in the DAG registry; /dags lists them")
    try:
        dag = load_dag(state, record)
    except (ApiProblem, PartitaError) as exc:
        raise PageRefused(409, getattr(exc, "detail", str(exc))) from exc
    return viewer, dag, {name: param_model(value) for name, value in dag.params.items()}


@router.get("/dags/{dag_id}/trigger", response_class=HTMLResponse)
def launchpad(
    dag_id: str, request: Request, state: ServerState = Depends(server_state)
) -> Response:
    """The trigger form of a DAG, generated from its params (operator)."""
    viewer, dag, params = _launchpad(request, state, dag_id, Role.OPERATOR)
    return render(
        request, "launchpad.html", viewer, dag=dag, fields=build_fields(params), error=None
    )


@router.post("/dags/{dag_id}/trigger", response_model=None)
async def launch(
    dag_id: str, request: Request, state: ServerState = Depends(server_state)
) -> Response:
    """Queue a run with the form's conf (operator); the form again with errors when refused."""
    viewer, dag, params = _launchpad(request, state, dag_id, Role.OPERATOR)
    form = await read_form(request)
    check_csrf(viewer, form)
    conf, fields = fields_to_conf(build_fields(params, form))
    error = "fix the fields marked below" if any(f.error for f in fields) else None
    if error is None:
        try:
            run = queue_run(state.storage, dag, conf, None)
        except PartitaError as exc:
            error = str(exc)
        else:
            state.wake_schedulers()
            return redirect(f"/runs/{run.run_id}")
    return render(
        request, "launchpad.html", viewer, status=422, dag=dag, fields=fields, error=error
    )


__all__ = ["build_fields", "fields_to_conf", "router"]
