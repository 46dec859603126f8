"""Run-time side of dynamic task mapping: lazy sequences of mapped outputs, per-instance operators.

A task downstream of a mapped task reads its output as a ``LazyOutputs``
sequence: index ``i`` loads instance ``i``'s value only when read, so a
100,000-instance map is never copied into one list. ``InstanceResolver``
turns ``(task_id, map_index)`` into the operator that runs, resolving each
mapped task's input once per run.

A task inside mapped groups (nested ones too), or mapped inside one, has
the product of their lengths (and its own) instances, laid out outermost
group first: with groups of lengths ``n1, n2`` and its own length ``k``,
instance ``j`` is own element ``j % k`` of element ``(j // k) % n2`` of the
inner group and element ``j // (n2 * k)`` of the outer one. Its *width* at
a group is how many of its instances one instance of that group holds.
"""

from __future__ import annotations

import math
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
from partita.definitions.states import TriggerRule
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
    """The innermost mapped task group the task belongs to, if any."""
    group = task.task_group
    return group.mapped_group() if group is not None else None


def mapped_groups_of(task: BaseOperator) -> tuple[TaskGroup, ...]:
    """Every mapped task group the task belongs to, outermost first."""
    chain: list[TaskGroup] = []
    group = task.task_group
    while group is not None:
        if group.expand_input is not None:
            chain.append(group)
        group = group.parent_group
    return tuple(reversed(chain))


def is_mapped(task: BaseOperator) -> bool:
    """Whether the task has one instance per element of something known only at run time."""
    return isinstance(task, MappedOperator) or mapped_group_of(task) is not None


def task_spec(task: BaseOperator) -> TaskSpec:
    """What the state machine needs to know of a task."""
    groups = [g.group_id for g in mapped_groups_of(task) if g.group_id is not None]
    teardown = getattr(task, "is_teardown", False)
    setups: tuple[str, ...] = ()
    if task.trigger_rule is TriggerRule.ALL_DONE_SETUP_SUCCESS and task.dag is not None:
        tasks = task.dag.task_dict
        setups = tuple(t for t in task.upstream_task_ids if getattr(tasks[t], "is_setup", False))
    may_skip = getattr(task, "may_skip_task_ids", None)
    return TaskSpec(
        task.task_id,
        tuple(task.upstream_task_ids),
        tuple(task.downstream_task_ids),
        task.trigger_rule,
        is_mapped(task),
        getattr(task, "max_active_tis_per_dagrun", None),
        groups[-1] if groups else None,
        isinstance(task, MappedOperator) and bool(groups),
        tuple(groups[:-1]),
        tuple(sorted(may_skip())) if may_skip is not None else (),
        setups,
        teardown,
        bool(getattr(task, "on_failure_fail_dagrun", False)),
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
        self._chains: dict[str, tuple[TaskGroup, ...]] = {}
        self._widths: dict[str, tuple[int, ...]] = {}

    def _chain(self, task: BaseOperator) -> tuple[TaskGroup, ...]:
        chain = self._chains.get(task.task_id)
        if chain is None:
            chain = self._chains[task.task_id] = mapped_groups_of(task)
        return chain

    def _radix(self, task: BaseOperator) -> list[int]:
        """The lengths an instance index is made of: each mapped group's, then the task's own."""
        sizes = [self.group_input(group).length for group in self._chain(task)]
        if isinstance(task, MappedOperator):
            sizes.append(self.resolved_input(task).length)
        return sizes

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
        if not isinstance(task, MappedOperator) and not self._chain(task):
            raise MapInputError(f"task {task.task_id!r} is not mapped")
        return math.prod(self._radix(task))

    def widths(self, task: BaseOperator) -> tuple[int, ...]:
        """Instances of ``task`` per instance of each of its mapped groups, outermost first."""
        widths = self._widths.get(task.task_id)
        if widths is None:
            radix = self._radix(task)
            levels = range(1, len(self._chain(task)) + 1)
            widths = self._widths[task.task_id] = tuple(math.prod(radix[lv:]) for lv in levels)
        return widths

    def operator(self, task_id: str, map_index: int) -> BaseOperator:
        task = self._tasks[task_id]
        if map_index < 0:
            return task
        chain = self._chain(task)
        if isinstance(task, MappedOperator):
            resolved = self.resolved_input(task)
            instance = task.unmap(resolved.values_at(map_index % resolved.length))
            return self._group_member(task, instance, map_index) if chain else instance
        if not chain:
            return task
        return self._group_member(task, task, map_index)

    def _group_member(self, task: BaseOperator, source: BaseOperator, index: int) -> BaseOperator:
        """``source`` for instance ``index`` of ``task``: group values and siblings' outputs."""
        chain = self._chain(task)
        widths = self.widths(task)
        pull_at = self._pull_at

        def substitute(value: Any) -> Any:
            if isinstance(value, MappedArgument) and value.group in chain:
                level = chain.index(value.group) + 1
                resolved = self.group_input(value.group)
                element = (index // widths[level - 1]) % resolved.length
                return resolved.values_at(element)[value.name]
            if isinstance(value, XComArg) and pull_at is not None:
                level = _shared_levels(chain, self._chain(value.operator))
                if level:
                    return self._sibling_output(value, level, index // widths[level - 1], pull_at)
            return value

        op = object.__new__(type(source))
        fields = op.__dict__
        fields.update(source.__dict__)
        fields.pop("_partita_no_templates", None)  # its field values are about to change
        if "op_args" in fields:
            fields["op_args"] = [_deep(v, substitute) for v in fields["op_args"]]
            fields["op_kwargs"] = {k: _deep(v, substitute) for k, v in fields["op_kwargs"].items()}
            fields["has_refs"] = True  # outputs of tasks outside the group resolve as usual
        return op

    def _sibling_output(
        self, ref: XComArg, level: int, index: int, pull_at: Callable[[str, int, str], Any]
    ) -> Any:
        """A sibling's output for instance ``index`` of the ``level``-th mapped group both share.

        One value when the sibling has one instance per instance of that group;
        otherwise the lazy list of its instances there (Airflow's partial reduce).
        """
        sibling = ref.operator
        task_id, key = sibling.task_id, ref.key
        if not isinstance(sibling, MappedOperator) and len(self._chain(sibling)) == level:
            return pull_at(task_id, index, key)
        width = self.widths(sibling)[level - 1]
        first = index * width
        return LazyOutputs(lambda i: pull_at(task_id, first + i, key), width, task_id)


def _shared_levels(a: tuple[TaskGroup, ...], b: tuple[TaskGroup, ...]) -> int:
    """How many mapped groups, from the outermost, two chains share."""
    level = 0
    for group_a, group_b in zip(a, b, strict=False):
        if group_a is not group_b:
            break
        level += 1
    return level


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
        inputs = [group.expand_input for group in mapped_groups_of(task)]
        if isinstance(task, MappedOperator):
            inputs.append(task.expand_input)
        for expand_input in inputs:
            if expand_input is None:
                continue
            for ref in expand_input.refs():
                for op in ref.operators():
                    if not is_mapped(op):
                        sources.setdefault(op.task_id, []).append((ref.key, task.task_id))
    return sources


__all__ = ["InstanceResolver", "LazyOutputs", "map_sources"]
