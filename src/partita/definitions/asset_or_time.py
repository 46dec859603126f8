"""``AssetOrTimeSchedule``: a DAG that runs on its timetable and also when its assets update.

Airflow's ``schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable(...),
assets=a & b)``: the scheduler creates the timetable's runs as for any
timetable, and an asset-triggered run each time the asset condition is met,
as for ``schedule=[Asset(...)]``.

The design decision: it is an ``AssetTriggeredTimetable`` (so the asset
trigger service sees its condition through ``DAG.asset_condition``, nothing
else changes there) whose clock questions are answered by the wrapped
timetable, and it serializes both parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from partita.definitions.asset_events import (
    AssetCondition,
    AssetTriggeredTimetable,
    as_asset_condition,
    condition_from_data,
)
from partita.definitions.timetable_base import (
    DagRunInfo,
    TimeRestriction,
    Timetable,
    deserialize_timetable,
)
from partita.exceptions import DefinitionError


class AssetOrTimeSchedule(AssetTriggeredTimetable):
    """Runs on ``timetable`` and on asset events matching ``assets``."""

    kind = "asset_or_time"
    periodic = True

    def __init__(
        self, *, timetable: Timetable, assets: AssetCondition | Sequence[AssetCondition]
    ) -> None:
        if not isinstance(timetable, Timetable):
            raise DefinitionError(
                f"AssetOrTimeSchedule: timetable must be a Timetable (such as "
                f"CronTriggerTimetable('0 1 * * *')), got {timetable!r}"
            )
        condition = as_asset_condition("AssetOrTimeSchedule", assets)
        if condition is None:
            raise DefinitionError(
                f"AssetOrTimeSchedule: assets must be an Asset, a condition such as a & b, or "
                f"a list of assets, got {assets!r}"
            )
        super().__init__(condition)
        self.timetable = timetable
        self.timezone = timetable.timezone

    def next_dagrun_info(
        self,
        last_automated: DagRunInfo | None,
        restriction: TimeRestriction,
        *,
        now: datetime | None = None,
    ) -> DagRunInfo | None:
        return self.timetable.next_dagrun_info(last_automated, restriction, now=now)

    def infer_manual_data_interval(self, run_after: datetime) -> tuple[datetime, datetime]:
        return self.timetable.infer_manual_data_interval(run_after)

    def _restricted_instant(self, info: DagRunInfo) -> datetime:
        return self.timetable._restricted_instant(info)

    @property
    def summary(self) -> str:
        return f"Asset or {self.timetable.summary}"

    @property
    def description(self) -> str:
        return f"{self.timetable.description}, and on asset events: {self.condition!r}"

    def _fields(self) -> dict[str, Any]:
        return {"condition": self.condition.serialize(), "timetable": self.timetable.serialize()}

    @classmethod
    def _from_fields(cls, fields: dict[str, Any]) -> Timetable:
        return cls(
            timetable=deserialize_timetable(fields["timetable"]),
            assets=condition_from_data(fields["condition"]),
        )


__all__ = ["AssetOrTimeSchedule"]
