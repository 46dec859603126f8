"""``AssetAccessControl``: which teams may produce or consume an asset's events.

Airflow 3.3's setting (``Asset(..., access_control=AssetAccessControl(...))``)
filters asset-triggered runs by team only when Airflow runs in multi-team
mode (``[core] multi_team = True``); with it off, its default, every DAG is
teamless and the setting filters nothing. partita has no teams, so it is
Airflow with multi-team off: the setting is checked as Airflow checks it and
kept on the asset (``asset.access_control``), and no event is filtered by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from partita.exceptions import DefinitionError


def _teams(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise DefinitionError(
            f"AssetAccessControl: {what} must be a list of team names, got {value!r}"
        )
    for entry in value:
        if not isinstance(entry, str) or not entry.strip():
            raise DefinitionError(
                f"AssetAccessControl: each entry in {what} must be a non-empty string, "
                f"got {entry!r}"
            )
    return tuple(value)


@dataclass(frozen=True, init=False)
class AssetAccessControl:
    """The teams allowed to produce (and consume) an asset's events; see the module doc."""

    producer_teams: tuple[str, ...]
    consumer_teams: tuple[str, ...] | None
    allow_global: bool

    def __init__(
        self,
        producer_teams: Sequence[str] = (),
        consumer_teams: Sequence[str] | None = None,
        allow_global: bool = True,
    ) -> None:
        if not isinstance(allow_global, bool):
            raise DefinitionError(
                f"AssetAccessControl: allow_global must be True or False, got {allow_global!r}"
            )
        object.__setattr__(self, "producer_teams", _teams(producer_teams, "producer_teams"))
        consumers = None if consumer_teams is None else _teams(consumer_teams, "consumer_teams")
        object.__setattr__(self, "consumer_teams", consumers)
        object.__setattr__(self, "allow_global", allow_global)


__all__ = ["AssetAccessControl"]
