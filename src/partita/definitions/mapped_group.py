"""Mapped task groups: ``my_group.expand(x=[...])`` runs the whole group once per element.

The group function is called once, while the DAG is defined, with a
``MappedArgument`` in place of each expanded parameter. Every task created
inside becomes mapped with the group's length; inside the group, instance
``i`` of a task depends on instance ``i`` of its upstream (one group instance
per input element), and a task's output read by a sibling is that sibling's
instance ``i``. Every task of the group also depends on the tasks whose
outputs the group expands over, so none starts before the input exists.

What is supported inside a mapped group: ``@task`` functions (their
arguments may be ``MappedArgument``s or siblings' outputs), operators,
mapped tasks (``.expand``) and mapped groups, as in Airflow: a task mapped
inside the group, or in a mapped group nested in it, has the product of the
lengths as instances, outermost group first. What it expands over must be
known outside the enclosing mapped groups (a literal, or the output of a
task outside them); expanding over a ``MappedArgument`` or an output of a
task inside them is rejected when the DAG is defined, as Airflow cannot do
it either ("Nested Mapped TaskGroups are not yet supported").
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from partita.definitions import authoring
from partita.definitions.mapping import DictOfListsInput, ExpandInput, ListOfDictsInput
from partita.definitions.xcom_arg import XComArg, find_refs
from partita.exceptions import DefinitionError

if TYPE_CHECKING:
    from partita.definitions.taskgroup import TaskGroup


class MappedArgument:
    """A parameter of a mapped group function: its value for one group instance."""

    __slots__ = ("group", "name")

    def __init__(self, group: TaskGroup, name: str) -> None:
        self.group = group
        self.name = name

    def __repr__(self) -> str:
        return f"MappedArgument({self.group.group_id!r}, {self.name!r})"


class GroupPartial:
    """A ``@task_group`` with some arguments fixed; ``expand`` maps the group over the rest."""

    def __init__(
        self,
        function: Callable[..., Any],
        group_kwargs: dict[str, Any],
        fixed: dict[str, Any],
        group_class: type[TaskGroup],
    ) -> None:
        self.function = function
        self.group_kwargs = group_kwargs
        self.fixed = fixed
        self.group_class = group_class
        self.parameters = list(inspect.signature(function).parameters)

    def expand(self, **mapped: Any) -> Any:
        name = self.function.__name__
        if not mapped:
            raise DefinitionError(f"@task_group {name}: expand() needs at least one argument")
        unknown = [k for k in mapped if k not in self.parameters]
        if unknown:
            raise DefinitionError(
                f"@task_group {name}: the function has no parameter {unknown[0]!r}"
            )
        return self._build(DictOfListsInput(mapped), list(mapped))

    def expand_kwargs(self, kwargs_list: Any) -> Any:
        names = [p for p in self.parameters if p not in self.fixed]
        return self._build(ListOfDictsInput(kwargs_list), names)

    def _build(self, expand_input: ExpandInput, names: list[str]) -> Any:
        group_id = self.group_kwargs.get("group_id") or self.function.__name__
        parent = authoring.current_group()
        enclosing = parent.mapped_group() if parent is not None else None
        if enclosing is not None:
            check_inner_expansion(
                f"@task_group {self.function.__name__}: a mapped task group",
                expand_input,
                enclosing.group_id,
                {task.task_id for task in _outermost_mapped(enclosing).iter_tasks()},
            )
        dag = parent.dag if parent is not None else authoring.current_dag()
        if dag is not None:
            group_id = dag.unique_group_label(group_id, parent)
        options = {k: v for k, v in self.group_kwargs.items() if k != "group_id"}
        with self.group_class(group_id, **options) as group:
            group.expand_input = expand_input
            arguments = {**self.fixed, **{n: MappedArgument(group, n) for n in names}}
            returned = self.function(**arguments)
        sources = [op for ref in expand_input.refs() for op in ref.operators()]
        members = group.iter_tasks()
        member_ids = {task.task_id for task in members}
        for task in members:
            inner_input = getattr(task, "expand_input", None)
            if inner_input is not None:
                subject = f"task {task.task_id!r}: a mapped task"
                check_inner_expansion(subject, inner_input, group.group_id, member_ids)
            for source in sources:
                task.set_upstream(source)
        return group if returned is None else returned


def _outermost_mapped(group: TaskGroup) -> TaskGroup:
    """The outermost mapped group enclosing ``group`` (a mapped group itself)."""
    outermost = group
    parent = group.parent_group
    while parent is not None:
        if parent.expand_input is not None:
            outermost = parent
        parent = parent.parent_group
    return outermost


def check_inner_expansion(
    subject: str, expand_input: ExpandInput, group_id: str | None, member_ids: set[str]
) -> None:
    """What is mapped inside a mapped group must expand over something known outside it.

    ``subject`` names it (``"task 'g.t': a mapped task"``); ``member_ids`` are the
    tasks of the enclosing mapped groups.
    """
    for value in _expand_values(expand_input):
        if isinstance(value, MappedArgument):
            what = f"the argument {value.name!r} of group {value.group.group_id!r}"
        else:
            inside = [op.task_id for ref in find_refs(value) if isinstance(ref, XComArg)
                      for op in ref.operators() if op.task_id in member_ids]  # fmt: skip
            if not inside:
                continue
            what = f"the output of {inside[0]!r}, a task of the same group"
        raise DefinitionError(
            f"{subject} inside the mapped task group {group_id!r} cannot expand over {what}: "
            "how many instances it has must be known outside the group (as in Airflow); "
            "expand over a list or the output of a task outside the group, and pass "
            "per-instance values with partial()"
        )


def _expand_values(expand_input: ExpandInput) -> list[Any]:
    """The values an expand input expands over, one level into lists (expand_kwargs)."""
    value = getattr(expand_input, "value", None)
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return [*value, *(v for item in value if isinstance(item, dict) for v in item.values())]
    return [value]


__all__ = ["GroupPartial", "MappedArgument"]
