"""What asset checks report: ``AssetCheckResult``, its severity, and ``AssetCheckSpec``.

These are the plain values shared by ``@asset_check`` (``asset_check.py``)
and by assets that check their own data (``@asset(check_specs=[...])``,
``asset.py``), so both can use them without importing each other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from partita.definitions.asset_key import AssetKey, CoercibleToAssetKey, as_asset_key
from partita.exceptions import DefinitionError

_CHECK_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def checked_name(name: str, where: str) -> str:
    """``name`` if it is a valid check name (letters, digits, ``_``, ``-``); else an error."""
    if not isinstance(name, str) or not _CHECK_NAME.match(name):
        raise DefinitionError(
            f"{where}: check name {name!r} must be letters, digits, '_' and '-'; rename it"
        )
    return name


class AssetCheckSeverity(StrEnum):
    """How bad a failed check is: ``ERROR`` (blocks downstream when blocking) or ``WARN``."""

    WARN = "WARN"
    ERROR = "ERROR"


@dataclass(frozen=True)
class AssetCheckResult:
    """What a check function returns: ``AssetCheckResult(passed=False, metadata={...})``."""

    passed: bool
    metadata: Mapping[str, Any] = field(default_factory=dict)
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR
    description: str | None = None
    #: Which asset and check this is the result of (only needed when ambiguous).
    asset_key: CoercibleToAssetKey | None = None
    check_name: str | None = None


@dataclass(frozen=True)
class AssetCheckEvaluation:
    """What a check task reports (the engine adds run, task and time)."""

    asset_key: AssetKey
    check_name: str
    passed: bool
    severity: AssetCheckSeverity
    metadata: dict[str, Any] = field(default_factory=dict)
    description: str | None = None


class AssetCheckSpec:
    """A check an asset reports itself: ``@asset(check_specs=[AssetCheckSpec("has_rows",
    asset="orders")])``; the asset yields (or returns in ``MaterializeResult(check_results=)``)
    an ``AssetCheckResult`` for it."""

    __slots__ = ("asset_key", "blocking", "description", "name")

    def __init__(
        self,
        name: str,
        *,
        asset: CoercibleToAssetKey,
        description: str | None = None,
        blocking: bool = False,
    ) -> None:
        self.name = checked_name(name, "AssetCheckSpec")
        self.asset_key = as_asset_key(asset, f"AssetCheckSpec {name!r}: asset")
        self.description = description
        self.blocking = blocking

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssetCheckSpec) and (
            self.name,
            self.asset_key,
            self.description,
            self.blocking,
        ) == (other.name, other.asset_key, other.description, other.blocking)

    def __hash__(self) -> int:
        return hash((self.name, self.asset_key))

    def __repr__(self) -> str:
        return f"AssetCheckSpec({self.name!r}, asset={self.asset_key.to_user_string()!r})"


__all__ = [
    "AssetCheckEvaluation",
    "AssetCheckResult",
    "AssetCheckSeverity",
    "AssetCheckSpec",
    "checked_name",
]
