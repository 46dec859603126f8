"""Render a task's template fields without running it (``partita tasks render``).

The fields are rendered exactly as the task's run would render them (the
same context: dates and data interval of a manual run at the logical date,
params and conf, ``var`` and ``conn``, macros), so a template reading a
connection reads it; ``ti.xcom_pull`` finds nothing, as no run exists. What
is returned is for people to read: every secret read while rendering (a
connection's password, a secret variable) is masked.

The design decision: nothing is recorded and no task code runs; only the
template engine does, on a copy of the task (``render_task``), so previewing
a DAG in production changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from partita.definitions.dag import DAG
from partita.engine.mapping import is_mapped
from partita.engine.prepare import check_conf, new_run_id, resolve_params, run_dates
from partita.engine.runtime import RuntimeTaskInstance, TaskLogger, run_context, task_context
from partita.engine.task_log import LogLine
from partita.engine.templating import render_task
from partita.engine.work import RunInfo
from partita.exceptions import DagNotFoundError, PartitaError
from partita.masking import MASKER
from partita.storage.records import OutputRecord


class _NoOutputs:
    """The output access of a run that does not exist: pushes are kept nowhere, pulls find none."""

    def push(self, task_id: str, map_index: int, key: str, value: Any) -> OutputRecord:
        raise PartitaError(f"task {task_id!r}: nothing can be pushed while previewing templates")

    def pull(self, task_id: str, map_index: int, key: str) -> tuple[bool, Any]:
        return False, None


def render_preview(
    dag: DAG,
    task_id: str,
    *,
    logical_date: datetime | None = None,
    conf: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Each template field of ``task_id`` rendered for a manual run, as masked text."""
    task = dag.task_dict.get(task_id)
    if task is None:
        known = ", ".join(sorted(dag.task_dict)[:30]) or "none"
        raise DagNotFoundError(f"{dag.label} has no task {task_id!r}; its tasks are: {known}")
    if is_mapped(task):
        raise PartitaError(
            f"{dag.label}: task {task_id!r} is mapped: its fields depend on inputs known only "
            "during a run; see them rendered in the logs of a run ('partita logs RUN_ID TASK')"
        )
    run_conf = check_conf(dag, conf)
    when, start, end = run_dates(dag, logical_date)
    run = RunInfo(
        new_run_id("manual", when), dag.dag_id, "manual", when, start, end, run_conf,
        resolve_params(dag, run_conf), dag.fileloc,
    )  # fmt: skip
    ti = RuntimeTaskInstance(task, run, -1, 1, _NoOutputs(), [])
    lines: list[LogLine] = []
    context = task_context(run_context(run, dag), ti, task, TaskLogger(lines, task_id))
    rendered = render_task(task, context)
    return {
        name: MASKER.mask(_text(getattr(rendered, name, None))) for name in task.template_fields
    }


def _text(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


__all__ = ["render_preview"]
