"""Helpers for testing DAGs and tasks in your own pytest suite.

``run_dag`` runs a whole DAG in this process, as ``dag.test()`` does.
``run_task`` runs *one* task with a fully built context, answering its
``xcom_pull`` calls (and its ``@task`` arguments) from values the test
gives, so a task is tested without running what comes before it.
``make_context`` builds such a context for calling a function directly.

The design decision: ``run_task`` goes through the engine's own
``run_task_instance``, the user-code boundary every executor calls, with the
context built by ``run_context``; so templating, callbacks, timeouts, retry
decisions, log capture and output storage behave exactly as in a real run.
Only the store of outputs differs: a dictionary holding what the test gave
and what the task pushed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from partita.definitions import authoring
from partita.definitions.baseoperator import BaseOperator
from partita.definitions.context import Context
from partita.definitions.dag import DAG
from partita.definitions.resources import ResourcesView
from partita.definitions.states import TaskState
from partita.definitions.timezones import make_aware
from partita.definitions.xcom_arg import RETURN_KEY, XComArg
from partita.engine.prepare import check_conf, new_run_id, resolve_params, run_dates
from partita.engine.result import RunResult
from partita.engine.run_config import resolve_run_config
from partita.engine.runtime import (
    RuntimeTaskInstance,
    TaskLogger,
    install_log_routing,
    run_context,
    task_context,
)
from partita.engine.task_runner import run_task_instance
from partita.engine.work import LogLine, RunInfo, TaskWork
from partita.exceptions import PartitaError
from partita.operators.empty import EmptyOperator
from partita.storage.records import OutputRecord

#: What ``run_task`` and ``make_context`` accept as the task to run.
TaskTarget = BaseOperator | XComArg | tuple[DAG, str]
NO_DAG_ID = "partita_testing"


def run_dag(
    dag: DAG,
    conf: Mapping[str, Any] | None = None,
    logical_date: datetime | None = None,
    resources: Mapping[str, Any] | None = None,
    verbose: bool = True,
) -> RunResult:
    """Run ``dag`` in this process with an ephemeral in-memory store (``dag.test()``)."""
    result: RunResult = dag.test(
        run_conf=conf, logical_date=logical_date, resources=resources, verbose=verbose
    )
    return result


@dataclass
class TaskRunResult:
    """How one try of one task ended when run alone by ``run_task``."""

    task_id: str
    state: TaskState
    #: Every output the task stored, by key (its return value is ``return_value``).
    outputs: dict[str, Any]
    lines: list[LogLine]
    error: str | None = None
    traceback: str | None = None
    error_metadata: dict[str, Any] = field(default_factory=dict)
    try_number: int = 1
    retry_at: datetime | None = None
    #: Tasks downstream that this task (a branch, a short circuit) asked to skip.
    skip_downstream: list[str] = field(default_factory=list)
    #: ``(task_id, key)`` of each output the task pulled that the test did not give.
    missing_outputs: list[tuple[str, str]] = field(default_factory=list)

    @property
    def output(self) -> Any:
        """The return value as a real run stores it (None when nothing was stored)."""
        return self.outputs.get(RETURN_KEY)

    @property
    def success(self) -> bool:
        return self.state is TaskState.SUCCESS

    @property
    def logs(self) -> str:
        """The task's log, one line per record, formatted as ``RunResult.logs`` formats it."""
        return "\n".join(
            f"[{line.timestamp.isoformat()}] {line.level} - {line.message}" for line in self.lines
        )


class GivenOutputs:
    """The outputs store of a task run alone: pulls answered from given values, pushes kept."""

    def __init__(
        self, run_id: str, dag: DAG | None, upstream_outputs: Mapping[Any, Any] | None
    ) -> None:
        self._run_id = run_id
        self.given = _normalize_given(dag, upstream_outputs or {})
        self.pushed: dict[tuple[str, int, str], Any] = {}
        self.missing: list[tuple[str, str]] = []

    def push(self, task_id: str, map_index: int, key: str, value: Any) -> OutputRecord:
        self.pushed[(task_id, map_index, key)] = value
        location = f"memory://{self._run_id}/{task_id}/{map_index}/{key}"
        return OutputRecord(self._run_id, task_id, map_index, key, location)

    def pull(self, task_id: str, map_index: int, key: str) -> tuple[bool, Any]:
        if (task_id, map_index, key) in self.pushed:
            return True, self.pushed[(task_id, map_index, key)]
        if map_index == -1 and (task_id, key) in self.given:
            return True, self.given[(task_id, key)]
        if (task_id, key) not in self.missing:
            self.missing.append((task_id, key))
        return False, None

    def outputs_of(self, task_id: str) -> dict[str, Any]:
        return {k: v for (t, i, k), v in self.pushed.items() if t == task_id and i == -1}


def _normalize_given(dag: DAG | None, given: Mapping[Any, Any]) -> dict[tuple[str, str], Any]:
    """``{task_id: value}`` and ``{(task_id, key): value}`` as ``{(task_id, key): value}``.

    A value given for an upstream task with ``multiple_outputs`` is also split
    into its keys, as a real run stores it.
    """
    out: dict[tuple[str, str], Any] = {}
    explicit: set[tuple[str, str]] = set()
    for raw_key, value in given.items():
        if isinstance(raw_key, str):
            task_id, key = raw_key, RETURN_KEY
        elif (
            isinstance(raw_key, tuple)
            and len(raw_key) == 2
            and all(isinstance(part, str) for part in raw_key)
        ):
            task_id, key = raw_key
            explicit.add((task_id, key))
        else:
            raise PartitaError(
                f"upstream_outputs: key {raw_key!r} must be a task id or a (task_id, key) tuple"
            )
        if dag is not None and not dag.has_task(task_id):
            raise PartitaError(
                f"upstream_outputs names {task_id!r}, which is not a task of DAG "
                f"{dag.dag_id!r}; its tasks are: {', '.join(sorted(dag.task_ids)[:20])}"
            )
        out[(task_id, key)] = value
    for (task_id, key), value in list(out.items()):
        if key != RETURN_KEY or dag is None or not isinstance(value, dict):
            continue
        if dag.get_task(task_id).multiple_outputs:
            for part, item in value.items():
                if (task_id, part) not in explicit:
                    out[(task_id, part)] = item
    return out


def _resolve_task(target: TaskTarget) -> BaseOperator:
    if isinstance(target, XComArg):
        return target.operator
    if isinstance(target, BaseOperator):
        return target
    if (
        isinstance(target, tuple)
        and len(target) == 2
        and isinstance(target[0], DAG)
        and isinstance(target[1], str)
    ):
        return target[0].get_task(target[1])
    raise PartitaError(
        f"expected a task, the result of calling a @task function, or (dag, task_id); "
        f"got {target!r}"
    )


def _run_info(
    dag: DAG | None,
    conf: Mapping[str, Any] | None,
    logical_date: datetime | None,
    params: Mapping[str, Any] | None,
) -> RunInfo:
    """The facts of a one-task test run, decided as ``RunDriver`` decides them."""
    if dag is not None:
        ld, start, end = run_dates(dag, logical_date)
        run_conf = check_conf(dag, conf)
        # ``params`` stand for the DAG's defaults in this run; the conf beats them.
        run_params = resolve_params(dag, {**(params or {}), **run_conf})
        task_config = resolve_run_config(dag, run_conf).tasks
    else:
        if conf is not None and not isinstance(conf, Mapping):
            raise PartitaError(f"conf must be a dict, got {type(conf).__name__}")
        run_conf = dict(conf or {})
        ld = datetime.now(UTC) if logical_date is None else make_aware(logical_date, UTC)
        start = end = ld
        run_params = {**(params or {}), **run_conf}
        task_config = {}
    return RunInfo(
        run_id=new_run_id("test", ld),
        dag_id=dag.dag_id if dag is not None else NO_DAG_ID,
        run_type="test",
        logical_date=ld,
        data_interval_start=start,
        data_interval_end=end,
        conf=run_conf,
        params=run_params,
        dag_fileloc=dag.fileloc if dag is not None else None,
        task_config=task_config,
    )


def run_task(
    task: TaskTarget,
    *,
    conf: Mapping[str, Any] | None = None,
    logical_date: datetime | None = None,
    upstream_outputs: Mapping[Any, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    try_number: int = 1,
    resources: Mapping[str, Any] | None = None,
) -> TaskRunResult:
    """Run one try of one task, with its upstream outputs given instead of computed.

    ``task`` is an operator, what calling a ``@task`` function returned, or
    ``(dag, task_id)``. ``upstream_outputs`` maps ``task_id`` (its return
    value) or ``(task_id, key)`` to the value ``xcom_pull`` returns.
    ``params`` are taken as the DAG's param values for this run; a task's own
    params and the run ``conf`` override them, as in a real run.
    A task with retries left that fails ends ``up_for_retry``, as its try would.
    ``resources`` are given to the task as they are (context managers are not
    entered); its config comes from ``conf`` as in a real run.
    """
    operator = _resolve_task(task)
    dag = operator.dag
    run = _run_info(dag, conf, logical_date, params)
    outputs = GivenOutputs(run.run_id, dag, upstream_outputs)
    install_log_routing()
    work = TaskWork(operator.task_id, -1, try_number)
    view = ResourcesView(resources) if resources is not None else None
    outcome = run_task_instance(operator, work, run, run_context(run, dag, view), outputs)
    return TaskRunResult(
        task_id=operator.task_id,
        state=outcome.state,
        outputs=outputs.outputs_of(operator.task_id),
        lines=list(outcome.logs),
        error=outcome.error,
        traceback=outcome.traceback,
        error_metadata=dict(outcome.error_metadata),
        try_number=try_number,
        retry_at=outcome.retry_at,
        skip_downstream=list(outcome.skip_downstream),
        missing_outputs=list(outputs.missing),
    )


def make_context(
    task: TaskTarget | None = None,
    *,
    conf: Mapping[str, Any] | None = None,
    logical_date: datetime | None = None,
    upstream_outputs: Mapping[Any, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    try_number: int = 1,
    task_id: str = "task",
) -> Context:
    """The context a task instance would get, for calling a function directly.

    Without ``task``, a detached ``EmptyOperator`` named ``task_id`` stands in.
    ``context["ti"].xcom_pull`` answers from ``upstream_outputs`` and from what
    was pushed with ``context["ti"].xcom_push``; ``context["log"].lines``
    holds what was logged through ``context["log"]``.
    """
    if task is None:
        with authoring.isolated():
            operator: BaseOperator = EmptyOperator(task_id=task_id)
    else:
        operator = _resolve_task(task)
    dag = operator.dag
    run = _run_info(dag, conf, logical_date, params)
    outputs = GivenOutputs(run.run_id, dag, upstream_outputs)
    lines: list[LogLine] = []
    ti = RuntimeTaskInstance(operator, run, -1, try_number, outputs, [])
    return task_context(run_context(run, dag), ti, operator, TaskLogger(lines, operator.task_id))


__all__ = ["GivenOutputs", "TaskRunResult", "make_context", "run_dag", "run_task"]
