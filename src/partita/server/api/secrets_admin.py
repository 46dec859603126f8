"""``/api/v1/connections`` and ``/api/v1/variables``: list, get, create, update, delete (admin).

Nothing secret leaves the server: a connection's password and its secret
extras (``token``, ``api_key``...) are ``***``, as is the value of a variable
whose key sounds secret; every other text passes through the server's
masker. The shapes are those of ``partita connections/variables list
--json`` (``ConnectionModel``, ``VariableModel``).

The design decision: an update may send back what a read showed: a password
or secret extra given as ``***`` (or a password left out) keeps the stored
one, and a secret variable set to ``***`` keeps its value, so a client
never needs the secret to change the other fields. The pages
(``ui/admin_pages.py``) call the same functions.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from partita.definitions.connection import Connection
from partita.definitions.variable import check_variable_key
from partita.hooks.connection_check import check_connection
from partita.masking import MASK, is_sensitive_name
from partita.schemas import ConnectionModel, VariableModel
from partita.server.auth.deps import require
from partita.server.problems import ApiProblem
from partita.server.secrets_view import ServerSecrets
from partita.server.state import ServerState, server_state
from partita.storage.auth import Role
from partita.storage.base import Storage
from partita.storage.secrets import VariableRecord

router = APIRouter(tags=["connections and variables"], dependencies=[Depends(require(Role.ADMIN))])

#: Where the connections and variables the server lists come from.
METADATA = "metadata"
ConnId = Path(min_length=1, max_length=250, pattern=r"^[A-Za-z0-9_.\-]+$")
VarKey = Path(min_length=1, max_length=250)


class ConnectionFields(BaseModel):
    """A connection's fields: a ``uri``, or ``conn_type`` with the other fields."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    uri: str | None = Field(None, max_length=8192, description="TYPE://LOGIN:PASSWORD@HOST...")
    conn_type: str | None = Field(None, max_length=250)
    host: str | None = Field(None, max_length=4096)
    login: str | None = Field(None, max_length=4096)
    password: str | None = Field(
        None, max_length=8192, description="Left out or ``***``: the stored password is kept."
    )
    schema_: str | None = Field(None, alias="schema", max_length=4096)
    port: int | None = Field(None, ge=0, le=65535)
    extra: dict[str, Any] | None = Field(
        None, description="A secret extra given as ``***`` keeps its stored value."
    )
    description: str | None = Field(None, max_length=4096)


class ConnectionCreate(ConnectionFields):
    """A new connection: its id and its fields."""

    conn_id: str = Field(min_length=1, max_length=250, pattern=r"^[A-Za-z0-9_.\-]+$")


class ConnectionTestModel(BaseModel):
    """Whether a connection reached its system, and what it answered (secrets masked)."""

    ok: bool
    message: str


class VariableUpdate(BaseModel):
    """A variable's value (text, or any JSON value, stored as JSON) and description."""

    model_config = ConfigDict(extra="forbid")

    value: Any = Field(description="``***`` for a secret key keeps the stored value.")
    description: str | None = Field(None, max_length=4096)


# -- what the API and the pages share -----------------------------------------------------------
def connection_model(connection: Connection, secrets: ServerSecrets) -> ConnectionModel:
    """The connection as shown: secrets ``***``, any other known secret masked."""
    data = ConnectionModel.from_connection(connection, METADATA).model_dump(by_alias=True)
    return ConnectionModel.model_validate(secrets.redact(data))


def connection_models(storage: Storage, secrets: ServerSecrets) -> list[ConnectionModel]:
    """Every stored connection, as shown."""
    return [connection_model(c, secrets) for c in storage.connections.list_connections()]


def find_connection(storage: Storage, conn_id: str) -> Connection:
    """The stored connection, or 404."""
    found = storage.connections.get_connection(conn_id)
    if found is None:
        raise ApiProblem(
            404, "Not found", f"no connection {conn_id!r} in the metadata database; "
            "GET /api/v1/connections lists them",
        )  # fmt: skip
    return found


def build_connection(
    conn_id: str, fields: ConnectionFields, stored: Connection | None
) -> Connection:
    """The connection ``fields`` describe; ``***`` (or no password) keeps ``stored``'s secrets."""
    given = fields.model_dump(exclude={"uri"})
    if fields.uri is not None:
        others = sorted(k for k, v in given.items() if v is not None and k != "description")
        if others:
            raise ApiProblem(
                400, "Bad input", f"give either uri or the fields ({', '.join(others)}), not both"
            )
        connection = Connection.from_uri(conn_id, fields.uri, fields.description)
    elif not fields.conn_type:
        raise ApiProblem(
            400, "Bad input", f"connection {conn_id!r} needs a uri, or a conn_type (with host, "
            "login... as needed)",
        )  # fmt: skip
    else:
        extra = json.dumps(fields.extra) if fields.extra is not None else None
        connection = Connection(
            conn_id, fields.conn_type, fields.host, fields.login, fields.password,
            fields.schema_, fields.port, extra, fields.description,
        )  # fmt: skip
    if stored is not None:
        left_out = fields.uri is None and "password" not in fields.model_fields_set
        if connection.password == MASK or (connection.password is None and left_out):
            connection.password = stored.password
        connection.extra = _keep_secret_extras(connection, stored)
    elif connection.password == MASK:
        raise ApiProblem(400, "Bad input", f"connection {conn_id!r}: '***' is not a password")
    return connection


def _keep_secret_extras(connection: Connection, stored: Connection) -> str | None:
    extra = connection.extra_dejson
    old = stored.extra_dejson
    kept = {k: old.get(k) if v == MASK and is_sensitive_name(k) else v for k, v in extra.items()}
    return json.dumps(kept) if connection.extra is not None else None


def variable_model(record: VariableRecord, secrets: ServerSecrets) -> VariableModel:
    """The variable as shown: ``***`` for a secret key, known secrets masked elsewhere."""
    if is_sensitive_name(record.key):
        value: Any = MASK
    else:
        try:
            value = secrets.redact(json.loads(record.value))
        except ValueError:
            value = secrets.mask(record.value)
    return VariableModel(
        key=record.key,
        value=value,
        description=secrets.mask_optional(record.description),
        source=METADATA,
    )


def save_variable(
    storage: Storage, key: str, value: Any, description: str | None
) -> VariableRecord:
    """Store variable ``key`` (text as is, other values as JSON); ``***`` keeps a secret."""
    check_variable_key(key)
    text = value if isinstance(value, str) else json.dumps(value)
    stored = storage.variables.get_variable(key)
    if text == MASK and is_sensitive_name(key):
        if stored is None:
            raise ApiProblem(400, "Bad input", f"variable {key!r}: '***' is not a value")
        text = stored.value
    record = VariableRecord(key, text, description)
    storage.variables.set_variable(record)
    return record


# -- connections --------------------------------------------------------------------------------
@router.get("/connections", response_model=list[ConnectionModel])
def list_connections(server: ServerState = Depends(server_state)) -> list[ConnectionModel]:
    """The stored connections, sorted by id (passwords and secret extras ``***``)."""
    return connection_models(server.storage, server.secrets)


@router.get("/connections/{conn_id}", response_model=ConnectionModel)
def get_connection(
    conn_id: str = ConnId, server: ServerState = Depends(server_state)
) -> ConnectionModel:
    """One connection (password and secret extras ``***``)."""
    return connection_model(find_connection(server.storage, conn_id), server.secrets)


@router.post("/connections", response_model=ConnectionModel, status_code=201)
def create_connection(
    body: ConnectionCreate, server: ServerState = Depends(server_state)
) -> ConnectionModel:
    """Add a connection (409 when the id exists: PUT replaces)."""
    storage = server.storage
    if storage.connections.get_connection(body.conn_id) is not None:
        raise ApiProblem(
            409, "Conflict", f"connection {body.conn_id!r} already exists; PUT "
            f"/api/v1/connections/{body.conn_id} changes it",
        )  # fmt: skip
    connection = build_connection(body.conn_id, body, None)
    storage.connections.set_connection(connection)
    server.secrets.invalidate()
    return connection_model(connection, server.secrets)


@router.put("/connections/{conn_id}", response_model=ConnectionModel)
def update_connection(
    body: ConnectionFields, conn_id: str = ConnId, server: ServerState = Depends(server_state)
) -> ConnectionModel:
    """Create or replace a connection; a password left out or ``***`` keeps the stored one."""
    storage = server.storage
    connection = build_connection(conn_id, body, storage.connections.get_connection(conn_id))
    storage.connections.set_connection(connection)
    server.secrets.invalidate()
    return connection_model(connection, server.secrets)


@router.delete("/connections/{conn_id}", status_code=204, response_class=Response)
def delete_connection(conn_id: str = ConnId, server: ServerState = Depends(server_state)) -> None:
    """Delete a connection."""
    find_connection(server.storage, conn_id)
    server.storage.connections.delete_connection(conn_id)
    server.secrets.invalidate()


@router.post("/connections/{conn_id}/test", response_model=ConnectionTestModel)
def test_connection(
    conn_id: str = ConnId, server: ServerState = Depends(server_state)
) -> ConnectionTestModel:
    """Check that the connection reaches its system (an HTTP GET, SELECT 1, or TCP)."""
    ok, message = check_connection(find_connection(server.storage, conn_id))
    return ConnectionTestModel(ok=ok, message=server.secrets.mask(message))


# -- variables ----------------------------------------------------------------------------------
@router.get("/variables", response_model=list[VariableModel])
def list_variables(server: ServerState = Depends(server_state)) -> list[VariableModel]:
    """The stored variables, sorted by key (values of secret-sounding keys ``***``)."""
    return [variable_model(r, server.secrets) for r in server.storage.variables.list_variables()]


@router.get("/variables/{key}", response_model=VariableModel)
def get_variable(key: str = VarKey, server: ServerState = Depends(server_state)) -> VariableModel:
    """One variable (``***`` when its key sounds secret)."""
    record = server.storage.variables.get_variable(key)
    if record is None:
        raise ApiProblem(
            404, "Not found", f"no variable {key!r} in the metadata database; GET "
            "/api/v1/variables lists them",
        )  # fmt: skip
    return variable_model(record, server.secrets)


@router.put("/variables/{key}", response_model=VariableModel)
def set_variable(
    body: VariableUpdate, key: str = VarKey, server: ServerState = Depends(server_state)
) -> VariableModel:
    """Create or replace a variable (a secret one set to ``***`` keeps its value)."""
    record = save_variable(server.storage, key, body.value, body.description)
    server.secrets.invalidate()
    return variable_model(record, server.secrets)


@router.delete("/variables/{key}", status_code=204, response_class=Response)
def delete_variable(key: str = VarKey, server: ServerState = Depends(server_state)) -> None:
    """Delete a variable."""
    if not server.storage.variables.delete_variable(key):
        raise ApiProblem(404, "Not found", f"no variable {key!r} in the metadata database")
    server.secrets.invalidate()


__all__ = [
    "ConnectionCreate",
    "ConnectionFields",
    "VariableUpdate",
    "build_connection",
    "connection_models",
    "find_connection",
    "router",
    "save_variable",
    "variable_model",
]
