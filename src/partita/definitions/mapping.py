"""Dynamic task mapping: ``partial`` / ``expand`` / ``expand_kwargs`` and ``MappedOperator``.

``Op.partial(task_id=..., **fixed).expand(arg=[...])`` adds ONE task to the
DAG, a ``MappedOperator``; how many instances it has is known only at run
time, when its input is resolved. Each instance runs a real operator of the
original class, built by ``unmap(index, values)``: the first instance is
constructed normally; later ones are shallow copies with the mapped
attributes replaced, when construction is seen to store those arguments
unchanged (cheap at 100,000 instances), and fully constructed otherwise.

Arguments of ``BaseOperator`` (``task_id``, ``retries``, ``pool``...) are not
mappable: they belong to the task, not to an instance, and go to ``partial``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from partita.definitions import authoring
from partita.definitions.baseoperator import BaseOperator, _accepted_params
from partita.definitions.xcom_arg import XComArg, find_refs
from partita.exceptions import DefinitionError, PartitaError

DEFAULT_MAX_MAP_LENGTH = 100_000
_MISSING: Any = object()


def base_params() -> frozenset[str]:
    """The arguments of ``BaseOperator`` itself: task-level, never mapped."""
    return _accepted_params(BaseOperator)


class MapInputError(PartitaError):
    """A mapped task's input is not something that can be expanded over."""


def as_sequence(value: Any, what: str) -> Sequence[Any]:
    """A list/tuple/sequence as is; a dict as its (key, value) pairs; anything else an error."""
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return value
    raise MapInputError(
        f"{what} must be a list or a dict to expand over, got {type(value).__name__}"
    )


class ExpandInput:
    """What a mapped task expands over."""

    def refs(self) -> list[XComArg]:
        raise NotImplementedError

    def resolve(self, pull: Callable[[str, str], Any], task_id: str) -> ResolvedInput:
        raise NotImplementedError


class ResolvedInput:
    """An expand input with its run-time values: a length and the values of each index."""

    def __init__(self, length: int, values_at: Callable[[int], dict[str, Any]]) -> None:
        self.length = length
        self.values_at = values_at


class DictOfListsInput(ExpandInput):
    """``expand(x=[...], y=[...])``: the cross product, the last argument varying fastest."""

    def __init__(self, value: Mapping[str, Any]) -> None:
        self.value = dict(value)
        self._refs = [r for r in find_refs(self.value) if isinstance(r, XComArg)]

    def refs(self) -> list[XComArg]:
        return self._refs

    def resolve(self, pull: Callable[[str, str], Any], task_id: str) -> ResolvedInput:
        names = list(self.value)
        seqs: list[Sequence[Any]] = []
        for name in names:
            raw = self.value[name]
            value = raw.resolve(pull) if isinstance(raw, XComArg) else raw
            seqs.append(as_sequence(value, f"task {task_id!r}: expand argument {name!r}"))
        lengths = [len(s) for s in seqs]
        total = math.prod(lengths)

        def values_at(index: int) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for name, seq, n in zip(
                reversed(names), reversed(seqs), reversed(lengths), strict=True
            ):
                index, pos = divmod(index, n)
                out[name] = seq[pos]
            return out

        return ResolvedInput(total, values_at)


class ListOfDictsInput(ExpandInput):
    """``expand_kwargs([{...}, {...}])``: one instance per dict of arguments."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self._refs = [r for r in find_refs(self.value) if isinstance(r, XComArg)]

    def refs(self) -> list[XComArg]:
        return self._refs

    def resolve(self, pull: Callable[[str, str], Any], task_id: str) -> ResolvedInput:
        raw = self.value.resolve(pull) if isinstance(self.value, XComArg) else self.value
        seq = as_sequence(raw, f"task {task_id!r}: expand_kwargs input")

        def values_at(index: int) -> dict[str, Any]:
            item = seq[index]
            if not isinstance(item, Mapping) or not all(isinstance(k, str) for k in item):
                raise MapInputError(
                    f"task {task_id!r}: expand_kwargs element {index} must be a dict of "
                    f"argument names to values, got {type(item).__name__}"
                )
            return dict(item)

        return ResolvedInput(len(seq), values_at)


def check_mappable_names(operator_class: type, names: Sequence[str], where: str) -> None:
    """Reject names ``operator_class`` does not accept, and task-level ones."""
    accepted = _accepted_params(operator_class)
    fixed = base_params()
    for name in names:
        if name in fixed:
            raise DefinitionError(
                f"{where}: argument {name!r} cannot be mapped (it belongs to the task, not to "
                "each instance); pass it to partial() instead"
            )
        if name not in accepted:
            raise DefinitionError(f"{where}: {operator_class.__name__} has no argument {name!r}")


class MappedOperator(BaseOperator):
    """A task with one instance per element of its expand input (resolved at run time)."""

    def __init__(
        self,
        *,
        operator_class: type[BaseOperator],
        partial_kwargs: Mapping[str, Any],
        expand_input: ExpandInput,
        map_into: str | None = None,
        max_map_length: int = DEFAULT_MAX_MAP_LENGTH,
        max_active_tis_per_dagrun: int | None = None,
        **base_kwargs: Any,
    ) -> None:
        super().__init__(**base_kwargs)
        self.operator_class = operator_class
        self.partial_kwargs = dict(partial_kwargs)
        self.expand_input = expand_input
        self.map_into = map_into  # e.g. "op_kwargs" for @task: values become call arguments
        self.max_map_length = max_map_length
        self.max_active_tis_per_dagrun = max_active_tis_per_dagrun
        self._base_kwargs = {k: v for k, v in base_kwargs.items() if k not in ("dag", "task_group")}
        self.template_fields = operator_class.template_fields  # type: ignore[misc]
        self.template_ext = operator_class.template_ext  # type: ignore[misc]
        self.ui_color = operator_class.ui_color  # type: ignore[misc]
        self._template: BaseOperator | None = None
        self._copyable: frozenset[str] = frozenset()
        self.config_class, self.resource_requirements = operator_class.partial_requirements(
            self.partial_kwargs
        )
        for ref in list(expand_input.refs()) + [
            r for r in find_refs(self.partial_kwargs) if isinstance(r, XComArg)
        ]:
            for op in ref.operators():
                self.set_upstream(op)

    @property
    def operator_name(self) -> str:
        return self.operator_class.__name__

    def resolve_input(self, pull: Callable[[str, str], Any]) -> ResolvedInput:
        resolved = self.expand_input.resolve(pull, self.task_id)
        if resolved.length > self.max_map_length:
            raise MapInputError(
                f"task {self.task_id!r} would expand to {resolved.length} instances, more than "
                f"its max_map_length of {self.max_map_length}; pass a larger max_map_length "
                "to partial()"
            )
        return resolved

    def unmap(self, values: Mapping[str, Any]) -> BaseOperator:
        """A real operator for one instance, with ``values`` as its mapped arguments."""
        template = self._template
        if template is not None and self.map_into is None and self._copyable.issuperset(values):
            op = _shallow_copy(template)
            op.__dict__.update(values)
            return op
        if template is not None and self.map_into is not None:
            op = _shallow_copy(template)
            setattr(op, self.map_into, {**self.partial_kwargs.get(self.map_into, {}), **values})
            return op
        op = self._construct(values)
        if template is None:
            self._template = op
            self._copyable = frozenset(
                n for n, v in values.items() if getattr(op, n, _MISSING) is v
            )
            op = _shallow_copy(op)
        return op

    def _construct(self, values: Mapping[str, Any]) -> BaseOperator:
        kwargs = {**self._base_kwargs, **self.partial_kwargs}
        if self.map_into is not None:
            kwargs[self.map_into] = {**kwargs.get(self.map_into, {}), **values}
        else:
            kwargs.update(values)
        kwargs["task_id"] = self.label
        with authoring.building_instance():
            op = self.operator_class(**kwargs)
        op.task_id = self.task_id
        op.dag = self.dag
        op.task_group = self.task_group
        op.upstream_task_ids = self.upstream_task_ids
        op.downstream_task_ids = self.downstream_task_ids
        return op


def _shallow_copy(op: BaseOperator) -> BaseOperator:
    new = object.__new__(type(op))
    new.__dict__.update(op.__dict__)
    new.__dict__.pop("_partita_no_templates", None)  # its field values are about to change
    return new


class OperatorPartial:
    """What ``Op.partial(...)`` returns; finish it with ``expand`` or ``expand_kwargs``."""

    def __init__(self, operator_class: type[BaseOperator], kwargs: dict[str, Any]) -> None:
        if "task_id" not in kwargs:
            raise DefinitionError(f"{operator_class.__name__}.partial() needs a task_id")
        self.operator_class = operator_class
        self.kwargs = kwargs

    def _split(self) -> tuple[dict[str, Any], dict[str, Any]]:
        fixed = base_params() | {"max_map_length", "max_active_tis_per_dagrun"}
        base = {k: v for k, v in self.kwargs.items() if k in fixed}
        rest = {k: v for k, v in self.kwargs.items() if k not in fixed}
        return base, rest

    def expand(self, **mapped: Any) -> MappedOperator:
        where = f"{self.operator_class.__name__}(task_id={self.kwargs['task_id']!r}).expand()"
        if not mapped:
            raise DefinitionError(f"{where}: give at least one argument to expand over")
        check_mappable_names(self.operator_class, list(mapped), where)
        base, rest = self._split()
        return MappedOperator(
            operator_class=self.operator_class,
            partial_kwargs=rest,
            expand_input=DictOfListsInput(mapped),
            **base,
        )

    def expand_kwargs(self, kwargs_list: Any) -> MappedOperator:
        base, rest = self._split()
        return MappedOperator(
            operator_class=self.operator_class,
            partial_kwargs=rest,
            expand_input=ListOfDictsInput(kwargs_list),
            **base,
        )


__all__ = [
    "DEFAULT_MAX_MAP_LENGTH",
    "DictOfListsInput",
    "ExpandInput",
    "ListOfDictsInput",
    "MapInputError",
    "MappedOperator",
    "OperatorPartial",
    "ResolvedInput",
    "as_sequence",
]
