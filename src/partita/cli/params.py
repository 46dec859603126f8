"""Click parameter types for the CLI's structured inputs: run conf (JSON) and dates.

The design decision: bad input is rejected while the command line is parsed,
before any DAG file is imported or database opened, with a message that says
what is wrong, where, and what a good value looks like. Run conf is strict
JSON: ``NaN``, ``Infinity`` and numbers too large for a float (``1e999``) are
refused, since they are not JSON and PostgreSQL's ``json`` type rejects them.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
EXAMPLE = """'{"key": "value"}'"""
_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
#: How much of a bad value an error message quotes.
_QUOTED_CHARS = 60


class _NotJson(ValueError):
    """A value Python's json module accepts but JSON does not (NaN, Infinity, 1e999)."""


def _refuse_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _NotJson(f"{text} is too large for a number")
    return number


def parse_json_object(text: str) -> dict[str, Any]:
    """``text`` as a JSON object; raises ``ValueError`` with a message saying what is wrong."""
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}; "
            f"write an object like {EXAMPLE}"
        ) from None
    except _NotJson as exc:
        raise ValueError(
            f"is not valid JSON: {exc} (NaN, Infinity, -Infinity and numbers beyond a "
            "float's range are not JSON, and PostgreSQL refuses them); write a finite number, "
            'null or a string such as "NaN" instead'
        ) from None
    if not isinstance(data, dict):
        kind = "null" if data is None else _JSON_KINDS.get(type(data), type(data).__name__)
        raise ValueError(f"must be a JSON object like {EXAMPLE}, got a JSON {kind}")
    return data


def _quoted(value: str) -> str:
    """``value`` quoted for an error message, cut short when long."""
    if len(value) <= _QUOTED_CHARS:
        return repr(value)
    return f"{value[:_QUOTED_CHARS]!r}... ({len(value)} characters)"


class JsonObject(click.ParamType):
    """A JSON object given on the command line, as a dict."""

    name = "JSON"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dict):
            return value
        try:
            return parse_json_object(value)
        except ValueError as exc:
            message = str(exc)
            if message.startswith("must be"):
                self.fail(f"{message}: {_quoted(value)}", param, ctx)
            self.fail(f"{_quoted(value)} {message}", param, ctx)


class JsonObjectFile(click.ParamType):
    """A file holding a JSON object (``-`` reads standard input), as a dict."""

    name = "PATH"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dict):
            return value
        source = "standard input" if value == "-" else f"file {value!r}"
        try:
            if value == "-":
                text = sys.stdin.read()
            else:
                with open(value, encoding="utf-8") as file:
                    text = file.read()
        except OSError as exc:
            self.fail(f"{source} cannot be read: {exc.strerror or exc}", param, ctx)
        except UnicodeDecodeError:
            self.fail(f"{source} is not UTF-8 text; save the JSON as UTF-8", param, ctx)
        try:
            return parse_json_object(text)
        except ValueError as exc:
            self.fail(f"{source} {exc}", param, ctx)


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
JSON_OBJECT_FILE = JsonObjectFile()
ISO_DATETIME = IsoDateTime()


def conf_option(help_text: str) -> Callable[[F], F]:
    """``--conf JSON`` or ``--conf-file PATH``: a JSON object for the run, as one ``conf``.

    The command receives a single ``conf`` argument (a dict, or None when neither
    option is given); giving both is a usage error. ``--conf-file`` exists because
    one command-line argument is limited to 128 KiB on Linux.
    """

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def with_conf(*args: Any, **kwargs: Any) -> Any:
            inline, from_file = kwargs.pop("conf"), kwargs.pop("conf_file")
            if inline is not None and from_file is not None:
                raise click.UsageError(
                    "--conf and --conf-file cannot be used together; put the whole conf in one"
                )
            return command(*args, conf=from_file if inline is None else inline, **kwargs)

        with_conf = click.option(
            "--conf-file",
            type=JSON_OBJECT_FILE,
            default=None,
            help="Read the conf (a JSON object) from this file instead; '-' reads stdin. "
            "For conf too big for the command line.",
        )(with_conf)
        return click.option("--conf", type=JSON_OBJECT, default=None, help=help_text)(with_conf)  # type: ignore[return-value]

    return decorate


def _tags(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for value in values:
        key, equals, tag = value.partition("=")
        if not equals or not key.strip():
            raise click.BadParameter(
                f"{value!r} is not KEY=VALUE; write a tag like --tag team=data", ctx, param
            )
        tags[key.strip()] = tag
    return tags


def tag_option(help_text: str) -> Callable[[F], F]:
    """``--tag KEY=VALUE`` (repeatable): a run's tags, given to the command as ``tags``."""
    return click.option(
        "--tag", "tags", multiple=True, callback=_tags, metavar="KEY=VALUE", help=help_text
    )


def logical_date_option() -> Callable[[F], F]:
    """``--logical-date DATE``: the run's logical date."""
    return click.option(
        "--logical-date",
        type=ISO_DATETIME,
        default=None,
        help="Logical date of the run (ISO 8601; without a zone, in the DAG's time zone: "
        "its own, else default_timezone, else UTC). Default: now.",
    )


__all__ = [
    "ISO_DATETIME",
    "JSON_OBJECT",
    "JSON_OBJECT_FILE",
    "IsoDateTime",
    "JsonObject",
    "JsonObjectFile",
    "conf_option",
    "logical_date_option",
    "parse_json_object",
    "tag_option",
]
