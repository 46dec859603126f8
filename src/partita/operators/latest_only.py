"""``LatestOnlyOperator``: skip the tasks downstream unless the run is for the latest interval.

As in Airflow 3: a run is the latest when "now" falls in the window from the
start of its data interval to the end of the data interval of the run the
DAG's timetable schedules after it (``left < now <= right``), that is, when
no later scheduled run is due yet. Otherwise the tasks directly downstream
are skipped and the rest follow their trigger rules. Runs that a person
started (``manual``, and ``test`` from ``dag.test()``) are never skipped, nor
are runs of a DAG whose timetable schedules nothing after them (``None``,
``@once``).

The design decision: the window comes from ``dag.timetable.next_dagrun_info``,
the one owner of a schedule's interval math (definitions/timetables.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from partita.definitions.context import Context
from partita.definitions.timetables import DagRunInfo, TimeRestriction, Timetable
from partita.operators.branch import BaseBranchOperator, BranchChoice

#: Run types started by a person; like Airflow's externally triggered runs, never skipped.
TRIGGERED_RUN_TYPES = frozenset({"manual", "test"})
_JUST_BEFORE = timedelta(microseconds=1)


def latest_window(
    timetable: Timetable, start: datetime, end: datetime
) -> tuple[datetime, datetime] | None:
    """When the run of data interval ``[start, end]`` is the latest; None if no run follows it."""
    current = DagRunInfo.interval(start, end)
    before = timetable.next_dagrun_info(
        current, TimeRestriction(earliest=None, latest=end - _JUST_BEFORE, catchup=True)
    )
    following = timetable.next_dagrun_info(
        current, TimeRestriction(earliest=end, latest=None, catchup=True)
    )
    if following is None:
        return None
    left = before.data_interval_end if before is not None else start
    return left, following.data_interval_end


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
        timetable = context["dag"].timetable
        window = latest_window(timetable, run.data_interval_start, run.data_interval_end)
        if window is None:
            log.info("no run is scheduled after this one: allowing execution to proceed")
            return downstream
        left, right = window
        now = datetime.now(UTC)
        log.info("checking latest only: left window %s, right window %s, now %s", left, right, now)
        if not left < now <= right:
            log.info("not the latest run: skipping the downstream tasks")
            return []
        log.info("latest run: allowing execution to proceed")
        return downstream


__all__ = ["TRIGGERED_RUN_TYPES", "LatestOnlyOperator", "latest_window"]
