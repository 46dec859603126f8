"""Mapped task groups: ``my_group.expand(x=[...])`` runs the whole group once per element.

The group function is called once, while the DAG is defined, with a
``MappedArgument`` in place of each expanded parameter. Every task created
inside becomes mapped with the group's length; inside the group, instance
``i`` of a task depends on instance ``i`` of its upstream (one group instance
per input element), and a task's output read by a sibling is that sibling's
instance ``i``. Every task of the group also depends on the tasks whose
outputs the group expands over, so none starts before the input exists.

What is supported inside a mapped group: ``@task`` functions (their
arguments may be ``MappedArgument``s or siblings' outputs), operators, and
mapped tasks (``.expand``), as in Airflow: a mapped task inside the group has
``group length x its own length`` instances, group instance by group
instance. Its own expansion must be known outside the group (a literal, or
the output of a task outside it); expanding over a ``MappedArgument`` or a
sibling's output is rejected when the DAG is defined, as Airflow cannot do
it either. So is a mapped group inside a mapped group (Airflow refuses one
mapped over the outer group's arguments; partita refuses nesting altogether).
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
            raise DefinitionError(
                f"@task_group {self.function.__name__}: a mapped task group inside the mapped "
                f"task group {enclosing.group_id!r} is not supported; map the inner tasks "
                "instead (a mapped task inside a mapped group is), or call the inner group "
                "without expand"
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
                check_inner_expansion(task.task_id, inner_input, group.group_id, member_ids)
            for source in sources:
                task.set_upstream(source)
        return group if returned is None else returned


def check_inner_expansion(
    task_id: str, expand_input: ExpandInput, group_id: str | None, member_ids: set[str]
) -> None:
    """A mapped task inside a mapped group must expand over something known outside the group."""
    for value in _expand_values(expand_input):
        if isinstance(value, MappedArgument):
            what = f"the group's argument {value.name!r}"
        else:
            inside = [op.task_id for ref in find_refs(value) if isinstance(ref, XComArg)
                      for op in ref.operators() if op.task_id in member_ids]  # fmt: skip
            if not inside:
                continue
            what = f"the output of {inside[0]!r}, a task of the same group"
        raise DefinitionError(
            f"task {task_id!r}: a mapped task inside the mapped task group {group_id!r} cannot "
            f"expand over {what}: how many instances it has must be known outside the group "
            "(as in Airflow); expand over a list or the output of a task outside the group, "
            "and pass per-instance values with partial()"
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
