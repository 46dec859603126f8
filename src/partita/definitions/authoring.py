"""The authoring context: which DAG and which task group a new task joins.

``with DAG(...)`` and ``with TaskGroup(...)`` push onto these stacks; an
operator created inside picks them up. A loader can also *collect* every DAG
created while it imports a file, so that DAGs built in factories and never
bound to a module global are still found (as Airflow does).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    from partita.definitions.dag import DAG
    from partita.definitions.taskgroup import TaskGroup

_dag_stack: list[DAG] = []
_group_stack: list[TaskGroup] = []
_collectors: list[list[DAG]] = []
_building_instance: list[bool] = []


def current_dag() -> DAG | None:
    """The DAG of the innermost ``with DAG`` block, if any."""
    return _dag_stack[-1] if _dag_stack else None


def current_group() -> TaskGroup | None:
    """The innermost open task group, if any."""
    return _group_stack[-1] if _group_stack else None


def push_dag(dag: DAG) -> None:
    _dag_stack.append(dag)


def pop_dag() -> None:
    _dag_stack.pop()


def push_group(group: TaskGroup) -> None:
    _group_stack.append(group)


def pop_group() -> None:
    _group_stack.pop()


def register_dag(dag: DAG) -> None:
    """Tell every active collector that a DAG was created."""
    for collected in _collectors:
        collected.append(dag)


@contextmanager
def collect_dags() -> Iterator[list[DAG]]:
    """Yield a list that fills with every DAG created inside the block."""
    collected: list[DAG] = []
    _collectors.append(collected)
    try:
        yield collected
    finally:
        _collectors.remove(collected)


@contextmanager
def isolated() -> Iterator[None]:
    """No DAG or group is current inside the block (to build detached operators at run time)."""
    saved_dags, saved_groups = _dag_stack[:], _group_stack[:]
    _dag_stack.clear()
    _group_stack.clear()
    try:
        yield
    finally:
        _dag_stack[:] = saved_dags
        _group_stack[:] = saved_groups


@contextmanager
def building_instance() -> Iterator[None]:
    """Inside the block operators are built for one instance of a mapped task, at run time.

    Such an operator takes its edges from the mapped task; it wires none of its own.
    """
    _building_instance.append(True)
    try:
        with isolated():
            yield
    finally:
        _building_instance.pop()


def is_building_instance() -> bool:
    """Whether operators created now are run-time instances of a mapped task."""
    return bool(_building_instance)


def describe(obj: Any) -> str:
    """A short name for an object in an error message."""
    task_id = getattr(obj, "task_id", None)
    if task_id is not None:
        return f"task {task_id!r}"
    group_id = getattr(obj, "group_id", None)
    if group_id is not None:
        return f"task group {group_id!r}"
    return repr(obj)
