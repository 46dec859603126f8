"""Mapping a ``@task``: ``add.partial(y=10).expand(x=[1, 2, 3])`` and ``add.expand_kwargs(...)``.

A mapped ``@task`` is a ``MappedOperator`` over ``DecoratedPythonOperator``
whose mapped values become keyword arguments of the function
(``map_into="op_kwargs"``), so each instance calls the function once with
its own arguments. Names given to ``expand`` must be parameters of the
function; task arguments (``retries``, ``task_id``...) go to ``override``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from partita.definitions import authoring
from partita.definitions.mapping import (
    DictOfListsInput,
    ExpandInput,
    ListOfDictsInput,
    MappedOperator,
    base_params,
)
from partita.definitions.xcom_arg import XComArg
from partita.exceptions import DefinitionError
from partita.operators.python import CallSpec

if TYPE_CHECKING:
    from partita.operators.taskflow import TaskDecorator

_TASK_LEVEL = {"max_map_length", "max_active_tis_per_dagrun"}


class TaskPartial:
    """A ``@task`` with some arguments fixed; ``expand`` maps it over the others."""

    def __init__(self, decorator: TaskDecorator, fixed: dict[str, Any]) -> None:
        self.decorator = decorator
        self.fixed = fixed
        self.spec = CallSpec.of(decorator.function)
        name = decorator.function.__name__
        for key in fixed:
            if key in base_params() or key in _TASK_LEVEL:
                raise DefinitionError(
                    f"@task {name}: partial() takes the function's arguments; give task "
                    f"argument {key!r} with {name}.override({key}=...)"
                )

    def expand(self, **mapped: Any) -> XComArg:
        name = self.decorator.function.__name__
        if not mapped:
            raise DefinitionError(f"@task {name}: expand() needs at least one argument")
        for key in mapped:
            if key in base_params() or key in _TASK_LEVEL:
                raise DefinitionError(
                    f"@task {name}: argument {key!r} cannot be mapped (it belongs to the task); "
                    f"use {name}.override({key}=...)"
                )
            if key not in self.spec.names and not self.spec.var_keyword:
                raise DefinitionError(f"@task {name}: the function has no parameter {key!r}")
        return self._build(DictOfListsInput(mapped))

    def expand_kwargs(self, kwargs_list: Any) -> XComArg:
        return self._build(ListOfDictsInput(kwargs_list))

    def _build(self, expand_input: ExpandInput) -> XComArg:
        options = dict(self.decorator.task_kwargs)
        label = options.pop("task_id", None) or self.decorator.function.__name__
        dag = authoring.current_dag()
        if dag is not None:
            label = dag.unique_task_label(label, authoring.current_group())
        base = {k: v for k, v in options.items() if k in base_params() or k in _TASK_LEVEL}
        rest = {k: v for k, v in options.items() if k not in base}
        if base.get("multiple_outputs") is None:
            base["multiple_outputs"] = False
        conditions = getattr(self.decorator, "conditions", ())
        if conditions:
            rest["run_conditions"] = conditions
        operator = MappedOperator(
            operator_class=self.decorator.operator_class,
            partial_kwargs={
                "python_callable": self.decorator.function,
                "op_args": [],
                "op_kwargs": dict(self.fixed),
                **rest,
            },
            expand_input=expand_input,
            map_into="op_kwargs",
            task_id=label,
            **base,
        )
        return XComArg(operator)


__all__ = ["TaskPartial"]
