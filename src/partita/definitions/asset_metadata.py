"""``Metadata``: what a task yields to add ``extra`` to the asset events it records.

Airflow 3's rule, followed here: a task function that is a generator is run
to its end by the operator; each ``Metadata(asset, extra, alias=None)`` it
yields updates ``outlet_events[asset].extra`` (and, with ``alias``, adds an
event of ``asset`` through that alias), anything else it yields is logged
and ignored, and the generator's ``return`` value is the task's output. The asset must
be among the task's ``outlets`` unless the event goes through an ``alias``
(which must be one).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

from partita.definitions.asset_events import Asset, AssetAlias
from partita.exceptions import DefinitionError


@dataclass(frozen=True)
class Metadata:
    """Extra information for the event of ``asset`` the task records when it succeeds."""

    asset: Asset
    extra: Mapping[str, Any] = field(default_factory=dict)
    alias: AssetAlias | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.asset, Asset):
            raise DefinitionError(
                f"Metadata(asset=...) takes an Asset(...), got {self.asset!r}; "
                "e.g. yield Metadata(Asset('s3://bucket/orders'), {'rows': 10})"
            )
        if not isinstance(self.extra, Mapping):
            raise DefinitionError(
                f"Metadata(extra=...) takes a dict, got {self.extra!r}; "
                "e.g. yield Metadata(asset, {'rows': 10})"
            )
        if self.alias is not None and not isinstance(self.alias, AssetAlias):
            raise DefinitionError(
                f"Metadata(alias=...) takes an AssetAlias(...) or None, got {self.alias!r}"
            )


def drain_metadata(generator: Generator[Any, Any, Any], context: Mapping[str, Any]) -> Any:
    """Run a task's generator to its end, applying the ``Metadata`` it yields to
    ``context["outlet_events"]``; returns the generator's return value."""
    events = context["outlet_events"]
    while True:
        try:
            item = next(generator)
        except StopIteration as stop:
            return stop.value
        if isinstance(item, Metadata):
            if item.alias is None or item.asset in events:
                events[item.asset].extra.update(item.extra)
            if item.alias is not None:
                events[item.alias].add(item.asset, extra=item.extra)
        else:
            context["log"].warning("ignoring a value of type %s yielded by the task", type(item))


__all__ = ["Metadata", "drain_metadata"]
