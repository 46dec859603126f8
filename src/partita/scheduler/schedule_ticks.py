"""``ScheduleDefinitionTicker``: ticks the Dagster-style schedules of the loaded code locations.

A running schedule ticks at each fire time of its cron string (in its
``execution_timezone``) from the time the scheduler first sees it; each tick
calls ``evaluate_tick`` and queues one run of the schedule's job per
``RunRequest`` (its run config as the run's conf). Running means: started
with ``partita schedules start`` or, when nobody started or stopped it,
``default_status=RUNNING``. Every tick is recorded in the instigator store
with its runs (requested), its ``SkipReason`` (skipped) or its error
(failed), in one transaction with the runs it queues.

The design decision: a tick's run id is derived from the schedule, the fire
time and the request's ``run_key`` (``schedule_run_id``) and queued with
"insert unless present", so a tick evaluated twice (a restart within the
same minute, two schedulers) queues each run once. Ticks missed while no
scheduler ran are not made up, as in Dagster.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from msgspec.structs import replace

from partita.definitions.dag import DAG
from partita.definitions.schedules import (
    RunRequest,
    ScheduleDefinition,
    SkipReason,
    build_schedule_context,
)
from partita.definitions.states import RunState
from partita.definitions.timetable_base import DagRunInfo, TimeRestriction
from partita.engine.prepare import check_partition_key
from partita.engine.secrets import use_store
from partita.exceptions import PartitaError, RunNotFoundError, ScheduleEvaluationError
from partita.masking import mask
from partita.storage.base import Storage
from partita.storage.instigators import InstigatorKind, InstigatorStatus, TickRecord, TickStatus
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
        use_store(storage)  # Variable / Connection.get in user code read this store
        self.get_dag = get_dag
        self._next: dict[str, DagRunInfo | None] = {}

    def run_once(self, now: datetime) -> dict[str, int]:
        """Evaluate every tick due by ``now``; return the runs queued per schedule."""
        queued: dict[str, int] = {}
        for name, schedule in self.schedules().items():
            if name not in self._next:  # first seen: its next fire time from now on
                restriction = TimeRestriction(now, None, True)
                self._next[name] = schedule.timetable.next_dagrun_info(None, restriction)
            tick = self._next[name]
            while tick is not None and tick.run_after <= now:
                if self._running(schedule):
                    count = self._tick(schedule, tick.logical_date, now)
                    queued[name] = queued.get(name, 0) + count
                restriction = TimeRestriction(None, None, True)
                tick = self._next[name] = schedule.timetable.next_dagrun_info(tick, restriction)
        return queued

    def _running(self, schedule: ScheduleDefinition) -> bool:
        state = self.storage.instigators.get_state(InstigatorKind.SCHEDULE, schedule.name)
        if state is None:
            return schedule.is_running_by_default
        return state.resolved_status(schedule.is_running_by_default) is InstigatorStatus.RUNNING

    def next_tick(self) -> datetime | None:
        """The soonest fire time of the schedules seen so far (None: none)."""
        ticks = [tick.run_after for tick in self._next.values() if tick is not None]
        return min(ticks, default=None)

    def _tick(self, schedule: ScheduleDefinition, fire_time: datetime, now: datetime) -> int:
        started = time.monotonic()
        tick = TickRecord(InstigatorKind.SCHEDULE, schedule.name, TickStatus.FAILED, fire_time)
        dag = self.get_dag(schedule.job_name)
        try:
            if dag is None:
                raise ScheduleEvaluationError(
                    f"schedule {schedule.name!r}: its job {schedule.job_name!r} is not loaded"
                )
            result = schedule.evaluate_tick(build_schedule_context(fire_time))
            if not isinstance(result, SkipReason):
                runs = [self._run(schedule, dag, fire_time, request, now) for request in result]
        except ScheduleEvaluationError as exc:
            error = mask(str(exc))  # a secret the schedule read never reaches a stored tick
            logger.warning("%s (tick %s failed)", error, fire_time)
            self._record(replace(tick, error=error), started)
            return 0
        if isinstance(result, SkipReason):
            logger.info("schedule %s skipped tick %s: %s", schedule.name, fire_time,
                        result.skip_message)  # fmt: skip
            reason = result.skip_message or "skipped"
            self._record(replace(tick, status=TickStatus.SKIPPED, skip_reason=reason), started)
            return 0
        known = {r.run_id for r in runs if self._exists(r.run_id)}
        new = [r for r in runs if r.run_id not in known]
        requested = replace(tick, status=TickStatus.REQUESTED, run_ids=[r.run_id for r in new])
        if not new:  # evaluated before (a restart within the minute, another scheduler)
            requested = replace(tick, status=TickStatus.SKIPPED, skip_reason="runs already queued")
        self._record(requested, started, new)
        return len(new)

    def _exists(self, run_id: str) -> bool:
        try:
            self.storage.runs.get_run(run_id)
        except RunNotFoundError:
            return False
        return True

    def _record(self, tick: TickRecord, started: float, runs: Sequence[DagRunRecord] = ()) -> None:
        self.storage.instigators.record_tick(
            replace(tick, duration=time.monotonic() - started), runs
        )

    def _run(
        self,
        schedule: ScheduleDefinition,
        dag: DAG,
        fire_time: datetime,
        request: RunRequest,
        now: datetime,
    ) -> DagRunRecord:
        start, end = dag.timetable.infer_manual_data_interval(fire_time)
        # A partition of a DAG that is not partitioned (a Dagster 0.11 partitioned schedule of
        # a plain job) lives in the run config the schedule made; the run gets no key.
        partition = request.partition_key if dag.partitions_def is not None else None
        if partition is not None:
            try:
                partition = check_partition_key(dag, partition, self.storage.partitions)
            except PartitaError as exc:
                raise ScheduleEvaluationError(f"schedule {schedule.name!r}: {exc}") from None
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
            partition_key=partition,
            tags=dict(request.tags),
        )


__all__ = ["ScheduleDefinitionTicker", "schedule_run_id"]
