"""Metadata attached to materializations and failures: numbers, text, paths, URLs, JSON, markdown.

Plain values (``int``, ``float``, ``str``, ``bool``, ``None``, lists and
dicts of them) are stored as they are. ``MetadataValue.path(...)``,
``.url(...)``, ``.json(...)``, ``.md(...)`` and friends say what a value *is*,
so the CLI and the UI can show a path as a path and markdown as markdown.

The design decision: metadata is normalized to JSON once, where it enters the
engine (``normalize_metadata``), so every store keeps it as JSON and nothing
downstream needs to know the Python types; a typed value becomes
``{"type": "path", "value": "/data/x.csv"}``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

KINDS = ("text", "int", "float", "bool", "path", "url", "json", "md", "null")


@dataclass(frozen=True, slots=True)
class MetadataValue:
    """A metadata value with its kind; build one with the static methods."""

    type: str
    value: Any

    @staticmethod
    def text(value: str) -> MetadataValue:
        return MetadataValue("text", str(value))

    @staticmethod
    def int(value: int) -> MetadataValue:
        return MetadataValue("int", int(value))

    @staticmethod
    def float(value: float) -> MetadataValue:
        return MetadataValue("float", float(value))

    @staticmethod
    def bool(value: bool) -> MetadataValue:
        return MetadataValue("bool", bool(value))

    @staticmethod
    def path(value: Any) -> MetadataValue:
        """A file system path (``str`` or ``os.PathLike``)."""
        return MetadataValue("path", str(value))

    @staticmethod
    def url(value: str) -> MetadataValue:
        return MetadataValue("url", str(value))

    @staticmethod
    def json(value: Any) -> MetadataValue:
        """Any JSON-compatible value (dicts, lists...)."""
        return MetadataValue("json", _plain(value))

    @staticmethod
    def md(value: str) -> MetadataValue:
        """Markdown text."""
        return MetadataValue("md", str(value))

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "value": _plain(self.value)}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, MetadataValue):
        return value.to_json()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    fspath = getattr(value, "__fspath__", None)
    if fspath is not None:
        return MetadataValue.path(fspath()).to_json()
    return str(value)


def normalize_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """``metadata`` as JSON-compatible values (typed values as ``{"type", "value"}``)."""
    if not metadata:
        return {}
    return {str(key): _plain(value) for key, value in metadata.items()}


def display_metadata_value(value: Any) -> str:
    """How the CLI shows one stored metadata value."""
    if isinstance(value, dict) and set(value) == {"type", "value"} and value["type"] in KINDS:
        inner = value["value"]
        text = inner if isinstance(inner, str) else json.dumps(inner, default=str)
        return f"{text} ({value['type']})"
    return json.dumps(value, default=str)


__all__ = ["MetadataValue", "display_metadata_value", "normalize_metadata"]
