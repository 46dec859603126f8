"""Dagster-style sensors: ``@sensor``, ``SensorDefinition``, ``SensorEvaluationContext``.

A sensor is a function the scheduler calls every ``minimum_interval_seconds``
(30 by default, as in Dagster). It returns or yields ``RunRequest``\\ s (the
same class schedules use) or a ``SkipReason``, and may keep a string
``cursor`` between calls with ``context.update_cursor``. A sensor is
running as soon as it is loaded unless ``default_status=STOPPED`` says
otherwise (or ``sensors_default_status: stopped`` in ``partita.yaml``, for
sensors that leave ``default_status`` unset).

The design decision: ``SensorDefinition.evaluate`` is the one place that
turns whatever the user function did into a ``SensorEvaluation`` (the runs to
request or a skip reason, and the cursor to keep), raising
``SensorEvaluationError`` with a message naming what it got when the function
raises or returns anything else. The scheduler, ``partita sensors preview``
and unit tests all call it, so they agree on what a sensor means; nothing
here touches storage: what a sensor may read (runs that ended, asset
materializations) comes through ``context.instance``, a small read-only
interface the scheduler provides.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol

from partita.definitions.asset_key import AssetKey
from partita.definitions.ids import check_not_reserved
from partita.definitions.schedules import (
    RunRequest,
    ScheduleTarget,
    SkipReason,
    describe_value,
    takes_context,
)
from partita.definitions.sensor_result import DynamicPartitionsRequest, SensorResult
from partita.exceptions import DefinitionError, SensorEvaluationError

#: Dagster's default: a sensor is evaluated at most every 30 seconds.
DEFAULT_MINIMUM_INTERVAL_SECONDS = 30

_LOGGER = logging.getLogger("partita.sensors")


class DefaultSensorStatus(StrEnum):
    """Whether a sensor is evaluated once loaded (``RUNNING``) or waits to be started."""

    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


class SensorReads(Protocol):
    """What a sensor may read from the metadata database (the scheduler provides it).

    Records are those of ``partita.storage.records`` (typed ``Any`` here:
    definitions do not import storage).
    """

    def ended_runs(
        self, after: tuple[datetime, str] | None, states: Sequence[str], limit: int
    ) -> list[Any]:
        """Runs that ended in one of ``states`` after ``(end_date, run_id)``, oldest first."""
        ...

    def latest_materialization(self, asset_key: AssetKey) -> Any | None:
        """The newest materialization of ``asset_key`` (with its ``id``), or None."""
        ...


class SensorEvaluationContext:
    """What a sensor's function gets: its cursor (read and update), a logger, resources.

    ``instance`` reads runs and asset materializations (``SensorReads``); it is
    None in a context built by hand unless one is given.
    """

    def __init__(
        self,
        *,
        cursor: str | None = None,
        sensor_name: str | None = None,
        resources: Mapping[str, Any] | None = None,
        instance: SensorReads | None = None,
        last_tick_at: datetime | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self._cursor = _check_cursor(sensor_name, cursor)
        self.sensor_name = sensor_name
        self.resources: Mapping[str, Any] = MappingProxyType(dict(resources or {}))
        self.instance = instance
        #: When the sensor's previous tick was recorded (None before its first).
        self.last_tick_at = last_tick_at
        self.log = log or _LOGGER

    @property
    def cursor(self) -> str | None:
        """The cursor the previous evaluation left (None at first), or the one just set."""
        return self._cursor

    def update_cursor(self, cursor: str | None) -> None:
        """Keep ``cursor`` (a string, or None to clear it) for the sensor's next evaluation."""
        self._cursor = _check_cursor(self.sensor_name, cursor)


def build_sensor_context(
    cursor: str | None = None,
    *,
    sensor_name: str | None = None,
    resources: Mapping[str, Any] | None = None,
    instance: SensorReads | None = None,
    last_tick_at: datetime | None = None,
    log: logging.Logger | None = None,
) -> SensorEvaluationContext:
    """A context for calling a sensor directly in a unit test."""
    return SensorEvaluationContext(
        cursor=cursor,
        sensor_name=sensor_name,
        resources=resources,
        instance=instance,
        last_tick_at=last_tick_at,
        log=log,
    )


@dataclass(frozen=True)
class SensorEvaluation:
    """What one evaluation came to: the runs to request (or why none), and the cursor to keep."""

    result: list[RunRequest] | SkipReason
    cursor: str | None = None
    #: Keys to add to or delete from dynamic partitions definitions, before the runs.
    dynamic_partitions_requests: tuple[DynamicPartitionsRequest, ...] = ()

    @property
    def run_requests(self) -> list[RunRequest]:
        return [] if isinstance(self.result, SkipReason) else list(self.result)

    @property
    def skip_message(self) -> str | None:
        return self.result.skip_message if isinstance(self.result, SkipReason) else None


#: A sensor's body: context -> RunRequest(s), SkipReason, None, or a generator of them.
SensorFunction = Callable[..., Any]


@dataclass
class SensorDefinition:
    """A sensor: a name, the job its run requests run, how often, and its function.

    ``job`` (or ``target``) may be left out when the sensor requests no runs
    (it then only logs or skips); a run request from such a sensor fails its tick.
    """

    name: str
    evaluation_fn: SensorFunction
    job: ScheduleTarget | None = None
    minimum_interval_seconds: float = DEFAULT_MINIMUM_INTERVAL_SECONDS
    description: str | None = None
    #: None: running unless ``partita.yaml`` sets ``sensors_default_status: stopped``.
    default_status: DefaultSensorStatus | None = None
    #: What kind of sensor this is, for listings: ``sensor``, ``run_status``, ``asset``.
    sensor_type: str = "sensor"
    _takes_context: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise DefinitionError(f"a sensor's name must be a non-empty string, got {self.name!r}")
        check_not_reserved(self.name, "sensor name")
        if not callable(self.evaluation_fn):
            raise DefinitionError(f"sensor {self.name!r}: its function must be callable")
        self.minimum_interval_seconds = _check_interval(self.name, self.minimum_interval_seconds)
        self.default_status = _check_status(self.name, self.default_status)
        self._takes_context = takes_context(self.evaluation_fn)

    @property
    def job_name(self) -> str | None:
        """The name of the job run requests run (None when the sensor has no job)."""
        return None if self.job is None else job_name_of(self.name, self.job)

    def is_running_by_default(self, stopped_unless_said: bool = False) -> bool:
        """Whether the sensor runs before anyone starts or stops it.

        ``stopped_unless_said`` is ``sensors_default_status: stopped`` from partita.yaml.
        """
        if self.default_status is None:
            return not stopped_unless_said
        return self.default_status is DefaultSensorStatus.RUNNING

    def evaluate(self, context: SensorEvaluationContext) -> SensorEvaluation:
        """Call the sensor once; the run requests (or a skip reason) and the cursor to keep.

        Raises ``SensorEvaluationError`` when the function raises, or returns or
        yields anything but ``RunRequest``, ``SkipReason`` or None.
        """
        cursor_before = context.cursor
        try:
            raw = self.evaluation_fn(context) if self._takes_context else self.evaluation_fn()
            items = _as_items(raw)
        except SensorEvaluationError:
            raise
        except Exception as exc:
            raise SensorEvaluationError(
                f"sensor {self.name!r} raised {type(exc).__name__}: {exc}"
            ) from exc
        if isinstance(raw, SensorResult):
            return self._from_result(raw, context, cursor_before)
        if any(isinstance(item, SensorResult) for item in items):
            raise SensorEvaluationError(
                f"sensor {self.name!r} yielded a SensorResult among other values; return one "
                "SensorResult holding everything (run_requests=[...]), or yield RunRequests"
            )
        return SensorEvaluation(self._normalize(items), context.cursor)

    def _from_result(
        self, result: SensorResult, context: SensorEvaluationContext, cursor_before: str | None
    ) -> SensorEvaluation:
        cursor = context.cursor
        if result.cursor is not None:
            if cursor != cursor_before:
                raise SensorEvaluationError(
                    f"sensor {self.name!r} both called context.update_cursor and returned "
                    "SensorResult(cursor=...); set the cursor one way only"
                )
            cursor = result.cursor
        if result.run_requests:
            normalized = self._normalize(list(result.run_requests))
        else:
            normalized = SkipReason(result.skip_reason)
        return SensorEvaluation(normalized, cursor, tuple(result.dynamic_partitions_requests))

    def _normalize(self, items: list[Any]) -> list[RunRequest] | SkipReason:
        requests: list[RunRequest] = []
        skips: list[SkipReason] = []
        for item in items:
            if isinstance(item, RunRequest):
                requests.append(item)
            elif isinstance(item, SkipReason):
                skips.append(item)
            elif item is not None:
                raise SensorEvaluationError(
                    f"sensor {self.name!r} returned {describe_value(item)}; return or yield "
                    "RunRequest(...) objects, or a SkipReason(...), or nothing (or return one "
                    "SensorResult)"
                )
        if requests and self.job is None:
            raise SensorEvaluationError(
                f"sensor {self.name!r} asked for {len(requests)} run(s) but has no job; "
                "give @sensor(job=...) the DAG or job to run"
            )
        if requests:
            return requests
        if skips:
            return SkipReason("; ".join(s.skip_message or "skipped" for s in skips))
        return SkipReason(None)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the sensor's function directly, as a unit test does (Dagster's way)."""
        return self.evaluation_fn(*args, **kwargs)


def sensor(
    job: ScheduleTarget | None = None,
    *,
    target: ScheduleTarget | None = None,
    name: str | None = None,
    minimum_interval_seconds: float = DEFAULT_MINIMUM_INTERVAL_SECONDS,
    description: str | None = None,
    default_status: DefaultSensorStatus | None = None,
    job_name: str | None = None,
) -> Callable[[SensorFunction], SensorDefinition]:
    """Make a function into a ``SensorDefinition`` named after it.

    The function takes a ``SensorEvaluationContext`` (or nothing) and returns
    or yields ``RunRequest``\\ s, a ``SkipReason``, or nothing. ``job`` (or
    ``target``, or ``job_name``) is the DAG, asset job or job name the
    requests run.
    """
    if inspect.isfunction(job):
        raise DefinitionError(
            f"@sensor needs its arguments: write @sensor(job=...) above {job.__name__!r}, "
            "not a bare @sensor"
        )
    chosen = one_job("@sensor", job=job, target=target, job_name=job_name)

    def decorate(function: SensorFunction) -> SensorDefinition:
        if not callable(function):
            raise DefinitionError(f"@sensor decorates a function, got {function!r}")
        return SensorDefinition(
            name=name or function.__name__,
            evaluation_fn=function,
            job=chosen,
            minimum_interval_seconds=minimum_interval_seconds,
            description=description or inspect.getdoc(function) or None,
            default_status=default_status,
        )

    return decorate


def one_job(label: str, **given: ScheduleTarget | None) -> ScheduleTarget | None:
    """The one job among ``given`` (job=, target=, job_name=...); an error when several."""
    chosen = {key: value for key, value in given.items() if value is not None}
    if len(chosen) > 1:
        raise DefinitionError(
            f"{label}: give one of {', '.join(f'{k}=' for k in chosen)}, not several "
            "(they name the same thing)"
        )
    return next(iter(chosen.values()), None)


def job_name_of(sensor_name: str, job: Any) -> str:
    """The name of ``job`` (a DAG, ``@dag`` function, asset job, or a name)."""
    from_dag = getattr(job, "dag_id", None)
    if isinstance(from_dag, str):
        return from_dag
    kwargs = getattr(job, "dag_kwargs", None)
    if isinstance(kwargs, dict):
        return str(kwargs.get("dag_id") or job.function.__name__)
    name = getattr(job, "name", None)
    if isinstance(name, str) and name:
        return name
    if isinstance(job, str) and job:
        return job
    raise DefinitionError(
        f"sensor {sensor_name!r}: job must be a DAG, a @dag function, a define_asset_job(...) "
        f"job or a job name, got {job!r}"
    )


def _as_items(raw: Any) -> list[Any]:
    if isinstance(raw, list | tuple | Iterator) or inspect.isgenerator(raw):
        return list(raw)
    return [raw]


def _check_cursor(name: str | None, cursor: Any) -> str | None:
    if cursor is None or isinstance(cursor, str):
        return cursor
    label = f"sensor {name!r}" if name else "a sensor"
    raise SensorEvaluationError(
        f"{label}: a cursor must be a string (or None), got {describe_value(cursor)}; "
        "serialize it, e.g. with json.dumps"
    )


def _check_interval(name: str, seconds: Any) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
        raise DefinitionError(
            f"sensor {name!r}: minimum_interval_seconds must be a number of seconds > 0, "
            f"got {seconds!r}"
        )
    return float(seconds)


def _check_status(name: str, status: Any) -> DefaultSensorStatus | None:
    if status is None:
        return None
    try:
        return DefaultSensorStatus(status)
    except ValueError:
        raise DefinitionError(
            f"sensor {name!r}: default_status must be DefaultSensorStatus.RUNNING or STOPPED, "
            f"got {status!r}"
        ) from None


__all__ = [
    "DEFAULT_MINIMUM_INTERVAL_SECONDS",
    "DefaultSensorStatus",
    "SensorDefinition",
    "SensorEvaluation",
    "SensorEvaluationContext",
    "SensorReads",
    "build_sensor_context",
    "job_name_of",
    "one_job",
    "sensor",
]
