"""Run-time side of dynamic task mapping: lazy sequences of mapped outputs, per-instance operators.

A task downstream of a mapped task reads its output as a ``LazyOutputs``
sequence: index ``i`` loads instance ``i``'s value only when read, so a
100,000-instance map is never copied into one list. ``InstanceResolver``
turns ``(task_id, map_index)`` into the operator that runs, resolving each
mapped task's input once per run. A mapped task inside a mapped group has
``width`` (its own length) instances per group instance: instance ``j`` is
own element ``j % width`` of group instance ``j // width``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from partita.definitions.baseoperator import BaseOperator
from partita.definitions.dag import DAG
from partita.definitions.mapped_group import MappedArgument
from partita.definitions.mapping import (
    DEFAULT_MAX_MAP_LENGTH,
    MapInputError,
    MappedOperator,
    ResolvedInput,
)
from partita.definitions.taskgroup import TaskGroup
from partita.definitions.xcom_arg import XComArg
from partita.engine.active_run import TaskSpec


class LazyOutputs(Sequence[Any]):
    """The outputs of every instance of a mapped task, in map-index order, loaded on access."""

    __partita_lazy_sequence__ = True  # passes a ``list`` type check (definitions/types.py)

    def __init__(self, load: Callable[[int], Any], length: int, task_id: str) -> None:
        self._load = load
        self._length = length
        self.task_id = task_id

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._load(i) for i in range(*index.indices(self._length))]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError(f"mapped task {self.task_id!r} has {self._length} instances")
        return self._load(index)

    def __iter__(self) -> Iterator[Any]:
        for i in range(self._length):
            yield self._load(i)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return len(other) == self._length and all(
                a == b for a, b in zip(self, other, strict=True)
            )
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.task_id, self._length))

    def __repr__(self) -> str:
        if self._length > 20:
            return f"LazyOutputs({self.task_id!r}, {self._length} values)"
        return repr(list(self))


def mapped_group_of(task: BaseOperator) -> TaskGroup | None:
    """The mapped task group the task belongs to, if any."""
    group = task.task_group
    return group.mapped_group() if group is not None else None


def is_mapped(task: BaseOperator) -> bool:
    """Whether the task has one instance per element of something known only at run time."""
    return isinstance(task, MappedOperator) or mapped_group_of(task) is not None


def task_spec(task: BaseOperator) -> TaskSpec:
    """What the state machine needs to know of a task."""
    group = mapped_group_of(task)
    return TaskSpec(
        task.task_id,
        tuple(task.upstream_task_ids),
        tuple(task.downstream_task_ids),
        task.trigger_rule,
        is_mapped(task),
        getattr(task, "max_active_tis_per_dagrun", None),
        group.group_id if group is not None else None,
        isinstance(task, MappedOperator) and group is not None,
    )


class InstanceResolver:
    """Gives the operator to run for one instance; resolves each mapped input once per run.

    ``pull(task_id, key)`` reads a task's whole output; ``pull_at(task_id,
    map_index, key)`` one instance's (for siblings inside a mapped group).
    """

    def __init__(
        self,
        dag: DAG,
        pull: Callable[[str, str], Any],
        pull_at: Callable[[str, int, str], Any] | None = None,
    ) -> None:
        self._tasks = dag.task_dict
        self._pull = pull
        self._pull_at = pull_at
        self._resolved: dict[str, ResolvedInput] = {}

    def resolved_input(self, task: MappedOperator) -> ResolvedInput:
        resolved = self._resolved.get(task.task_id)
        if resolved is None:
            resolved = task.resolve_input(self._pull)
            self._resolved[task.task_id] = resolved
        return resolved

    def group_input(self, group: TaskGroup) -> ResolvedInput:
        key = f"group:{group.group_id}"
        resolved = self._resolved.get(key)
        if resolved is None:
            if group.expand_input is None:
                raise MapInputError(f"task group {group.group_id!r} is not mapped")
            resolved = group.expand_input.resolve(self._pull, f"group {group.group_id}")
            if resolved.length > DEFAULT_MAX_MAP_LENGTH:
                raise MapInputError(
                    f"task group {group.group_id!r} would expand to {resolved.length} "
                    f"instances, more than {DEFAULT_MAX_MAP_LENGTH}"
                )
            self._resolved[key] = resolved
        return resolved

    def length(self, task: BaseOperator) -> int:
        """How many instances the mapped task has in this run."""
        group = mapped_group_of(task)
        if isinstance(task, MappedOperator):
            own = self.resolved_input(task).length
            return own if group is None else self.group_input(group).length * own
        if group is None:
            raise MapInputError(f"task {task.task_id!r} is not mapped")
        return self.group_input(group).length

    def width(self, task: BaseOperator) -> int:
        """Instances per group instance: a mapped task's own length in a mapped group, else 1."""
        if isinstance(task, MappedOperator) and mapped_group_of(task) is not None:
            return self.resolved_input(task).length
        return 1

    def operator(self, task_id: str, map_index: int) -> BaseOperator:
        task = self._tasks[task_id]
        if map_index < 0:
            return task
        group = mapped_group_of(task)
        if isinstance(task, MappedOperator):
            resolved = self.resolved_input(task)
            if group is None:
                return task.unmap(resolved.values_at(map_index))
            group_index, own_index = divmod(map_index, resolved.length)
            instance = task.unmap(resolved.values_at(own_index))
            return self._group_member(instance, group, group_index)
        if group is None:
            return task
        return self._group_member(task, group, map_index)

    def _group_member(self, task: BaseOperator, group: TaskGroup, index: int) -> BaseOperator:
        """A copy of ``task`` for group instance ``index``: group values, siblings' outputs."""
        values = self.group_input(group).values_at(index)
        pull_at = self._pull_at

        def substitute(value: Any) -> Any:
            if isinstance(value, MappedArgument):
                return values[value.name]
            if (
                isinstance(value, XComArg)
                and pull_at is not None
                and mapped_group_of(value.operator) is group
            ):
                return self._sibling_output(value, index, pull_at)
            return value

        op = object.__new__(type(task))
        fields = op.__dict__
        fields.update(task.__dict__)
        fields.pop("_partita_no_templates", None)  # its field values are about to change
        if "op_args" in fields:
            fields["op_args"] = [_deep(v, substitute) for v in fields["op_args"]]
            fields["op_kwargs"] = {k: _deep(v, substitute) for k, v in fields["op_kwargs"].items()}
            fields["has_refs"] = True  # outputs of tasks outside the group resolve as usual
        return op

    def _sibling_output(
        self, ref: XComArg, index: int, pull_at: Callable[[str, int, str], Any]
    ) -> Any:
        """Group instance ``index`` of a sibling's output; of a mapped sibling, its ``width``."""
        sibling = ref.operator
        task_id, key = sibling.task_id, ref.key
        width = self.width(sibling)
        if not isinstance(sibling, MappedOperator):
            return pull_at(task_id, index, key)
        first = index * width
        return LazyOutputs(lambda i: pull_at(task_id, first + i, key), width, task_id)


def _deep(value: Any, substitute: Callable[[Any], Any]) -> Any:
    replaced = substitute(value)
    if replaced is not value:
        return replaced
    if isinstance(value, list):
        return [_deep(v, substitute) for v in value]
    if isinstance(value, tuple):
        return tuple(_deep(v, substitute) for v in value)
    if isinstance(value, dict):
        return {k: _deep(v, substitute) for k, v in value.items()}
    return value


def map_sources(dag: DAG) -> dict[str, list[tuple[str, str]]]:
    """Task id -> (output key, mapped task) for each of its outputs a mapped task expands over.

    Only unmapped tasks are listed: their output must be a collection.
    """
    sources: dict[str, list[tuple[str, str]]] = {}
    for task in dag.task_dict.values():
        group = mapped_group_of(task)
        expand_input = task.expand_input if isinstance(task, MappedOperator) else None
        if expand_input is None and group is not None:
            expand_input = group.expand_input
        if expand_input is None:
            continue
        for ref in expand_input.refs():
            for op in ref.operators():
                if not is_mapped(op):
                    sources.setdefault(op.task_id, []).append((ref.key, task.task_id))
    return sources


__all__ = ["InstanceResolver", "LazyOutputs", "map_sources"]
