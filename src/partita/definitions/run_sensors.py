"""Ready-made sensors: ``@run_status_sensor``, ``@run_failure_sensor``, ``@asset_sensor``.

A run status sensor reacts to runs of other DAGs ending in one state: its
function is called once per such run, with a ``RunStatusSensorContext``
holding the run (``context.dag_run``), and may return ``RunRequest``\\ s for
its ``request_job``. An asset sensor reacts to new materializations of one
asset key: its function gets the context and the newest materialization.

The design decision: each is an ordinary ``SensorDefinition`` whose
evaluation function is built here and keeps its own cursor, so the scheduler
needs nothing special for them. A run status sensor's cursor is the
``(end_date, run_id)`` of the last run it saw (JSON); at its first
evaluation it starts from "now" and does not react to runs that ended
before it existed (as in Dagster). An asset sensor's cursor is the id of
the last materialization it reacted to; at its first evaluation the newest
existing materialization counts as new (as in Dagster).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from partita.definitions.asset_key import AssetKey, CoercibleToAssetKey, as_asset_key
from partita.definitions.schedules import RunRequest, ScheduleTarget, SkipReason
from partita.definitions.sensors import (
    DEFAULT_MINIMUM_INTERVAL_SECONDS,
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationContext,
    job_name_of,
    one_job,
)
from partita.definitions.states import RunState
from partita.exceptions import DefinitionError, SensorEvaluationError

#: The most ended runs one evaluation of a run status sensor looks at (the rest: next time).
RUNS_PER_EVALUATION = 100


class RunStatusSensorContext:
    """What a run status sensor's function gets: the run that ended, and the sensor's context."""

    def __init__(self, sensor_name: str, dag_run: Any, context: SensorEvaluationContext) -> None:
        self.sensor_name = sensor_name
        #: The run that ended (a ``DagRunRecord``: run_id, dag_id, state, conf, end_date...).
        self.dag_run = dag_run
        self.resources: Mapping[str, Any] = context.resources
        self.log: logging.Logger = context.log
        self.instance = context.instance


#: The context of a ``@run_failure_sensor``: the same, with a failed run.
RunFailureSensorContext = RunStatusSensorContext


def run_status_sensor(
    run_status: RunState | str,
    *,
    name: str | None = None,
    monitored_jobs: Iterable[ScheduleTarget] | None = None,
    request_job: ScheduleTarget | None = None,
    job: ScheduleTarget | None = None,
    minimum_interval_seconds: float = DEFAULT_MINIMUM_INTERVAL_SECONDS,
    description: str | None = None,
    default_status: DefaultSensorStatus | None = None,
) -> Callable[[Callable[..., Any]], SensorDefinition]:
    """A sensor called once per run (of ``monitored_jobs``, else any) ending in ``run_status``.

    The function takes a ``RunStatusSensorContext`` and may return a
    ``RunRequest`` (or several, or a ``SkipReason``, or nothing); requests run
    ``request_job`` (``job=`` is accepted as another name of it).
    """
    status = _check_run_status(name, run_status)
    target = one_job("@run_status_sensor", request_job=request_job, job=job)

    def decorate(function: Callable[..., Any]) -> SensorDefinition:
        sensor_name = name or function.__name__
        watched = _monitored(sensor_name, monitored_jobs)
        return SensorDefinition(
            name=sensor_name,
            evaluation_fn=_run_status_evaluation(sensor_name, function, status, watched),
            job=target,
            minimum_interval_seconds=minimum_interval_seconds,
            description=description or function.__doc__ or None,
            default_status=default_status,
            sensor_type="run_status",
        )

    return decorate


def run_failure_sensor(
    name: str | None = None,
    *,
    monitored_jobs: Iterable[ScheduleTarget] | None = None,
    request_job: ScheduleTarget | None = None,
    job: ScheduleTarget | None = None,
    minimum_interval_seconds: float = DEFAULT_MINIMUM_INTERVAL_SECONDS,
    description: str | None = None,
    default_status: DefaultSensorStatus | None = None,
) -> Callable[[Callable[..., Any]], SensorDefinition]:
    """A run status sensor for failed runs: ``@run_status_sensor(run_status=RunState.FAILED)``."""
    if callable(name):  # used bare: @run_failure_sensor
        return run_failure_sensor()(name)
    return run_status_sensor(
        RunState.FAILED,
        name=name,
        monitored_jobs=monitored_jobs,
        request_job=request_job,
        job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        description=description,
        default_status=default_status,
    )


def asset_sensor(
    asset_key: CoercibleToAssetKey,
    *,
    job: ScheduleTarget | None = None,
    target: ScheduleTarget | None = None,
    name: str | None = None,
    minimum_interval_seconds: float = DEFAULT_MINIMUM_INTERVAL_SECONDS,
    description: str | None = None,
    default_status: DefaultSensorStatus | None = None,
) -> Callable[[Callable[..., Any]], SensorDefinition]:
    """A sensor called when ``asset_key`` has a materialization it has not seen.

    The function takes the context and the newest materialization (an
    ``AssetMaterializationRecord``: run_id, timestamp, metadata...) and
    returns ``RunRequest``\\ s for ``job`` (or a ``SkipReason``, or nothing).
    """
    key = as_asset_key(asset_key, "@asset_sensor: asset_key")
    chosen = one_job("@asset_sensor", job=job, target=target)

    def decorate(function: Callable[..., Any]) -> SensorDefinition:
        sensor_name = name or function.__name__
        return SensorDefinition(
            name=sensor_name,
            evaluation_fn=_asset_evaluation(sensor_name, function, key),
            job=chosen,
            minimum_interval_seconds=minimum_interval_seconds,
            description=description or function.__doc__ or None,
            default_status=default_status,
            sensor_type="asset",
        )

    return decorate


# -- the evaluation functions -----------------------------------------------------------
def _run_status_evaluation(
    sensor_name: str, function: Callable[..., Any], status: RunState, watched: frozenset[str]
) -> Callable[[SensorEvaluationContext], list[Any]]:
    def evaluate(context: SensorEvaluationContext) -> list[Any]:
        reads = _reads(sensor_name, context)
        after = _load_run_cursor(sensor_name, context.cursor)
        if after is None:
            now = datetime.now(UTC)
            context.update_cursor(_dump_run_cursor((now, "")))
            return [SkipReason(f"first evaluation: watching runs that end from {now:%H:%M:%S}")]
        results: list[Any] = []
        seen = 0
        for run in reads.ended_runs(after, [str(status)], RUNS_PER_EVALUATION):
            context.update_cursor(_dump_run_cursor((run.end_date, run.run_id)))
            if watched and run.dag_id not in watched:
                continue
            seen += 1
            results.extend(_flatten(function(RunStatusSensorContext(sensor_name, run, context))))
        if not results:
            what = f"{seen} {status} run(s) needed nothing" if seen else f"no new {status} run"
            results.append(SkipReason(what))
        return results

    return evaluate


def _asset_evaluation(
    sensor_name: str, function: Callable[..., Any], key: AssetKey
) -> Callable[[SensorEvaluationContext], list[Any]]:
    def evaluate(context: SensorEvaluationContext) -> list[Any]:
        latest = _reads(sensor_name, context).latest_materialization(key)
        last_seen = _load_asset_cursor(sensor_name, context.cursor)
        if latest is None or (last_seen is not None and latest.id <= last_seen):
            return [SkipReason(f"no new materialization of {key.to_user_string()}")]
        context.update_cursor(str(latest.id))
        results = _flatten(function(context, latest))
        return results or [SkipReason(f"{key.to_user_string()} updated; nothing requested")]

    return evaluate


def _flatten(result: Any) -> list[Any]:
    if result is None:
        return []
    if isinstance(result, RunRequest | SkipReason):
        return [result]
    if isinstance(result, Iterable) and not isinstance(result, str | bytes | Mapping):
        return list(result)
    return [result]  # SensorDefinition.evaluate names what it is


def _reads(sensor_name: str, context: SensorEvaluationContext) -> Any:
    if context.instance is None:
        raise SensorEvaluationError(
            f"sensor {sensor_name!r} reads runs or assets, but its context has no instance; "
            "build it with build_sensor_context(instance=...)"
        )
    return context.instance


def _dump_run_cursor(after: tuple[datetime, str]) -> str:
    return json.dumps({"end_date": after[0].isoformat(), "run_id": after[1]})


def _load_run_cursor(sensor_name: str, cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    try:
        data = json.loads(cursor)
        return datetime.fromisoformat(data["end_date"]), str(data["run_id"])
    except (ValueError, KeyError, TypeError):
        raise SensorEvaluationError(
            f"run status sensor {sensor_name!r}: its cursor {cursor!r} is not one it wrote; "
            "clear it with 'partita sensors cursor NAME --delete'"
        ) from None


def _load_asset_cursor(sensor_name: str, cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        return int(cursor)
    except ValueError:
        raise SensorEvaluationError(
            f"asset sensor {sensor_name!r}: its cursor {cursor!r} is not a materialization id; "
            "clear it with 'partita sensors cursor NAME --delete'"
        ) from None


def _check_run_status(name: str | None, status: Any) -> RunState:
    try:
        state = RunState(str(status).lower())
    except ValueError:
        state = None
    if state is None or not state.finished:
        label = f"run status sensor {name!r}" if name else "@run_status_sensor"
        raise DefinitionError(
            f"{label}: run_status must be a state a run ends in (success, failed, "
            f"cancelled), got {status!r}"
        )
    return state


def _monitored(sensor_name: str, jobs: Iterable[ScheduleTarget] | None) -> frozenset[str]:
    if jobs is None:
        return frozenset()
    if isinstance(jobs, str):
        jobs = [jobs]
    return frozenset(job_name_of(sensor_name, job) for job in jobs)


__all__ = [
    "RUNS_PER_EVALUATION",
    "RunFailureSensorContext",
    "RunStatusSensorContext",
    "asset_sensor",
    "run_failure_sensor",
    "run_status_sensor",
]
