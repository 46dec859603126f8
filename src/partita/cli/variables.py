"""``partita variables``: set, get, list and delete variables (text or JSON values).

The design decision: the values of variables whose key sounds secret
(``password``, ``secret``, ``token``, ``api_key``, ``private_key``,
``passphrase``...) print as ``***`` unless ``--reveal``; ``PARTITA_VAR_<KEY>``
wins over the metadata store, as it does for tasks, and ``get`` / ``list``
say where each value comes from.
"""

from __future__ import annotations

import json
import os
from typing import Any

import click
from rich.table import Table

from partita.cli.console import make_console
from partita.cli.store import metadata_store
from partita.definitions.secrets import VAR_ENV_PREFIX, env_variable, variable_env_name
from partita.definitions.variable import check_variable_key, parse_json_value
from partita.exceptions import PartitaError, VariableNotFoundError
from partita.masking import MASK, MASKER, is_sensitive_name
from partita.schemas import VariableModel
from partita.storage.secrets import VariableRecord

METADATA = "metadata"
_JSON_FIX = "fix the value, or leave out --json to treat it as text"
#: Characters of a value shown in ``list``'s table.
MAX_SHOWN = 60


@click.group()
def variables() -> None:
    """Set, get, list or delete variables (values shared by DAGs)."""


@variables.command("set")
@click.argument("key")
@click.argument("value")
@click.option("--json", "as_json", is_flag=True, help="VALUE is JSON: check it and store it.")
@click.option("--description", help="What the variable is for.")
def set_variable(key: str, value: str, as_json: bool, description: str | None) -> None:
    """Set variable KEY to VALUE (text; JSON with --json)."""
    check_variable_key(key)
    if as_json:
        parse_json_value(key, value, _JSON_FIX)
    with metadata_store() as storage:
        storage.variables.set_variable(VariableRecord(key, value, description))
    click.echo(f"Variable {key!r} set.")
    if env_variable(key) is not None:
        click.echo(
            f"Note: {variable_env_name(key)} is set in this environment and wins over the "
            "stored value where it is set.",
            err=True,
        )


@variables.command("get")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Parse the value as JSON and print it so.")
@click.option("--reveal", is_flag=True, help="Show the value even when the key sounds secret.")
@click.option("--default", "default", help="Print this when the variable is not defined.")
def get(key: str, as_json: bool, reveal: bool, default: str | None) -> None:
    """Print the value of variable KEY (secret-sounding keys masked unless --reveal)."""
    with metadata_store() as storage:
        found = _find(storage.variables.get_variable, key)
    if found is None:
        if default is not None:
            click.echo(default)
            return
        raise VariableNotFoundError(
            f"variable {key!r} is not defined; set it with `partita variables set {key} VALUE` "
            f"or set {variable_env_name(key)}"
        )
    value: Any = parse_json_value(key, found.value, _JSON_FIX) if as_json else found.value
    shown = _shown(key, value, reveal)
    click.echo(json.dumps(shown, indent=2) if as_json else shown)


@variables.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, nothing else.")
@click.option("--reveal", is_flag=True, help="Show the values of secret-sounding keys.")
def list_variables(as_json: bool, reveal: bool) -> None:
    """List the variables (values of secret-sounding keys masked unless --reveal)."""
    with metadata_store() as storage:
        found = {r.key: (r, METADATA) for r in storage.variables.list_variables()}
    for name, text in os.environ.items():
        if name.startswith(VAR_ENV_PREFIX) and len(name) > len(VAR_ENV_PREFIX):
            key = name[len(VAR_ENV_PREFIX) :].lower()
            found[key] = (VariableRecord(key, text), name)
    models = [
        VariableModel(key=key, value=_shown(key, _maybe_json(record.value), reveal),
                      description=record.description, source=source)
        for key, (record, source) in sorted(found.items())
    ]  # fmt: skip
    if as_json:
        click.echo(json.dumps([m.model_dump(mode="json") for m in models], indent=2))
        return
    table = Table("key", "value", "description", "source", box=None)
    for m in models:
        text = m.value if isinstance(m.value, str) else json.dumps(m.value)
        if len(text) > MAX_SHOWN:
            text = text[: MAX_SHOWN - 1] + "…"
        table.add_row(m.key, text, m.description or "", m.source)
    make_console().print(table)


@variables.command("delete")
@click.argument("key")
def delete(key: str) -> None:
    """Delete variable KEY from the metadata database."""
    with metadata_store() as storage:
        deleted = storage.variables.delete_variable(key)
    if not deleted:
        hint = ""
        if env_variable(key) is not None:
            hint = f" (it is set in the environment: unset {variable_env_name(key)})"
        raise PartitaError(f"variable {key!r} is not in the metadata database{hint}")
    click.echo(f"Variable {key!r} deleted.")


def _find(read: Any, key: str) -> VariableRecord | None:
    text = env_variable(key)
    if text is not None:
        return VariableRecord(key, text)
    found: VariableRecord | None = read(key)
    return found


def _shown(key: str, value: Any, reveal: bool) -> Any:
    """``value`` as printed: ``***`` for a secret key, and registered secrets masked."""
    if reveal:
        return value
    if is_sensitive_name(key):
        return MASK
    return MASKER.redact(value)


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


__all__ = ["variables"]
