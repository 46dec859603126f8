"""``partita connections``: add, list, show, delete and test connections.

The design decision: what a command prints never shows a secret unless
asked: passwords and secret extras (``token``, ``api_key``...) are ``***`` in
``list`` and ``get`` (``get --reveal`` shows them), and a URI given with
``--uri`` is never echoed. A connection set in the environment
(``PARTITA_CONN_<ID>``) wins over the metadata store, as it does for tasks,
and ``list`` / ``get`` say where each one comes from.
"""

from __future__ import annotations

import json
import os
import sys

import click
from rich.table import Table

from partita.cli.console import make_console
from partita.cli.store import metadata_store
from partita.definitions.connection import Connection
from partita.definitions.secrets import CONN_ENV_PREFIX, connection_env_name, env_connection_text
from partita.exceptions import ConnectionNotFoundError, PartitaError
from partita.hooks.connection_check import check_connection, describe_check
from partita.masking import MASKER
from partita.schemas import ConnectionModel
from partita.storage.base import Storage

#: ``source`` of a connection kept in the metadata database.
METADATA = "metadata"
_FIELD_OPTIONS = ("conn_type", "host", "login", "password", "port", "schema", "extra")


@click.group()
def connections() -> None:
    """Add, list, show, delete or test connections to outside systems."""


@connections.command("add")
@click.argument("conn_id")
@click.option("--uri", help="The whole connection: TYPE://LOGIN:PASSWORD@HOST:PORT/SCHEMA?K=V")
@click.option("--conn-type", help="The type (http, postgres, sqlite, smtp...).")
@click.option("--host", help="The host (or a base URL for http).")
@click.option("--login", help="The user name.")
@click.option(
    "--password", help="The password (visible in the shell history: prefer --password-stdin)."
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--port", type=click.IntRange(0, 65535), help="The port.")
@click.option("--schema", help="The schema or database (for http: the protocol).")
@click.option("--extra", help="Extras as a JSON object, e.g. '{\"timeout\": 10}'.")
@click.option("--description", help="What the connection is for.")
@click.option("--replace", is_flag=True, help="Replace a connection with the same id.")
def add(conn_id: str, uri: str | None, password_stdin: bool, description: str | None,
        replace: bool, **fields: object) -> None:  # fmt: skip
    """Add connection CONN_ID from --uri, or from --conn-type and the other field options."""
    connection = _connection_from_options(conn_id, uri, password_stdin, description, fields)
    with metadata_store() as storage:
        if not replace and storage.connections.get_connection(conn_id) is not None:
            raise click.UsageError(
                f"connection {conn_id!r} already exists; add --replace to replace it, or "
                f"'partita connections delete {conn_id}' first"
            )
        storage.connections.set_connection(connection)
    where = f" at {connection.host}" if connection.host else ""
    click.echo(f"Connection {conn_id!r} ({connection.conn_type}{where}) added.")


def _connection_from_options(
    conn_id: str,
    uri: str | None,
    password_stdin: bool,
    description: str | None,
    fields: dict[str, object],
) -> Connection:
    given = [name for name in _FIELD_OPTIONS if fields.get(name) is not None]
    if password_stdin:
        if fields.get("password") is not None:
            raise click.UsageError("give --password or --password-stdin, not both")
        fields["password"] = sys.stdin.readline().rstrip("\r\n")
        given.append("password")
    if uri is not None:
        if given:
            options = ", ".join(f"--{name.replace('_', '-')}" for name in given)
            raise click.UsageError(f"give either --uri or field options ({options}), not both")
        return Connection.from_uri(conn_id, uri, description)
    if fields.get("conn_type") is None:
        raise click.UsageError(
            f"connection {conn_id!r} needs --uri, or --conn-type (with --host, --login... as "
            "needed)"
        )
    return Connection(conn_id, description=description, **fields)  # type: ignore[arg-type]


@connections.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, nothing else.")
def list_connections(as_json: bool) -> None:
    """List the connections (passwords and secret extras masked)."""
    with metadata_store() as storage:
        found = {c.conn_id: (c, METADATA) for c in storage.connections.list_connections()}
    found.update(_environment_connections())
    models = [ConnectionModel.from_connection(c, source) for c, source in found.values()]
    models.sort(key=lambda m: m.conn_id)
    if as_json:
        click.echo(json.dumps([m.model_dump(mode="json", by_alias=True) for m in models], indent=2))
        return
    table = Table("conn_id", "type", "host", "port", "login", "password", "schema", "extra",
                  "source", box=None)  # fmt: skip
    for m in models:
        table.add_row(
            m.conn_id, m.conn_type or "", m.host or "", "" if m.port is None else str(m.port),
            m.login or "", m.password or "", m.schema_ or "",
            json.dumps(m.extra) if m.extra else "", m.source,
        )  # fmt: skip
    make_console().print(table)


def _environment_connections() -> dict[str, tuple[Connection, str]]:
    """The connections ``PARTITA_CONN_<ID>`` variables define (ids lower-cased)."""
    found: dict[str, tuple[Connection, str]] = {}
    for name, text in os.environ.items():
        if name.startswith(CONN_ENV_PREFIX) and len(name) > len(CONN_ENV_PREFIX) and text:
            conn_id = name[len(CONN_ENV_PREFIX) :].lower()
            connection = Connection.from_text(conn_id, text, f"environment variable {name}")
            found[conn_id] = (connection, name)
    return found


@connections.command("get")
@click.argument("conn_id")
@click.option("--reveal", is_flag=True, help="Show the password and secret extras.")
@click.option("--json", "as_json", is_flag=True, help="Print it as JSON, nothing else.")
def get(conn_id: str, reveal: bool, as_json: bool) -> None:
    """Show connection CONN_ID (secrets masked unless --reveal)."""
    with metadata_store() as storage:
        connection, source = find_connection(storage, conn_id)
    model = ConnectionModel.from_connection(connection, source, reveal=reveal)
    data = model.model_dump(mode="json", by_alias=True)
    if not reveal:
        connection.register_secrets()
    data["uri"] = connection.get_uri() if reveal else MASKER.mask(connection.get_uri())
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for key, value in data.items():
        shown = json.dumps(value) if isinstance(value, dict) else value
        click.echo(f"{key}: {'' if shown is None else shown}")


def find_connection(storage: Storage, conn_id: str) -> tuple[Connection, str]:
    """The connection and its source: the environment first, then the metadata store."""
    text = env_connection_text(conn_id)
    if text is not None:
        name = connection_env_name(conn_id)
        return Connection.from_text(conn_id, text, f"environment variable {name}"), name
    connection = storage.connections.get_connection(conn_id)
    if connection is None:
        raise ConnectionNotFoundError(
            f"connection {conn_id!r} is not defined; add it with `partita connections add "
            f"{conn_id} --uri ...` or set {connection_env_name(conn_id)}"
        )
    return connection, METADATA


@connections.command("delete")
@click.argument("conn_id")
def delete(conn_id: str) -> None:
    """Delete connection CONN_ID from the metadata database."""
    with metadata_store() as storage:
        deleted = storage.connections.delete_connection(conn_id)
    if not deleted:
        hint = ""
        if env_connection_text(conn_id) is not None:
            hint = f" (it is set in the environment: unset {connection_env_name(conn_id)})"
        raise PartitaError(f"connection {conn_id!r} is not in the metadata database{hint}")
    click.echo(f"Connection {conn_id!r} deleted.")


@connections.command("test")
@click.argument("conn_id")
def test(conn_id: str) -> None:
    """Check that connection CONN_ID reaches its system (an HTTP GET, SELECT 1, or TCP)."""
    with metadata_store() as storage:
        connection, _ = find_connection(storage, conn_id)
    click.echo(
        f"Testing connection {conn_id!r} ({connection.conn_type}): "
        f"{describe_check(connection.conn_type)}..."
    )
    ok, message = check_connection(connection)
    click.echo(f"{'OK' if ok else 'Failed'}: {message}")
    if not ok:
        sys.exit(1)


__all__ = ["connections", "find_connection"]
