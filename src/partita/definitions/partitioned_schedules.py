"""Schedules that run partitions: ``build_schedule_from_partitioned_job`` and ``@daily_schedule``.

``build_schedule_from_partitioned_job(job)`` ticks on the cron string of the
job's time-window partitions (in their zone) and asks, at each tick, for the
partition that has just ended: a daily job gets a run for yesterday shortly
after midnight. The older ``@daily_schedule(pipeline_name=..., start_date=...,
execution_time=..., execution_timezone=...)`` of Dagster 0.11 (seed 000)
ticks every day at ``execution_time`` and calls the function with the start
of the day before (``partition_days_offset=1``) to get the run config.

The design decision: both are plain ``ScheduleDefinition``\\ s whose function
returns a ``RunRequest`` with ``run_key`` and ``partition_key`` both the
partition's key, so the scheduler needs nothing new, a tick evaluated twice
makes one run, and the run carries its partition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from partita.definitions.asset_job import UnresolvedAssetJob
from partita.definitions.config import TASKS_KEY
from partita.definitions.dag import DAG
from partita.definitions.partitions import PartitionsDefinition
from partita.definitions.schedules import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
)
from partita.definitions.time_partitions import (
    DailyPartitionsDefinition,
    TimeWindowPartitionsDefinition,
)
from partita.exceptions import DefinitionError

#: The tag a partitioned schedule's runs carry (Dagster's ``dagster/partition``).
PARTITION_TAG = "partita/partition"


def _partitions_of(job: Any) -> PartitionsDefinition | None:
    if isinstance(job, DAG | UnresolvedAssetJob):
        return job.partitions_def
    return None


def _cron_with(
    cron: str,
    minute_of_hour: int | None,
    hour_of_day: int | None,
    day_of_week: int | None,
    day_of_month: int | None,
) -> str:
    minute, hour, dom, month, dow = cron.split()
    if minute_of_hour is not None:
        minute = str(minute_of_hour)
    if hour_of_day is not None:
        hour = str(hour_of_day)
    if day_of_week is not None:
        dow = str(day_of_week)
    if day_of_month is not None:
        dom = str(day_of_month)
    return f"{minute} {hour} {dom} {month} {dow}"


def build_schedule_from_partitioned_job(
    job: DAG | UnresolvedAssetJob,
    description: str | None = None,
    name: str | None = None,
    minute_of_hour: int | None = None,
    hour_of_day: int | None = None,
    day_of_week: int | None = None,
    day_of_month: int | None = None,
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
) -> ScheduleDefinition:
    """A schedule requesting the latest partition of ``job`` at each tick.

    ``job`` is a DAG or a ``define_asset_job`` with a time-window
    ``partitions_def`` given. The schedule ticks on the partitions' cron string
    (``minute_of_hour`` ... ``day_of_month`` move the tick, e.g. to 01:30) in
    their zone.
    """
    partitions = _partitions_of(job)
    label = getattr(job, "dag_id", None) or getattr(job, "name", repr(job))
    if partitions is None:
        raise DefinitionError(
            f"build_schedule_from_partitioned_job: job {label!r} has no partitions_def; give "
            "the DAG partitions_def=... (or define_asset_job(..., partitions_def=...))"
        )
    if not isinstance(partitions, TimeWindowPartitionsDefinition):
        raise DefinitionError(
            f"build_schedule_from_partitioned_job: job {label!r} has {partitions!r}, which has "
            "no time windows to follow; write a @schedule that returns "
            "RunRequest(partition_key=...) for the keys it wants"
        )
    cron = _cron_with(
        partitions.cron_schedule, minute_of_hour, hour_of_day, day_of_week, day_of_month
    )

    def latest_partition(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        when = context.scheduled_execution_time or datetime.now(UTC)
        key = partitions.get_last_partition_key(current_time=when)
        if key is None:
            return SkipReason(f"no partition of {partitions!r} has ended by {when.isoformat()}")
        return RunRequest(run_key=key, partition_key=key, tags={PARTITION_TAG: key})

    return ScheduleDefinition(
        name=name, cron_schedule=cron, job=job, execution_timezone=partitions.timezone,
        tags=tags, description=description, default_status=default_status,
        execution_fn=latest_partition,
    )  # fmt: skip


def _legacy_run_config(config: Any) -> Any:
    """Dagster 0.11 run config, ``{"solids": {...}}``, with partita's key ``tasks``."""
    if isinstance(config, Mapping) and TASKS_KEY not in config:
        for old in ("solids", "ops"):
            if isinstance(config.get(old), Mapping):
                rest = {k: v for k, v in config.items() if k != old}
                return {TASKS_KEY: config[old], **rest}
    return config


def _day_before(
    days: DailyPartitionsDefinition, offset: int, function: Callable[[datetime], Any]
) -> Callable[[ScheduleEvaluationContext], RunRequest | SkipReason]:
    """The tick function: the run config ``function`` gives for the day ``offset`` days back."""

    def for_the_day(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        when = context.scheduled_execution_time or datetime.now(UTC)
        day = when.astimezone(days.zone).date() - timedelta(days=offset)
        key = day.strftime(days.fmt)
        if not days.has_partition_key(key, current_time=when):
            return SkipReason(f"day {key} is outside {days!r}")
        window = days.time_window_for_partition_key(key)
        config = _legacy_run_config(function(window.start))
        return RunRequest(
            run_key=key, run_config=config, partition_key=key, tags={PARTITION_TAG: key}
        )

    return for_the_day


def daily_schedule(
    pipeline_name: str,
    start_date: datetime | date,
    name: str | None = None,
    execution_time: time = time(0, 0),
    end_date: datetime | date | None = None,
    execution_timezone: str | tzinfo | None = None,
    partition_days_offset: int = 1,
    description: str | None = None,
    should_execute: Callable[[ScheduleEvaluationContext], bool] | None = None,
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.RUNNING,
) -> Callable[[Callable[[datetime], Any]], ScheduleDefinition]:
    """Dagster 0.11's daily partitioned schedule: ``fn(date) -> run config`` once a day.

    It ticks at ``execution_time`` in ``execution_timezone`` (UTC by default)
    and calls the function with the start of the day ``partition_days_offset``
    days before the tick (yesterday), from ``start_date`` on. Unlike
    ``ScheduleDefinition`` it runs as soon as it is loaded (the old API had no
    stopped state); pass ``default_status=DefaultScheduleStatus.STOPPED`` to wait.
    The function's run config may use the old key ``solids`` for ``tasks``.
    """
    if not isinstance(execution_time, time):
        raise DefinitionError(
            f"@daily_schedule: execution_time must be a datetime.time, got {execution_time!r}"
        )
    if not isinstance(partition_days_offset, int) or partition_days_offset < 0:
        raise DefinitionError(
            "@daily_schedule: partition_days_offset must be a whole number of days >= 0, got "
            f"{partition_days_offset!r}"
        )
    days = DailyPartitionsDefinition(
        start_date, end_date=end_date, timezone=execution_timezone, end_offset=1
    )

    def decorate(function: Callable[[datetime], Any]) -> ScheduleDefinition:
        if not callable(function):
            raise DefinitionError(f"@daily_schedule decorates a function, got {function!r}")
        for_the_day = _day_before(days, partition_days_offset, function)
        return ScheduleDefinition(
            name=name or function.__name__,
            cron_schedule=f"{execution_time.minute} {execution_time.hour} * * *",
            job=pipeline_name, execution_timezone=days.timezone,
            should_execute=should_execute,
            description=description or (function.__doc__ or "").strip() or None,
            default_status=default_status, execution_fn=for_the_day,
        )  # fmt: skip

    return decorate


__all__ = [
    "PARTITION_TAG",
    "build_schedule_from_partitioned_job",
    "daily_schedule",
]
