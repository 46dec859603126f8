"""``ExternalTaskSensor``: waits for tasks (or the whole run) of another DAG at a logical date.

By default it looks at the other DAG's run with the same logical date;
``execution_delta`` looks that far back (``logical_date - delta``) and
``execution_date_fn(logical_date, **context)`` returns the date (or list of
dates) to look at. ``external_task_group_id`` watches every task of that task
group (Airflow's). It is done when every watched task (or run, without task
ids) is in ``allowed_states``; one in ``failed_states`` fails it (skips it,
with ``soft_fail``) and one in ``skipped_states`` skips it.

The design decision: the sensor never opens the metadata store; it asks its
task instance (``ti.get_task_states`` / ``ti.get_dagrun_states``), which
the engine answers from the run store, as Airflow 3's task SDK does. So the
sensor works the same in ``dag.test()``, in a worker process and under the
scheduler, and uses nothing but ``definitions``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from partita.definitions.context import Context
from partita.definitions.sensor_operator import BaseSensorOperator
from partita.definitions.states import RunState, TaskState
from partita.exceptions import DefinitionError, PartitaError, SkipTask

DateFn = Callable[..., datetime | Sequence[datetime]]


class ExternalTaskSensor(BaseSensorOperator):
    """Waits for ``external_task_id(s)`` of ``external_dag_id`` (or its run) to finish."""

    ui_color = "#4db7db"

    def __init__(
        self,
        *,
        external_dag_id: str,
        external_task_id: str | None = None,
        external_task_ids: Iterable[str] | None = None,
        external_task_group_id: str | None = None,
        allowed_states: Iterable[str] | None = None,
        skipped_states: Iterable[str] | None = None,
        failed_states: Iterable[str] | None = None,
        execution_delta: timedelta | None = None,
        execution_date_fn: DateFn | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        where = self._where()
        if external_task_id is not None and external_task_ids is not None:
            raise DefinitionError(f"{where}: give external_task_id or external_task_ids, not both")
        ids = [external_task_id] if external_task_id is not None else list(external_task_ids or [])
        if external_task_group_id is not None and (ids or not external_task_group_id):
            raise DefinitionError(
                f"{where}: external_task_group_id must be a non-empty group id, given without "
                "external_task_id(s)"
            )
        if execution_delta is not None and execution_date_fn is not None:
            raise DefinitionError(f"{where}: give execution_delta or execution_date_fn, not both")
        if execution_delta is not None and not isinstance(execution_delta, timedelta):
            raise DefinitionError(
                f"{where}: execution_delta must be a timedelta, got {execution_delta!r}"
            )
        if execution_date_fn is not None and not callable(execution_date_fn):
            raise DefinitionError(
                f"{where}: execution_date_fn must be callable, got {execution_date_fn!r}"
            )
        kind = TaskState if ids or external_task_group_id else RunState
        self.allowed_states = _states(allowed_states, ["success"], kind, "allowed_states", where)
        self.skipped_states = _states(skipped_states, [], kind, "skipped_states", where)
        self.failed_states = _states(failed_states, [], kind, "failed_states", where)
        both = set(self.allowed_states) & (set(self.failed_states) | set(self.skipped_states))
        if both:
            raise DefinitionError(
                f"{where}: {', '.join(sorted(both))} cannot be allowed and failed (or skipped) "
                "at once; keep each state in one list"
            )
        self.external_dag_id = external_dag_id
        self.external_task_ids = ids
        self.external_task_group_id = external_task_group_id
        self.execution_delta = execution_delta
        self.execution_date_fn = execution_date_fn

    def logical_dates(self, context: Context) -> list[datetime]:
        """The logical dates of the other DAG's runs to look at."""
        logical_date: datetime = context["logical_date"]
        if self.execution_delta is not None:
            return [logical_date - self.execution_delta]
        if self.execution_date_fn is None:
            return [logical_date]
        found = _call_with_context(self.execution_date_fn, logical_date, context)
        dates = [found] if isinstance(found, datetime) else list(found or [])
        if not dates or not all(isinstance(d, datetime) for d in dates):
            raise PartitaError(
                f"{self._where()}: execution_date_fn returned {found!r}; return a datetime "
                "or a list of datetimes"
            )
        return dates

    def poke(self, context: Context) -> bool:
        dates = self.logical_dates(context)
        ti = context["ti"]
        dag_id, task_ids = self.external_dag_id, self.external_task_ids
        group = self.external_task_group_id
        watched: dict[str, str | None]
        if group is not None:
            found = ti.get_task_group_states(dag_id, dates, group)
            watched = {f"{t} at {d.isoformat()}": s for (d, t), s in found.items()}
            for d in dates:
                if not any(day == d for day, _ in found):
                    watched[f"task group {group!r} at {d.isoformat()}"] = None
        elif task_ids:
            states = ti.get_task_states(dag_id, dates, task_ids)
            watched = {
                f"{t} at {d.isoformat()}": states.get((d, t)) for d in dates for t in task_ids
            }
        else:
            runs = ti.get_dagrun_states(dag_id, dates)
            watched = {f"the run at {d.isoformat()}": runs.get(d) for d in dates}
        what = f"DAG {dag_id!r}"
        failed = [name for name, state in watched.items() if state in self.failed_states]
        if failed:
            self.fail_or_skip(f"in {what}, {', '.join(failed)} ended in a failed state")
        skipped = [name for name, state in watched.items() if state in self.skipped_states]
        if skipped:
            raise SkipTask(f"in {what}, {', '.join(skipped)} ended in a skipped state")
        waiting = [
            f"{n} ({s or 'no run yet'})" for n, s in watched.items() if s not in self.allowed_states
        ]
        log = context.get("log")
        if waiting and log is not None:
            log.info("waiting in %s for %s", what, ", ".join(waiting))
        return not waiting


def _states(
    given: Iterable[str] | None, default: list[str], kind: type[Any], what: str, where: str
) -> list[str]:
    values = list(default if given is None else given)
    known = {str(s) for s in kind}
    wrong = [v for v in values if str(v) not in known]
    if wrong:
        target = "tasks" if kind is TaskState else "runs (no task ids given)"
        raise DefinitionError(
            f"{where}: {what} has {', '.join(map(repr, wrong))}, not a state of {target}; "
            f"use {', '.join(sorted(known))}"
        )
    return [str(v) for v in values]


def _call_with_context(fn: DateFn, logical_date: datetime, context: Context) -> Any:
    """``fn(logical_date, **the context entries it names)`` (all of them if it takes ``**``)."""
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return fn(logical_date, **{k: v for k, v in context.items() if k != "logical_date"})
    names = [p.name for p in params][1:]
    return fn(logical_date, **{n: context[n] for n in names if n in context})


__all__ = ["ExternalTaskSensor"]
