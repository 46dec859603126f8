"""Click parameter types for the CLI's structured inputs: run conf (JSON) and dates.

The design decision: bad input is rejected while the command line is parsed,
before any DAG file is imported or database opened, with a message that says
what is wrong, where, and what a good value looks like.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
EXAMPLE = """'{"key": "value"}'"""
_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


class JsonObject(click.ParamType):
    """A JSON object given on the command line, as a dict."""

    name = "JSON"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dict):
            return value
        try:
            data = json.loads(value)
        except json.JSONDecodeError as exc:
            self.fail(
                f"{value!r} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}; "
                f"write an object like {EXAMPLE}",
                param,
                ctx,
            )
        if not isinstance(data, dict):
            kind = "null" if data is None else _JSON_KINDS.get(type(data), type(data).__name__)
            self.fail(
                f"must be a JSON object like {EXAMPLE}, got a JSON {kind}: {value!r}",
                param,
                ctx,
            )
        return data


class IsoDateTime(click.ParamType):
    """An ISO 8601 date or date-time; without a zone it is wall time in the DAG's time zone."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(
                f"{value!r} is not an ISO 8601 date or time; use a form like 2025-01-31, "
                "2025-01-31T06:00:00 or 2025-01-31T06:00:00+09:00",
                param,
                ctx,
            )
        return parsed


JSON_OBJECT = JsonObject()
ISO_DATETIME = IsoDateTime()


def conf_option(help_text: str) -> Callable[[F], F]:
    """``--conf JSON``: a JSON object for the run."""
    return click.option("--conf", type=JSON_OBJECT, default=None, help=help_text)


def logical_date_option() -> Callable[[F], F]:
    """``--logical-date DATE``: the run's logical date."""
    return click.option(
        "--logical-date",
        type=ISO_DATETIME,
        default=None,
        help="Logical date of the run (ISO 8601; without a zone, in the DAG's time zone: "
        "its own, else default_timezone, else UTC). Default: now.",
    )


__all__ = ["ISO_DATETIME", "JSON_OBJECT", "IsoDateTime", "JsonObject"]
