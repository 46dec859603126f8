"""``Variable``: named values shared by DAGs (``Variable.get("api_url")``), as in Airflow.

A variable is text; ``serialize_json=True`` / ``deserialize_json=True`` store
and read JSON. ``PARTITA_VAR_<KEY>`` (the key upper-cased) overrides what the
metadata store holds. Templates read them as ``{{ var.value.key }}`` and
``{{ var.json.key.field }}``.

The design decision: a variable whose key sounds secret (contains
``password``, ``secret``, ``token``, ``api_key``, ``private_key``,
``passphrase``...) is registered with the process's masker as soon as it is
read, so its value never reaches a task log or a stored error in clear.
"""

from __future__ import annotations

import json
from typing import Any

from partita.definitions.ids import check_id_length
from partita.definitions.secrets import SECRETS, env_variable, variable_env_name
from partita.exceptions import PartitaError, VariableNotFoundError
from partita.masking import MASKER, is_sensitive_name

_NOT_SET: Any = object()


class Variable:
    """Reads and writes variables; every method is a classmethod (no instances needed)."""

    @classmethod
    def get(
        cls,
        key: str,
        default: Any = _NOT_SET,
        deserialize_json: bool = False,
        *,
        default_var: Any = _NOT_SET,
    ) -> Any:
        """The value of ``key`` (parsed from JSON with ``deserialize_json``), else ``default``.

        ``default_var`` is Airflow's name for ``default``. Without a default a
        missing key raises ``VariableNotFoundError`` (a ``KeyError``).
        """
        if default_var is not _NOT_SET:
            if default is not _NOT_SET:
                raise PartitaError(
                    f"Variable.get({key!r}): give default= or default_var=, not both"
                )
            default = default_var
        text = env_variable(key)
        if text is None:
            text = SECRETS.get().get_variable(key)
        if text is None:
            if default is _NOT_SET:
                raise VariableNotFoundError(
                    f"variable {key!r} is not defined; set it with `partita variables set {key} "
                    f"VALUE` or set {variable_env_name(key)}"
                )
            return default
        value: Any = text
        if deserialize_json:
            value = parse_json_value(
                key, text, f"read it without deserialize_json=True, or store JSON "
                f"(partita variables set {key} VALUE --json)",
            )  # fmt: skip
        if is_sensitive_name(key):
            MASKER.add(value, name=key)
            MASKER.add(text, name=key)
        return value

    @classmethod
    def set(
        cls,
        key: str,
        value: Any,
        description: str | None = None,
        serialize_json: bool = False,
    ) -> None:
        """Store ``value`` under ``key``: as JSON with ``serialize_json``, else ``str(value)``."""
        check_variable_key(key)
        if serialize_json:
            try:
                text = json.dumps(value, indent=2)
            except (TypeError, ValueError) as exc:
                raise PartitaError(
                    f"variable {key!r}: the value cannot be stored as JSON ({exc}); store "
                    "plain data (dicts, lists, strings, numbers, booleans, None)"
                ) from None
        else:
            text = str(value)
        SECRETS.get().set_variable(key, text, description)

    @classmethod
    def delete(cls, key: str) -> int:
        """Delete ``key`` from the metadata store; returns how many were deleted (0 or 1)."""
        return int(SECRETS.get().delete_variable(key))


def check_variable_key(key: str) -> None:
    """Refuse an empty key or one wider than the store's key column."""
    if not key or not isinstance(key, str):
        raise PartitaError("a variable key must be a non-empty string")
    check_id_length(key, f"variable key {key[:40]!r}", "use a shorter key")


def parse_json_value(key: str, text: str, fix: str) -> Any:
    """The JSON in variable ``key``'s ``text``; a ``PartitaError`` ending with ``fix`` if none."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise PartitaError(f"variable {key!r} is not valid JSON ({exc}); {fix}") from None


__all__ = ["Variable", "check_variable_key", "parse_json_value"]
