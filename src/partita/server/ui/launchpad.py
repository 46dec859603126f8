"""The launchpad: a form from a DAG's params and its tasks' Config, defaults filled in.

The design decision: each param becomes one field whose HTML constraints
(``type``, ``min``, ``max``, ``required``, ``pattern``, a select for an
enum or a boolean) come from its JSON schema, so the browser shows field
errors before the form is sent; the server then converts the fields to a
conf and queues the run with ``queue_run``, the API's and the CLI's code,
so a conf the browser let through is still checked the same way. A DAG
whose tasks take a ``Config`` also gets a run-config editor and one field per
config field (``launchpad_config.py``), merged into the same conf.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from partita.engine.manual_run import queue_run
from partita.exceptions import PartitaError, RunConfigError
from partita.schemas import ParamModel
from partita.server.api.dags import load_dag, param_model
from partita.server.problems import ApiProblem
from partita.server.state import ServerState, server_state
from partita.server.ui.launchpad_config import (
    CONFIG_PREFIX,
    EDITOR,
    config_models,
    config_tasks,
    field_errors,
    read_editor,
    scaffold,
    takes_config,
    with_fields,
)
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
    prefix: str = FIELD_PREFIX

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


def build_fields(
    params: dict[str, ParamModel], sent: dict[str, str] | None = None, prefix: str = FIELD_PREFIX
) -> list[Field]:
    """The form's fields, filled with the defaults (or with what was sent)."""
    fields = []
    for name, model in params.items():
        kind = _kind(model.json_schema)
        value = _text(model.default, kind)
        if sent is not None:
            value = sent.get(prefix + name, "")
        options = tuple(_text(v, "json") for v in model.json_schema.get("enum", []))
        fields.append(Field(name, kind, value, model, options, prefix=prefix))
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
                field = replace(field, error="required: it has no default")
            checked.append(field)
            continue
        try:
            conf[field.name] = _convert(field)
        except ValueError as exc:
            field = replace(field, error=f"{field.kind} expected ({exc})")
        checked.append(field)
    return conf, checked


@dataclass(frozen=True)
class Launchpad:
    """What the launchpad of one DAG shows: its params' fields and its tasks' run config."""

    dag: Any
    params: dict[str, ParamModel]
    tasks: dict[str, Any]
    models: dict[str, ParamModel]


def _launchpad(
    request: Request, state: ServerState, dag_id: str, role: Role
) -> tuple[Viewer, Launchpad]:
    viewer = signed_in(request, state, role)
    record = state.storage.registry.get_dag(dag_id)
    if record is None:
        raise PageRefused(404, f"no DAG {dag_id!r} in the DAG registry; /dags lists them")
    try:
        dag = load_dag(state, record)
    except (ApiProblem, PartitaError) as exc:
        raise PageRefused(409, getattr(exc, "detail", str(exc))) from exc
    params = {name: param_model(value) for name, value in dag.params.items()}
    tasks = config_tasks(dag)
    return viewer, Launchpad(dag, params, tasks, config_models(tasks))


def _page(
    request: Request, viewer: Viewer, pad: Launchpad, status: int = 200, **values: Any
) -> Response:
    return render(
        request, "launchpad.html", viewer, status=status, dag=pad.dag,
        has_config=takes_config(pad.dag), **values,
    )  # fmt: skip


@router.get("/dags/{dag_id}/trigger", response_class=HTMLResponse)
def launchpad(
    dag_id: str, request: Request, state: ServerState = Depends(server_state)
) -> Response:
    """The trigger form of a DAG, generated from its params and its tasks' Config (operator)."""
    viewer, pad = _launchpad(request, state, dag_id, Role.OPERATOR)
    return _page(
        request, viewer, pad, fields=build_fields(pad.params),
        config_fields=build_fields(pad.models, prefix=CONFIG_PREFIX),
        editor=scaffold(pad.dag, pad.tasks, pad.models), editor_error=None, error=None,
    )  # fmt: skip


def _config_values(fields: list[Field]) -> dict[str, Any]:
    """The config fields' values; an empty one leaves the editor's value of that field."""
    values, _ = fields_to_conf(fields)
    return {k: v for k, v in values.items() if not (isinstance(v, str) and not v.strip())}


@router.post("/dags/{dag_id}/trigger", response_model=None)
async def launch(
    dag_id: str, request: Request, state: ServerState = Depends(server_state)
) -> Response:
    """Queue a run with the form's conf (operator); the form again with errors when refused."""
    viewer, pad = _launchpad(request, state, dag_id, Role.OPERATOR)
    form = await read_form(request)
    check_csrf(viewer, form)
    conf, fields = fields_to_conf(build_fields(pad.params, form))
    _, config_fields = fields_to_conf(build_fields(pad.models, form, CONFIG_PREFIX))
    editor = form.get(EDITOR, "")
    editor_error = None
    if takes_config(pad.dag) or editor.strip():
        try:
            run_config = with_fields(read_editor(editor), _config_values(config_fields))
        except ValueError as exc:
            editor_error = str(exc)
        else:
            conf = {**run_config, **conf}
    invalid = editor_error or any(f.error for f in [*fields, *config_fields])
    error = "fix the fields marked below" if invalid else None
    if error is None:
        try:
            run = queue_run(state.storage, pad.dag, conf, None)
        except PartitaError as exc:
            error = str(exc)
            marks = field_errors(pad.tasks, conf) if isinstance(exc, RunConfigError) else {}
            config_fields = [replace(f, error=marks.get(f.name, f.error)) for f in config_fields]
        else:
            state.wake_schedulers()
            return redirect(f"/runs/{run.run_id}")
    return _page(
        request, viewer, pad, status=422, fields=fields, config_fields=config_fields,
        editor=editor, editor_error=editor_error, error=error,
    )  # fmt: skip


__all__ = ["build_fields", "fields_to_conf", "router"]
