"""The authoring context: which DAG and which task group a new task joins.

``with DAG(...)`` and ``with TaskGroup(...)`` push onto these stacks; an
operator created inside picks them up. The stacks are ``ContextVar``s, so each
thread (and each asyncio task) has its own. A loader can also *collect* every DAG
created while it imports a file, so that DAGs built in factories and never
bound to a module global are still found (as Airflow does).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    from partita.definitions.dag import DAG
    from partita.definitions.taskgroup import TaskGroup

# Each stack is a tuple in a ContextVar, so that threads (and asyncio tasks) building
# operators at once, e.g. mapped instances in a worker's threads, never see each other's.
_dag_stack: ContextVar[tuple[DAG, ...]] = ContextVar("partita_dag_stack", default=())
_group_stack: ContextVar[tuple[TaskGroup, ...]] = ContextVar("partita_group_stack", default=())
_collectors: ContextVar[tuple[list[DAG], ...]] = ContextVar("partita_dag_collectors", default=())
_building_instance: ContextVar[int] = ContextVar("partita_building_instance", default=0)


def current_dag() -> DAG | None:
    """The DAG of the innermost ``with DAG`` block, if any."""
    stack = _dag_stack.get()
    return stack[-1] if stack else None


def current_group() -> TaskGroup | None:
    """The innermost open task group, if any."""
    stack = _group_stack.get()
    return stack[-1] if stack else None


def push_dag(dag: DAG) -> None:
    _dag_stack.set((*_dag_stack.get(), dag))


def pop_dag() -> None:
    _dag_stack.set(_dag_stack.get()[:-1])


def push_group(group: TaskGroup) -> None:
    _group_stack.set((*_group_stack.get(), group))


def pop_group() -> None:
    _group_stack.set(_group_stack.get()[:-1])


def register_dag(dag: DAG) -> None:
    """Tell every active collector that a DAG was created."""
    for collected in _collectors.get():
        collected.append(dag)


@contextmanager
def collect_dags() -> Iterator[list[DAG]]:
    """Yield a list that fills with every DAG created inside the block."""
    collected: list[DAG] = []
    _collectors.set((*_collectors.get(), collected))
    try:
        yield collected
    finally:
        _collectors.set(tuple(c for c in _collectors.get() if c is not collected))


@contextmanager
def isolated() -> Iterator[None]:
    """No DAG or group is current inside the block (to build detached operators at run time)."""
    dags, groups = _dag_stack.set(()), _group_stack.set(())
    try:
        yield
    finally:
        _dag_stack.reset(dags)
        _group_stack.reset(groups)


@contextmanager
def building_instance() -> Iterator[None]:
    """Inside the block operators are built for one instance of a mapped task, at run time.

    Such an operator takes its edges from the mapped task; it wires none of its own.
    """
    token = _building_instance.set(_building_instance.get() + 1)
    try:
        with isolated():
            yield
    finally:
        _building_instance.reset(token)


def is_building_instance() -> bool:
    """Whether operators created now are run-time instances of a mapped task."""
    return _building_instance.get() > 0


def describe(obj: Any) -> str:
    """A short name for an object in an error message."""
    task_id = getattr(obj, "task_id", None)
    if task_id is not None:
        return f"task {task_id!r}"
    group_id = getattr(obj, "group_id", None)
    if group_id is not None:
        return f"task group {group_id!r}"
    return repr(obj)
