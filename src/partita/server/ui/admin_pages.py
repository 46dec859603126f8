"""The admin pages: users, pools, connections and variables (admin only).

Users: list, create, delete, set the role, reset the password. Pools: list,
set the slots, delete. Connections: list (secrets ``***``), add, edit, delete,
test. Variables: list (secret values ``***``), set, delete.

The design decision: each page is a GET showing the list with its forms;
each form POSTs to an action that checks the role (admin) and the CSRF token
itself, calls the same functions as the CLI and the API
(``auth.accounts``, ``api.secrets_admin``), then sends the browser back to
the list with a one-line notice (303). A refused change re-renders the page
with the reason (4xx), never a traceback. No secret is ever written into a
page: the edit form of a connection leaves the password empty ("unchanged")
and shows secret extras as ``***``, which saving keeps.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from partita.exceptions import PartitaError
from partita.hooks.connection_check import check_connection
from partita.server.api.secrets_admin import (
    ConnectionFields,
    build_connection,
    connection_model,
    connection_models,
    save_variable,
    variable_model,
)
from partita.server.auth.accounts import (
    create_user,
    delete_account,
    parse_role,
    set_password,
    set_role,
)
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
from partita.storage.run_queue import PoolRecord

router = APIRouter(prefix="/admin")
SECTIONS = ("users", "pools", "connections", "variables")
Notice = Query("", max_length=300)


async def _admin_form(request: Request, state: ServerState) -> tuple[Viewer, dict[str, str]]:
    """The admin behind a form POST and its fields; 403 for other roles or a bad CSRF token."""
    viewer = signed_in(request, state, Role.ADMIN)
    form = await read_form(request)
    check_csrf(viewer, form)
    return viewer, form


def _back(section: str, notice: str) -> Response:
    return redirect(f"/admin/{section}?done={quote(notice[:300], safe='')}")


def _refused(exc: Exception) -> str:
    return exc.detail if isinstance(exc, ApiProblem) else str(exc)


def _page(
    request: Request, state: ServerState, viewer: Viewer, section: str, **context: Any
) -> HTMLResponse:
    status = context.pop("status", 200)
    pages: dict[str, Callable[[ServerState], dict[str, Any]]] = {
        "users": _users_context,
        "pools": _pools_context,
        "connections": _connections_context,
        "variables": _variables_context,
    }
    data = {"done": "", "error": None, "tested": None, **pages[section](state), **context}
    return render(
        request, f"admin_{section}.html", viewer, status=status, section=section,
        sections=SECTIONS, **data,
    )  # fmt: skip


@router.get("", response_class=HTMLResponse)
def admin_home(request: Request, state: ServerState = Depends(server_state)) -> Response:
    """The admin pages start with the users."""
    signed_in(request, state, Role.ADMIN)
    return redirect("/admin/users")


# -- users --------------------------------------------------------------------------------------
def _users_context(state: ServerState) -> dict[str, Any]:
    return {"users": state.storage.auth.list_users(), "roles": [r.value for r in Role]}


@router.post("/users", response_model=None)
async def user_action(request: Request, state: ServerState = Depends(server_state)) -> Response:
    """Create a user, or change one: ``action`` is create, delete, role or password."""
    viewer, form = await _admin_form(request, state)
    action, username = form.get("action", ""), form.get("username", "").strip()
    store = state.storage.auth
    try:
        if action == "create":
            create_user(store, username, parse_role(form.get("role", "")), form.get("password", ""))
            notice = f"User {username!r} created."
        elif action == "delete":
            if username == viewer.principal.username:
                raise PageRefused(409, "you cannot delete the user you are logged in as")
            delete_account(store, username)
            notice = f"User {username!r} deleted, with their tokens and sessions."
        elif action == "role":
            set_role(store, username, parse_role(form.get("role", "")))
            notice = f"User {username!r} is now {form.get('role')}."
        elif action == "password":
            set_password(store, username, form.get("password", ""))
            notice = f"Password of {username!r} changed."
        else:
            raise PageRefused(422, f"unknown action {action!r}: create, delete, role, password")
    except PartitaError as exc:
        return _page(request, state, viewer, "users", status=400, error=_refused(exc))
    return _back("users", notice)


# -- pools --------------------------------------------------------------------------------------
def _pools_context(state: ServerState) -> dict[str, Any]:
    return {"pools": state.storage.pools.list_pools()}


@router.post("/pools", response_model=None)
async def pool_action(request: Request, state: ServerState = Depends(server_state)) -> Response:
    """Set a pool's slots (``action=set``) or delete it (``action=delete``)."""
    viewer, form = await _admin_form(request, state)
    action, name = form.get("action", ""), form.get("name", "").strip()
    pools = state.storage.pools
    try:
        if not name or len(name) > 250 or not all(c.isalnum() or c in "_.-" for c in name):
            raise PartitaError(
                f"invalid pool name {name[:60]!r}: use letters, digits, '_', '.' or '-'"
            )
        if action == "set":
            slots = _slots(form.get("slots", ""))
            pools.set_pool(PoolRecord(name, slots, form.get("description") or None))
            notice = f"Pool {name!r} has {slots} slots."
        elif action == "delete":
            if not pools.delete_pool(name):
                raise PartitaError(f"no pool {name!r}")
            notice = f"Pool {name!r} deleted; its tasks now use default_pool."
        else:
            raise PageRefused(422, f"unknown action {action!r}: set, delete")
    except PartitaError as exc:
        return _page(request, state, viewer, "pools", status=400, error=str(exc))
    return _back("pools", notice)


def _slots(text: str) -> int:
    if not text.strip().isdigit() or int(text) > 1_000_000:
        raise PartitaError(f"slots must be a whole number from 0 to 1000000, not {text[:20]!r}")
    return int(text)


# -- connections --------------------------------------------------------------------------------
def _connections_context(state: ServerState) -> dict[str, Any]:
    return {"connections": connection_models(state.storage, state.secrets), "editing": None}


@router.get("/connections", response_class=HTMLResponse)
def connections_page(
    request: Request,
    done: str = Notice,
    edit: str = Query("", max_length=250),
    state: ServerState = Depends(server_state),
) -> HTMLResponse:
    """The connections (secrets ``***``), the add/edit form, test and delete buttons."""
    viewer = signed_in(request, state, Role.ADMIN)
    editing = None
    if edit:
        found = state.storage.connections.get_connection(edit)
        if found is None:
            raise PageRefused(404, f"no connection {edit!r}; /admin/connections lists them")
        editing = connection_model(found, state.secrets)
    return _page(request, state, viewer, "connections", done=done, editing=editing)


@router.post("/connections", response_model=None)
async def connection_action(
    request: Request, state: ServerState = Depends(server_state)
) -> Response:
    """Save (``action=save``), delete or test a connection."""
    viewer, form = await _admin_form(request, state)
    action, conn_id = form.get("action", ""), form.get("conn_id", "").strip()
    store = state.storage.connections
    try:
        if action == "save":
            stored = store.get_connection(conn_id) if form.get("original") == conn_id else None
            if stored is None and store.get_connection(conn_id) is not None:
                raise PartitaError(
                    f"connection {conn_id!r} already exists; edit it from the list instead"
                )
            store.set_connection(build_connection(conn_id, _fields(form), stored))
            state.secrets.invalidate()
            return _back("connections", f"Connection {conn_id!r} saved.")
        if action == "delete":
            if not store.delete_connection(conn_id):
                raise PartitaError(f"no connection {conn_id!r}")
            state.secrets.invalidate()
            return _back("connections", f"Connection {conn_id!r} deleted.")
        if action == "test":
            found = store.get_connection(conn_id)
            if found is None:
                raise PartitaError(f"no connection {conn_id!r}")
            ok, message = check_connection(found)
            tested = {"conn_id": conn_id, "ok": ok, "message": state.secrets.mask(message)}
            return _page(request, state, viewer, "connections", tested=tested)
        raise PageRefused(422, f"unknown action {action!r}: save, delete, test")
    except (PartitaError, ApiProblem) as exc:
        error = state.secrets.mask(_refused(exc))
        return _page(request, state, viewer, "connections", status=400, error=error)


def _fields(form: dict[str, str]) -> ConnectionFields:
    """The connection form as the API's request model; an empty password keeps the stored one."""
    conn_id = form.get("conn_id", "")
    if not conn_id or len(conn_id) > 250 or not all(c.isalnum() or c in "_.-" for c in conn_id):
        raise PartitaError(
            f"invalid connection id {conn_id[:60]!r}: use letters, digits, '_', '.' or '-'"
        )
    data: dict[str, Any] = {
        name: form.get(name, "").strip() or None
        for name in ("conn_type", "host", "login", "schema", "description")
    }
    if form.get("password"):
        data["password"] = form["password"]
    port = form.get("port", "").strip()
    if port:
        if not port.isdigit():
            raise PartitaError(f"the port must be a number from 0 to 65535, not {port[:20]!r}")
        data["port"] = int(port)
    extra = form.get("extra", "").strip()
    if extra:
        try:
            data["extra"] = json.loads(extra)
        except ValueError as exc:
            raise PartitaError(f"extra is not valid JSON ({exc}); give a JSON object") from None
    try:
        return ConnectionFields.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise PartitaError(f"{where}: {first.get('msg', 'invalid')}") from None


# -- variables ----------------------------------------------------------------------------------
def _variables_context(state: ServerState) -> dict[str, Any]:
    records = state.storage.variables.list_variables()
    shown = [variable_model(r, state.secrets) for r in records]
    return {
        "variables": [
            {"key": v.key, "description": v.description,
             "value": v.value if isinstance(v.value, str) else json.dumps(v.value)}
            for v in shown
        ]
    }  # fmt: skip


@router.post("/variables", response_model=None)
async def variable_action(request: Request, state: ServerState = Depends(server_state)) -> Response:
    """Set (``action=set``) or delete (``action=delete``) a variable."""
    viewer, form = await _admin_form(request, state)
    action, key = form.get("action", ""), form.get("key", "").strip()
    try:
        if action == "set":
            description = form.get("description") or None
            save_variable(state.storage, key, form.get("value", ""), description)
            notice = f"Variable {key!r} set."
        elif action == "delete":
            if not state.storage.variables.delete_variable(key):
                raise PartitaError(f"no variable {key!r}")
            notice = f"Variable {key!r} deleted."
        else:
            raise PageRefused(422, f"unknown action {action!r}: set, delete")
    except (PartitaError, ApiProblem) as exc:
        error = state.secrets.mask(_refused(exc))
        return _page(request, state, viewer, "variables", status=400, error=error)
    state.secrets.invalidate()
    return _back("variables", notice)


@router.get("/{section}", response_class=HTMLResponse)
def section_page(
    request: Request,
    section: Literal["users", "pools", "variables"],
    done: str = Notice,
    state: ServerState = Depends(server_state),
) -> HTMLResponse:
    """The users, the pools or the variables (secret values ``***``), with their forms.

    (Declared last: ``/admin/connections`` has its own page, with its edit form.)
    """
    viewer = signed_in(request, state, Role.ADMIN)
    return _page(request, state, viewer, section, done=done)


__all__ = ["router"]
