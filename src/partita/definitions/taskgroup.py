"""Task groups: namespaced, reusable sub-graphs (Airflow's TaskGroup, Dagster's graph).

A task created inside ``with TaskGroup("extract"):`` gets the id
``extract.<task_id>``. Used with ``>>``, a group stands for its roots (tasks
with no upstream inside the group) on the incoming side and its leaves on the
outgoing side, computed when the edge is drawn. ``@task_group`` turns a
function into a factory of groups; calling it twice in one DAG gives
``name`` and ``name__1``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from partita.definitions import authoring
from partita.definitions.dependencies import DependencyMixin
from partita.definitions.mapped_group import GroupPartial
from partita.exceptions import DefinitionError, DuplicateTaskError

if TYPE_CHECKING:
    from partita.definitions.baseoperator import BaseOperator
    from partita.definitions.dag import DAG
    from partita.definitions.mapping import ExpandInput

P = ParamSpec("P")
R = TypeVar("R")


class TaskGroup(DependencyMixin):
    """A named group of tasks (and nested groups) inside one DAG."""

    def __init__(
        self,
        group_id: str | None,
        *,
        prefix_group_id: bool = True,
        parent_group: TaskGroup | None = None,
        dag: DAG | None = None,
        default_args: Mapping[str, Any] | None = None,
        tooltip: str = "",
        _root: bool = False,
    ) -> None:
        self.children: dict[str, BaseOperator | TaskGroup] = {}
        #: set on a mapped group (``group_fn.expand(...)``): what it expands over
        self.expand_input: ExpandInput | None = None
        self.default_args: dict[str, Any] = dict(default_args or {})
        self.tooltip = tooltip
        self.prefix_group_id = prefix_group_id
        if _root:
            self.group_id = None
            self.parent_group: TaskGroup | None = None
            self.dag = dag
            return
        if not group_id or not isinstance(group_id, str):
            raise DefinitionError("a task group needs a non-empty group_id")
        parent = parent_group if parent_group is not None else authoring.current_group()
        dag = dag if dag is not None else (parent.dag if parent else authoring.current_dag())
        if parent is None and dag is not None:
            parent = dag.task_group
        self.parent_group = parent
        self.dag = dag
        self.group_id = parent.child_id(group_id) if parent is not None else group_id
        if parent is not None:
            parent.add_child(self)

    # -- membership -------------------------------------------------------------
    def child_id(self, label: str) -> str:
        """The full id of a child called ``label``."""
        if self.group_id is not None and self.prefix_group_id:
            return f"{self.group_id}.{label}"
        return label

    def add_child(self, child: BaseOperator | TaskGroup) -> None:
        key = getattr(child, "task_id", None) or getattr(child, "group_id", None)
        if key is None:
            return
        if key in self.children:
            where = f"DAG {self.dag.dag_id!r}: " if self.dag is not None else ""
            raise DuplicateTaskError(f"{where}{authoring.describe(child)} is defined twice")
        self.children[key] = child

    def mapped_group(self) -> TaskGroup | None:
        """The nearest enclosing mapped group (this one included), if any."""
        group: TaskGroup | None = self
        while group is not None:
            if group.expand_input is not None:
                return group
            group = group.parent_group
        return None

    def merged_default_args(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        chain: list[TaskGroup] = []
        group: TaskGroup | None = self
        while group is not None:
            chain.append(group)
            group = group.parent_group
        for g in reversed(chain):
            merged.update(g.default_args)
        return merged

    def iter_tasks(self) -> list[BaseOperator]:
        """Every task in this group and its sub-groups."""
        out: list[BaseOperator] = []
        for child in self.children.values():
            if isinstance(child, TaskGroup):
                out.extend(child.iter_tasks())
            else:
                out.append(child)
        return out

    # -- dependencies -------------------------------------------------------------
    def dependency_roots(self) -> list[BaseOperator]:
        tasks = self.iter_tasks()
        ids = {t.task_id for t in tasks}
        roots = [t for t in tasks if not any(u in ids for u in t.upstream_task_ids)]
        return self._non_empty(roots)

    def dependency_leaves(self) -> list[BaseOperator]:
        """The group's last tasks; a teardown stands aside for the work before it (Airflow)."""
        tasks = self.iter_tasks()
        by_id = {t.task_id: t for t in tasks}
        leaves: list[BaseOperator] = []
        for t in tasks:
            if any(d in by_id for d in t.downstream_task_ids):
                continue
            found = _work_before(t, by_id) if t.is_teardown else [t]
            leaves.extend(x for x in found or [t] if x not in leaves)
        return self._non_empty(leaves)

    def _non_empty(self, tasks: list[BaseOperator]) -> list[BaseOperator]:
        if not tasks:
            raise DefinitionError(
                f"task group {self.group_id!r} has no tasks, so nothing can depend on it"
            )
        return tasks

    # -- context manager ------------------------------------------------------------
    def __enter__(self) -> TaskGroup:
        authoring.push_group(self)
        return self

    def __exit__(self, *exc: object) -> None:
        authoring.pop_group()

    def __repr__(self) -> str:
        return f"<TaskGroup: {self.group_id}>"


class TaskGroupFactory(Generic[P, R]):
    """What ``@task_group`` returns: call it inside a DAG to build one group."""

    def __init__(self, function: Callable[P, R], group_kwargs: dict[str, Any]) -> None:
        functools.update_wrapper(self, function)
        self.function = function
        self.group_kwargs = group_kwargs

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        group_id = self.group_kwargs.get("group_id") or self.function.__name__
        parent = authoring.current_group()
        dag = parent.dag if parent is not None else authoring.current_dag()
        if dag is not None:
            group_id = dag.unique_group_label(group_id, parent)
        options = {k: v for k, v in self.group_kwargs.items() if k != "group_id"}
        with TaskGroup(group_id, **options) as group:
            returned = self.function(*args, **kwargs)
        # Like Airflow: when the function returns a task or output, edges bind to it.
        return group if returned is None else returned

    def partial(self, **fixed: Any) -> GroupPartial:
        """Fix some arguments for every instance of a mapped group; then call ``expand``."""
        return GroupPartial(self.function, self.group_kwargs, fixed, TaskGroup)

    def expand(self, **mapped: Any) -> Any:
        """Build the group once, run it once per element (cross product over several)."""
        return self.partial().expand(**mapped)

    def expand_kwargs(self, kwargs_list: Any) -> Any:
        """Run the group once per dict of arguments."""
        return self.partial().expand_kwargs(kwargs_list)


@overload
def task_group(python_callable: Callable[P, R]) -> TaskGroupFactory[P, R]: ...


@overload
def task_group(
    python_callable: None = None, **group_kwargs: Any
) -> Callable[[Callable[P, R]], TaskGroupFactory[P, R]]: ...


def task_group(python_callable: Callable[..., Any] | None = None, **group_kwargs: Any) -> Any:
    """Decorate a function that builds tasks; each call builds one namespaced task group.

    Keyword arguments are those of ``TaskGroup`` (``group_id``, ``prefix_group_id``,
    ``default_args``, ``tooltip``).
    """
    if python_callable is not None:
        return TaskGroupFactory(python_callable, group_kwargs)
    return lambda fn: TaskGroupFactory(fn, group_kwargs)


def _work_before(teardown: BaseOperator, by_id: dict[str, BaseOperator]) -> list[BaseOperator]:
    """The tasks of a group just before its teardown ``teardown``, setups and teardowns skipped.

    Walks up through teardowns; a task counts only if no other task of the
    group but teardowns follows it.
    """
    found: list[BaseOperator] = []
    stack = [teardown]
    while stack:
        current = stack.pop()
        for up_id in current.upstream_task_ids:
            up = by_id.get(up_id)
            if up is None or up.is_setup or up in found:
                continue
            if up.is_teardown:
                stack.append(up)
                continue
            followed = any(
                d != current.task_id and d in by_id and not by_id[d].is_teardown
                for d in up.downstream_task_ids
            )
            if not followed:
                found.append(up)
    return found


__all__ = ["TaskGroup", "TaskGroupFactory", "task_group"]
