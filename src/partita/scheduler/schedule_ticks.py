"""``ScheduleDefinitionTicker``: ticks the Dagster-style schedules of the loaded code locations.

A schedule whose ``default_status`` is ``RUNNING`` ticks at each fire time of
its cron string (in its ``execution_timezone``) from the time the scheduler
first sees it; each tick calls ``evaluate_tick`` and queues one run of the
schedule's job per ``RunRequest`` (its run config as the run's conf), or
logs the ``SkipReason`` or the ``ScheduleEvaluationError``.

The design decision: a tick's run id is derived from the schedule, the fire
time and the request's ``run_key`` (``schedule_run_id``) and queued with
"insert unless present", so a tick evaluated twice (a restart within the
same minute, two schedulers) queues each run once. Ticks missed while no
scheduler ran are not made up, as in Dagster.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from partita.definitions.dag import DAG
from partita.definitions.schedules import (
    RunRequest,
    ScheduleDefinition,
    SkipReason,
    build_schedule_context,
)
from partita.definitions.states import RunState
from partita.definitions.timetable_base import DagRunInfo, TimeRestriction
from partita.exceptions import ScheduleEvaluationError
from partita.storage.base import Storage
from partita.storage.records import DagRunRecord

logger = logging.getLogger("partita.scheduler")


def schedule_run_id(schedule: str, fire_time: datetime, run_key: str | None) -> str:
    """``scheduled__<fire time>__<6 hex digits of the schedule and run key>``."""
    digest = hashlib.sha1(f"{schedule}\0{run_key or ''}".encode()).hexdigest()[:6]
    return f"scheduled__{fire_time.isoformat()}__{digest}"


class ScheduleDefinitionTicker:
    """Queues the runs the running schedules ask for at their fire times."""

    def __init__(
        self,
        storage: Storage,
        schedules: Callable[[], Mapping[str, ScheduleDefinition]],
        get_dag: Callable[[str], DAG | None],
    ) -> None:
        self.storage = storage
        self.schedules = schedules
        self.get_dag = get_dag
        self._next: dict[str, DagRunInfo | None] = {}

    def run_once(self, now: datetime) -> dict[str, int]:
        """Evaluate every tick due by ``now``; return the runs queued per schedule."""
        queued: dict[str, int] = {}
        for name, schedule in self.schedules().items():
            if not schedule.is_running_by_default:
                continue
            if name not in self._next:  # first seen: its next fire time from now on
                restriction = TimeRestriction(now, None, True)
                self._next[name] = schedule.timetable.next_dagrun_info(None, restriction)
            tick = self._next[name]
            while tick is not None and tick.run_after <= now:
                queued[name] = queued.get(name, 0) + self._tick(schedule, tick.logical_date, now)
                restriction = TimeRestriction(None, None, True)
                tick = self._next[name] = schedule.timetable.next_dagrun_info(tick, restriction)
        return queued

    def next_tick(self) -> datetime | None:
        """The soonest fire time of the schedules seen so far (None: none)."""
        ticks = [tick.run_after for tick in self._next.values() if tick is not None]
        return min(ticks, default=None)

    def _tick(self, schedule: ScheduleDefinition, fire_time: datetime, now: datetime) -> int:
        dag = self.get_dag(schedule.job_name)
        if dag is None:
            logger.warning(
                "schedule %s: its job %r is not loaded; tick %s skipped",
                schedule.name, schedule.job_name, fire_time,
            )  # fmt: skip
            return 0
        try:
            result = schedule.evaluate_tick(build_schedule_context(fire_time))
        except ScheduleEvaluationError as exc:
            logger.warning("%s (tick %s skipped)", exc, fire_time)
            return 0
        if isinstance(result, SkipReason):
            logger.info("schedule %s skipped tick %s: %s", schedule.name, fire_time,
                        result.skip_message)  # fmt: skip
            return 0
        runs = [self._run(schedule, dag, fire_time, request, now) for request in result]
        return len(self.storage.queue.enqueue(runs))

    @staticmethod
    def _run(
        schedule: ScheduleDefinition,
        dag: DAG,
        fire_time: datetime,
        request: RunRequest,
        now: datetime,
    ) -> DagRunRecord:
        start, end = dag.timetable.infer_manual_data_interval(fire_time)
        return DagRunRecord(
            run_id=schedule_run_id(schedule.name, fire_time, request.run_key),
            dag_id=dag.dag_id,
            dag_version="",
            state=RunState.QUEUED,
            run_type="scheduled",
            logical_date=fire_time,
            data_interval_start=start,
            data_interval_end=end,
            conf=dict(request.run_config),
            queued_at=now,
        )


__all__ = ["ScheduleDefinitionTicker", "schedule_run_id"]
