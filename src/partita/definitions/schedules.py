"""Dagster-style schedules: ``ScheduleDefinition``, ``@schedule``, ``RunRequest``, ``SkipReason``.

A schedule names a job (a DAG or an asset job), a cron string and a zone,
and says what run config each tick gets: a fixed ``run_config``, a
``run_config_fn``, or a decorated function that may also return
``RunRequest``\\ s (several runs per tick, each with its own run key) or a
``SkipReason``. The semantics are Dagster's: a decorated function gets a
``ScheduleEvaluationContext`` when it takes a parameter; ``should_execute``
returning False skips the tick; ``default_status`` is ``STOPPED`` unless
``RUNNING`` is asked for; ``execution_timezone`` defaults to UTC.

The design decision: a schedule is pure data plus user functions. Its
``timetable`` is the same ``CronTriggerTimetable`` a DAG with a cron
``schedule=`` has, so the scheduler finds the next tick of both alike; and
``evaluate_tick`` is the one place that turns whatever the user function
returned into a list of ``RunRequest``\\ s or a ``SkipReason`` (refusing
anything else with a message naming what it got), so the scheduler never
inspects user return values itself.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from partita.definitions.asset_job import UnresolvedAssetJob
from partita.definitions.config import RunConfig
from partita.definitions.cron import CronError, normalize_cron
from partita.definitions.dag import DAG, DagFactory
from partita.definitions.ids import check_not_reserved
from partita.definitions.timetables import CronTriggerTimetable
from partita.definitions.timezones import TimezoneError, parse_timezone, timezone_name
from partita.exceptions import DefinitionError, ScheduleEvaluationError

#: What ``job=`` may be: a DAG, a ``@dag`` function, an asset job, or a job's name.
ScheduleTarget = DAG | DagFactory | UnresolvedAssetJob | str

_LOGGER = logging.getLogger("partita.schedules")


class DefaultScheduleStatus(StrEnum):
    """Whether a schedule runs as soon as it is loaded (``RUNNING``) or waits to be started."""

    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


@dataclass(frozen=True)
class RunRequest:
    """One run a schedule (or sensor) asks for.

    ``run_key`` makes the request idempotent: a second request with the same
    key for the same schedule creates no second run.
    """

    run_key: str | None = None
    run_config: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    partition_key: str | None = None

    def __post_init__(self) -> None:
        config: Any = self.run_config
        if isinstance(config, RunConfig):
            config = config.to_dict()
        if config is None:
            config = {}
        if not isinstance(config, Mapping):
            raise DefinitionError(
                f"RunRequest: run_config must be a dict or a RunConfig, got {type(config).__name__}"
            )
        object.__setattr__(self, "run_config", dict(config))
        tags = dict(self.tags or {})
        bad = [k for k, v in tags.items() if not isinstance(k, str) or not isinstance(v, str)]
        if bad:
            raise DefinitionError(f"RunRequest: tags must map strings to strings; fix {bad!r}")
        object.__setattr__(self, "tags", tags)
        if self.run_key is not None and not isinstance(self.run_key, str):
            raise DefinitionError(f"RunRequest: run_key must be a string, got {self.run_key!r}")


@dataclass(frozen=True)
class SkipReason:
    """A tick that asks for no run, and why (shown in the schedule's tick history)."""

    skip_message: str | None = None


@dataclass(frozen=True)
class ScheduleEvaluationContext:
    """What a schedule's function gets: the tick's time, a logger, and resources."""

    #: The fire time being evaluated, aware, in the schedule's zone (None when built by hand).
    scheduled_execution_time: datetime | None
    resources: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    log: logging.Logger = _LOGGER


def build_schedule_context(
    scheduled_execution_time: datetime | None = None,
    *,
    resources: Mapping[str, Any] | None = None,
    log: logging.Logger | None = None,
) -> ScheduleEvaluationContext:
    """A context for calling a schedule in a unit test; a naive time is read as UTC."""
    when = scheduled_execution_time
    if when is not None and (when.tzinfo is None or when.utcoffset() is None):
        when = when.replace(tzinfo=UTC)
    return ScheduleEvaluationContext(
        scheduled_execution_time=when,
        resources=MappingProxyType(dict(resources or {})),
        log=log or _LOGGER,
    )


def plain_run_config(config: Any) -> dict[str, Any]:
    """``config`` (a dict, a ``RunConfig`` or None) as a plain dict; anything else refused."""
    if isinstance(config, RunConfig):
        return config.to_dict()
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise DefinitionError(
            f"run_config must be a dict or a RunConfig, got {type(config).__name__}"
        )
    return dict(config)


#: What a tick comes to: the runs to create (maybe none), or why there are none.
TickResult = list[RunRequest] | SkipReason
_EvaluationFn = Callable[[ScheduleEvaluationContext], Any]


class ScheduleDefinition:
    """A cron schedule for a job: what runs, when, in which zone, with which run config.

    Give ``run_config`` (a dict or ``RunConfig``) or ``run_config_fn``
    (context -> run config), not both. ``target`` is accepted as another name
    of ``job``. ``should_execute`` (context -> bool) returning False skips the tick.
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        cron_schedule: str,
        job: ScheduleTarget | None = None,
        target: ScheduleTarget | None = None,
        execution_timezone: str | None = None,
        run_config: Mapping[str, Any] | RunConfig | None = None,
        run_config_fn: _EvaluationFn | None = None,
        tags: Mapping[str, str] | None = None,
        should_execute: Callable[[ScheduleEvaluationContext], bool] | None = None,
        description: str | None = None,
        default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
        execution_fn: _EvaluationFn | None = None,
    ) -> None:
        self.job: ScheduleTarget = _one_target(name, job, target)
        self.job_name = _target_name(name, self.job)
        self.name = name if name is not None else f"{self.job_name}_schedule"
        _check_name(self.name)
        self.cron_schedule = _check_cron(self.name, cron_schedule)
        self.execution_timezone = _check_zone(self.name, execution_timezone)
        if run_config is not None and (run_config_fn is not None or execution_fn is not None):
            raise DefinitionError(
                f"schedule {self.name!r}: give run_config or run_config_fn (or use @schedule), "
                "not both"
            )
        self.run_config = plain_run_config(run_config)
        self.run_config_fn = run_config_fn
        self.tags: dict[str, str] = dict(RunRequest(tags=tags or {}).tags)
        self.should_execute = should_execute
        self.description = description
        self.default_status = _check_status(self.name, default_status)
        self._execution_fn = execution_fn

    @property
    def timetable(self) -> CronTriggerTimetable:
        """When ticks happen: the timetable of a DAG with this cron ``schedule=`` and zone."""
        return CronTriggerTimetable(self.cron_schedule, timezone=self.execution_timezone)

    @property
    def is_running_by_default(self) -> bool:
        """True when the schedule ticks as soon as it is loaded (``default_status=RUNNING``)."""
        return self.default_status is DefaultScheduleStatus.RUNNING

    def evaluate_tick(self, context: ScheduleEvaluationContext) -> TickResult:
        """Run the schedule's functions for one tick; the runs to create, or a ``SkipReason``.

        Raises ``ScheduleEvaluationError`` when user code raises or returns
        something that is not a run config, ``RunRequest``\\ (s) or ``SkipReason``.
        """
        if self.should_execute is not None and not self._call(
            "should_execute", self.should_execute, context
        ):
            return SkipReason(f"should_execute of schedule {self.name!r} returned False")
        if self._execution_fn is not None:
            return self._normalize(self._call("function", self._execution_fn, context))
        config = self.run_config
        if self.run_config_fn is not None:
            config = self._call("run_config_fn", self.run_config_fn, context)
            if not isinstance(config, Mapping | RunConfig):
                raise ScheduleEvaluationError(
                    f"schedule {self.name!r}: run_config_fn returned {describe_value(config)}; "
                    "return a dict of run config"
                )
        return [self._with_tags(RunRequest(run_config=plain_run_config(config)))]

    def _call(
        self, what: str, function: Callable[..., Any], context: ScheduleEvaluationContext
    ) -> Any:
        try:
            return function(context) if takes_context(function) else function()
        except Exception as exc:
            raise ScheduleEvaluationError(
                f"schedule {self.name!r}: its {what} raised {type(exc).__name__}: {exc}"
            ) from exc

    def _normalize(self, result: Any) -> TickResult:
        if isinstance(result, SkipReason):
            return result
        if isinstance(result, RunRequest):
            return [self._with_tags(result)]
        if isinstance(result, Mapping | RunConfig):
            return [self._with_tags(RunRequest(run_config=plain_run_config(result)))]
        if isinstance(result, list | tuple | Iterator) or inspect.isgenerator(result):
            return self._normalize_many(_drain(self.name, result))
        raise ScheduleEvaluationError(
            f"schedule {self.name!r}: its function returned {describe_value(result)}; return a run "
            "config dict, a RunRequest, a list (or generator) of RunRequests, or a SkipReason"
        )

    def _normalize_many(self, items: list[Any]) -> TickResult:
        if len(items) == 1 and isinstance(items[0], SkipReason):
            return items[0]
        wrong = [item for item in items if not isinstance(item, RunRequest)]
        if wrong:
            raise ScheduleEvaluationError(
                f"schedule {self.name!r}: its function gave {describe_value(wrong[0])} among its "
                "run requests; give only RunRequests, or a single SkipReason"
            )
        return [self._with_tags(item) for item in items]

    def _with_tags(self, request: RunRequest) -> RunRequest:
        if not self.tags:
            return request
        return RunRequest(
            run_key=request.run_key,
            run_config=request.run_config,
            tags={**self.tags, **request.tags},
            partition_key=request.partition_key,
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the decorated function directly, as a unit test of a ``@schedule`` does."""
        if self._execution_fn is None:
            raise TypeError(f"schedule {self.name!r} was not made with @schedule; it has no body")
        return self._execution_fn(*args, **kwargs)

    def __repr__(self) -> str:
        return (
            f"ScheduleDefinition({self.name!r}, job={self.job_name!r}, "
            f"cron_schedule={self.cron_schedule!r}, execution_timezone={self.execution_timezone!r})"
        )


def schedule(
    cron_schedule: str,
    *,
    job: ScheduleTarget | None = None,
    target: ScheduleTarget | None = None,
    name: str | None = None,
    execution_timezone: str | None = None,
    tags: Mapping[str, str] | None = None,
    should_execute: Callable[[ScheduleEvaluationContext], bool] | None = None,
    description: str | None = None,
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
) -> Callable[[Callable[..., Any]], ScheduleDefinition]:
    """Make a function into a ``ScheduleDefinition`` named after it.

    The function takes a ``ScheduleEvaluationContext`` (or nothing) and
    returns a run config dict, a ``RunRequest``, a list or generator of
    ``RunRequest``\\ s, or a ``SkipReason``.
    """

    def decorate(function: Callable[..., Any]) -> ScheduleDefinition:
        if not callable(function):
            raise DefinitionError(f"@schedule decorates a function, got {function!r}")
        return ScheduleDefinition(
            name=name or function.__name__,
            cron_schedule=cron_schedule,
            job=job,
            target=target,
            execution_timezone=execution_timezone,
            tags=tags,
            should_execute=should_execute,
            description=description or (inspect.getdoc(function) or None),
            default_status=default_status,
            execution_fn=function,
        )

    return decorate


# -- validation at definition time ------------------------------------------------------
def _one_target(
    name: str | None, job: ScheduleTarget | None, target: ScheduleTarget | None
) -> ScheduleTarget:
    label = f"schedule {name!r}" if name else "ScheduleDefinition"
    if job is not None and target is not None:
        raise DefinitionError(f"{label}: give job or target (the same thing), not both")
    chosen = job if job is not None else target
    if chosen is None:
        raise DefinitionError(f"{label}: say what it runs with job=<a DAG, job or job name>")
    return chosen


def _target_name(name: str | None, job: Any) -> str:
    if isinstance(job, DAG):
        return job.dag_id
    if isinstance(job, DagFactory):
        return str(job.dag_kwargs.get("dag_id") or job.function.__name__)
    if isinstance(job, UnresolvedAssetJob):
        return job.name
    if isinstance(job, str) and job:
        return job
    label = f"schedule {name!r}" if name else "ScheduleDefinition"
    raise DefinitionError(
        f"{label}: job must be a DAG, a @dag function, a define_asset_job(...) job or a job "
        f"name, got {job!r}"
    )


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise DefinitionError(f"a schedule's name must be a non-empty string, got {name!r}")
    check_not_reserved(name, "schedule name")


def _check_cron(name: str, cron_schedule: Any) -> str:
    try:
        normalize_cron(cron_schedule)
    except CronError as exc:
        raise DefinitionError(f"schedule {name!r}: {exc}") from None
    return str(cron_schedule).strip()


def _check_zone(name: str, zone: Any) -> str:
    if zone is None:
        return "UTC"
    try:
        return timezone_name(parse_timezone(zone))
    except TimezoneError as exc:
        raise DefinitionError(f"schedule {name!r}: execution_timezone: {exc}") from None


def _check_status(name: str, status: Any) -> DefaultScheduleStatus:
    try:
        return DefaultScheduleStatus(status)
    except ValueError:
        raise DefinitionError(
            f"schedule {name!r}: default_status must be DefaultScheduleStatus.RUNNING or "
            f"STOPPED, got {status!r}"
        ) from None


# -- evaluation helpers -----------------------------------------------------------------
def takes_context(function: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature
        return True
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in parameters
    )


def _drain(name: str, items: Iterable[Any]) -> list[Any]:
    try:
        return list(items)
    except Exception as exc:
        raise ScheduleEvaluationError(
            f"schedule {name!r}: its function raised {type(exc).__name__}: {exc}"
        ) from exc


def describe_value(value: Any) -> str:
    if value is None:
        return "None"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"a {type(value).__name__} ({text})"


__all__ = [
    "DefaultScheduleStatus",
    "RunRequest",
    "ScheduleDefinition",
    "ScheduleEvaluationContext",
    "SkipReason",
    "TickResult",
    "build_schedule_context",
    "schedule",
]
