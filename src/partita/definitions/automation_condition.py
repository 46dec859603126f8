"""Dagster style automation: ``@asset(automation_condition=AutomationCondition.eager())``.

Three conditions, with Dagster's meanings (for a partitioned asset, each is
evaluated per partition: see ``scheduler/partition_automation.py``)::

    eager()        requested when it is missing (once) or any upstream was updated since it
                   was last requested or materialized, unless an upstream is missing or in
                   progress, or it is in progress itself;
    on_cron(cron)  requested once after each cron tick, as soon as every upstream has been
                   updated since that tick;
    on_missing()   requested once while it is missing, as soon as no upstream is missing.

An upstream that the same evaluation requests counts as updated and not
missing, so a chain of eager assets is brought up to date by one run.

The design decision: a condition is a pure function of ``AssetFacts``, plain
data the scheduler's ``AutomationService`` computes from the catalog, the
runs and its cursor; no clock, no store. The service requests, in one run of
the code location's automation job, every asset whose condition is true.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from partita.definitions.cron import CronError, CronSchedule
from partita.definitions.timezones import TimezoneError, parse_timezone
from partita.exceptions import DefinitionError


@dataclass(frozen=True)
class UpstreamFacts:
    """What an evaluation knows of one upstream asset."""

    missing: bool = False
    in_progress: bool = False
    #: Materialized since the asset was last handled (not by a run that also targeted it).
    updated_since_handled: bool = False
    #: When it was last materialized (None: never).
    updated_at: datetime | None = None
    #: Requested by this same evaluation.
    will_be_requested: bool = False

    @property
    def blocking_missing(self) -> bool:
        """Missing, and not about to be materialized by this evaluation's run."""
        return self.missing and not self.will_be_requested


@dataclass(frozen=True)
class AssetFacts:
    """What an evaluation knows of one asset: plain data, so conditions stay pure."""

    now: datetime
    missing: bool = False
    in_progress: bool = False
    #: Requested by automation at least once (a missing asset is requested once).
    ever_requested: bool = False
    #: When it was last handled: requested, materialized or first evaluated.
    handled_at: datetime | None = None
    upstream: Sequence[UpstreamFacts] = field(default_factory=tuple)


class AutomationCondition:
    """When the scheduler should materialize an asset; build one with the static methods."""

    label = ""

    def evaluate(self, facts: AssetFacts) -> bool:
        """True when the asset should be requested now."""
        raise NotImplementedError

    def serialize(self) -> dict[str, Any]:
        return {"condition": self.label}

    @staticmethod
    def eager() -> AutomationCondition:
        """Keep the asset up to date with its upstream assets (and materialize it when missing)."""
        return _Eager()

    @staticmethod
    def on_cron(cron_schedule: str, cron_timezone: str = "UTC") -> AutomationCondition:
        """Materialize the asset after each tick of ``cron_schedule`` once its upstreams updated."""
        return _OnCron(cron_schedule, cron_timezone)

    @staticmethod
    def on_missing() -> AutomationCondition:
        """Materialize the asset once when it is missing and its upstreams are not."""
        return _OnMissing()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AutomationCondition) and self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash(repr(self.serialize()))

    def __repr__(self) -> str:
        return f"AutomationCondition.{self.label}"


class _Eager(AutomationCondition):
    label = "eager()"

    def evaluate(self, facts: AssetFacts) -> bool:
        upstream = facts.upstream
        newly_missing = facts.missing and not facts.ever_requested
        updated = any(u.updated_since_handled or u.will_be_requested for u in upstream)
        return (
            (newly_missing or updated)
            and not any(u.blocking_missing for u in upstream)
            and not any(u.in_progress for u in upstream)
            and not facts.in_progress
        )


class _OnMissing(AutomationCondition):
    label = "on_missing()"

    def evaluate(self, facts: AssetFacts) -> bool:
        return (
            facts.missing
            and not facts.ever_requested
            and not any(u.blocking_missing for u in facts.upstream)
            and not facts.in_progress
        )


class _OnCron(AutomationCondition):
    def __init__(self, cron_schedule: str, cron_timezone: str) -> None:
        try:
            zone: tzinfo = parse_timezone(cron_timezone)
            self.schedule = CronSchedule(cron_schedule, zone)
        except (CronError, TimezoneError) as exc:
            raise DefinitionError(
                f"AutomationCondition.on_cron({cron_schedule!r}, {cron_timezone!r}): {exc}"
            ) from None
        self.cron_schedule = cron_schedule
        self.cron_timezone = cron_timezone
        self.label = f"on_cron({cron_schedule!r}, {cron_timezone!r})"

    def latest_tick(self, now: datetime) -> datetime:
        """The newest cron tick at or before ``now``."""
        return self.schedule.at_or_before(now)

    def evaluate(self, facts: AssetFacts) -> bool:
        tick = self.latest_tick(facts.now)
        if facts.handled_at is not None and facts.handled_at >= tick:
            return False  # handled since the tick (or first seen after it)
        return all(
            u.will_be_requested or (u.updated_at is not None and u.updated_at >= tick)
            for u in facts.upstream
        )


__all__ = ["AssetFacts", "AutomationCondition", "UpstreamFacts"]
