"""``LatestOnlyOperator``: skip the tasks downstream unless the run is for the latest interval.

As in Airflow: a run is the latest when "now" falls inside the schedule
interval that follows the run's data interval (``left < now <= right``), that
is, when no later scheduled run is due yet. Otherwise the tasks directly
downstream are skipped and the rest follow their trigger rules. Runs that a
person started (``manual``, and ``test`` from ``dag.test()``) are never
skipped, nor are runs of a DAG with no recurring schedule.

The design decision: the next interval is computed from the DAG's
``schedule`` (cron string, preset or ``timedelta``) here, with ``croniter``,
because operators use only the definitions layer, not the engine.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import croniter

from partita.definitions.context import Context
from partita.definitions.dag import PRESETS
from partita.operators.branch import BaseBranchOperator, BranchChoice

#: Run types started by a person; like Airflow's externally triggered runs, never skipped.
TRIGGERED_RUN_TYPES = frozenset({"manual", "test"})


def next_interval(schedule: Any, after: datetime) -> tuple[datetime, datetime] | None:
    """The schedule interval that starts at ``after``; None for a DAG with no recurring schedule."""
    if isinstance(schedule, timedelta):
        return after, after + schedule
    if isinstance(schedule, str):
        cron = PRESETS.get(schedule, schedule)
        if cron is not None:
            end = croniter(cron, after).get_next(datetime)
            if end.tzinfo is None:
                end = end.replace(tzinfo=UTC)
            return after, end
    return None


class LatestOnlyOperator(BaseBranchOperator):
    """Lets the tasks downstream run only in the run of the most recent schedule interval."""

    ui_color = "#e9ffdb"

    def choose_branch(self, context: Context) -> BranchChoice:
        log = context["log"]
        run = context["dag_run"]
        downstream = list(self.downstream_task_ids)
        if run.run_type in TRIGGERED_RUN_TYPES:
            log.info("%s run: allowing execution to proceed", run.run_type)
            return downstream
        dag = context["dag"]
        window = next_interval(dag.schedule, run.data_interval_end)
        if window is None:
            log.info("the DAG has no recurring schedule: allowing execution to proceed")
            return downstream
        left, right = window
        now = datetime.now(UTC)
        log.info("checking latest only: left window %s, right window %s, now %s", left, right, now)
        if not left < now <= right:
            log.info("not the latest run: skipping the downstream tasks")
            return []
        log.info("latest run: allowing execution to proceed")
        return downstream


__all__ = ["TRIGGERED_RUN_TYPES", "LatestOnlyOperator", "next_interval"]
