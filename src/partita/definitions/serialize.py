"""The serialized structure of a DAG and its version hash.

The structure holds what decides how a run behaves (tasks, their operators,
edges, trigger rules, retry policy, timetable, dates and run limits), not the code inside the
callables. Two DAGs with the same structure have the same version, so the
metadata database stores each structure once.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from partita.definitions.baseoperator import BaseOperator
from partita.definitions.dag import DAG
from partita.definitions.taskgroup import TaskGroup
from partita.definitions.timezones import timezone_name


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return repr(value)


def serialize_dag(dag: DAG) -> dict[str, Any]:
    """A JSON-compatible description of the DAG's structure."""
    tasks = []
    for task in dag.task_dict.values():
        group = task.task_group.group_id if task.task_group is not None else None
        tasks.append(
            {
                "task_id": task.task_id,
                "operator": task.operator_name,
                "module": type(task).__module__,
                "upstream": sorted(task.upstream_task_ids),
                "trigger_rule": task.trigger_rule.value,
                "retries": task.retries,
                "group": group,
                "template_fields": list(task.template_fields),
                **_roles(task),
            }
        )
    return {
        "dag_id": dag.dag_id,
        "description": dag.description,
        "schedule": _plain(dag.schedule),
        **_schedule_fields(dag),
        "tags": list(dag.tags),
        "params": _plain(dag.params),
        "tasks": tasks,
        **_picture_fields(dag),
    }


def _roles(task: BaseOperator) -> dict[str, Any]:
    """Setup and teardown flags, only when set (the structure of other DAGs is unchanged)."""
    if task.is_setup:
        return {"setup": True}
    if task.is_teardown:
        return {"teardown": True, "on_failure_fail_dagrun": task.on_failure_fail_dagrun}
    return {}


def _picture_fields(dag: DAG) -> dict[str, Any]:
    """What the graph view draws besides the tasks: the task groups (each with its parent
    group) and the labels of edges; absent when the DAG has none, so a DAG without them
    keeps the version hash it had before these fields existed."""
    groups: dict[str, str | None] = {}
    pending = [dag.task_group]
    while pending:
        group = pending.pop()
        for child in group.children.values():
            if isinstance(child, TaskGroup) and child.group_id is not None:
                groups[child.group_id] = group.group_id
                pending.append(child)
    fields: dict[str, Any] = {}
    if groups:
        fields["task_groups"] = dict(sorted(groups.items()))
    if dag.edge_labels:
        fields["edge_labels"] = sorted(
            [up, down, label] for (up, down), label in dag.edge_labels.items()
        )
    return fields


def _schedule_fields(dag: DAG) -> dict[str, Any]:
    """What the scheduler needs: the timetable, zone, dates and run limits."""
    timeout = dag.dagrun_timeout
    return {
        "timetable": dag.timetable.serialize(),
        "timezone": timezone_name(dag.timezone),
        "start_date": dag.start_date.isoformat() if dag.start_date else None,
        "end_date": dag.end_date.isoformat() if dag.end_date else None,
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "max_active_tasks": dag.max_active_tasks,
        "dagrun_timeout": timeout.total_seconds() if timeout is not None else None,
        "is_paused_upon_creation": dag.is_paused_upon_creation,
    }


def dag_version(serialized: dict[str, Any]) -> str:
    """A short stable hash of a serialized DAG."""
    canonical = json.dumps(serialized, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


__all__ = ["dag_version", "serialize_dag"]
