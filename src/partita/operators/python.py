"""``PythonOperator`` and the operator behind ``@task``; how a callable gets its arguments.

A callable receives the context keys it asks for by name, everything if it
takes ``**kwargs``, and the whole context through a parameter named
``context`` or annotated ``Context`` (Airflow's rules, plus partita's
``context`` parameter). What a callable accepts is read from its signature
once, when the task is defined, not on every run.

``op_args``, ``op_kwargs`` and ``templates_dict`` are template fields: the
engine renders them before ``execute`` (``engine/templating.py``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from partita.definitions.baseoperator import BaseOperator
from partita.definitions.context import Context
from partita.definitions.xcom_arg import DagParam, XComArg, find_refs, resolve_refs
from partita.exceptions import DefinitionError, SkipTask


@dataclass(frozen=True, slots=True)
class CallSpec:
    """What a callable accepts, read once from its signature."""

    names: frozenset[str]
    positional: tuple[str, ...]
    var_keyword: bool
    context_param: str | None

    @classmethod
    def of(cls, fn: Callable[..., Any]) -> CallSpec:
        try:
            signature = inspect.signature(fn)
        except (TypeError, ValueError):
            return cls(frozenset(), (), False, None)
        names: set[str] = set()
        positional: list[str] = []
        var_keyword = False
        context_param = None
        for p in signature.parameters.values():
            if p.kind is p.VAR_KEYWORD:
                var_keyword = True
                continue
            if p.kind is p.VAR_POSITIONAL:
                continue
            names.add(p.name)
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                positional.append(p.name)
            annotation = p.annotation
            if p.name == "context" or annotation is Context or annotation == "Context":
                context_param = p.name
        return cls(frozenset(names), tuple(positional), var_keyword, context_param)

    def kwargs_for(
        self, context: Context, n_args: int, explicit: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Keyword arguments for a call with ``n_args`` positional and ``explicit`` keywords."""
        taken = set(self.positional[:n_args]) | set(explicit)
        if self.var_keyword:
            kwargs = {k: v for k, v in context.items() if k not in taken}
        else:
            kwargs = {k: context[k] for k in self.names if k in context and k not in taken}
        if self.context_param is not None and self.context_param not in taken:
            kwargs[self.context_param] = context
        kwargs.update(explicit)
        return kwargs


class PythonOperator(BaseOperator):
    """Calls ``python_callable(*op_args, **op_kwargs)``; its return value is the task's output."""

    template_fields = ("templates_dict", "op_args", "op_kwargs")
    ui_color = "#ffefeb"

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Sequence[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        templates_dict: Mapping[str, Any] | None = None,
        templates_exts: Sequence[str] | None = None,
        show_return_value_in_logs: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if templates_exts:  # template values ending so are read from template files
            self.template_ext = tuple(templates_exts)  # type: ignore[misc]
        if not callable(python_callable):
            raise DefinitionError(
                f"{self._where()}: python_callable must be callable, got {python_callable!r}"
            )
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        self.templates_dict = dict(templates_dict) if templates_dict is not None else None
        self.show_return_value_in_logs = show_return_value_in_logs
        self.call_spec = CallSpec.of(python_callable)

    def execute(self, context: Context) -> Any:
        if self.templates_dict is not None:
            context["templates_dict"] = self.templates_dict
        args, explicit = self.arguments(context)
        kwargs = self.call_spec.kwargs_for(context, len(args), explicit)
        return self.python_callable(*args, **kwargs)

    def arguments(self, context: Context) -> tuple[list[Any], dict[str, Any]]:
        """The positional and keyword arguments given when the task was defined."""
        return self.op_args, self.op_kwargs


@dataclass(frozen=True, slots=True)
class RunCondition:
    """A ``@task.run_if`` / ``@task.skip_if`` check: ``condition(context)`` decides whether to run.

    The task runs when ``bool(condition(context)) == run_when``; otherwise it is
    skipped with ``message``.
    """

    condition: Callable[[Context], Any]
    run_when: bool
    message: str

    def check(self, context: Context) -> None:
        if bool(self.condition(context)) is not self.run_when:
            raise SkipTask(self.message)


class DecoratedPythonOperator(PythonOperator):
    """The operator a ``@task`` call creates: arguments may be other tasks' outputs."""

    def __init__(self, *, run_conditions: Sequence[RunCondition] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_conditions = tuple(run_conditions)
        refs = list(find_refs(self.op_args)) + list(find_refs(self.op_kwargs))
        self.has_refs = bool(refs)
        for ref in refs:
            if isinstance(ref, XComArg):
                self.set_upstream(ref.operator)

    def execute(self, context: Context) -> Any:
        for condition in self.run_conditions:
            condition.check(context)
        return super().execute(context)

    def arguments(self, context: Context) -> tuple[list[Any], dict[str, Any]]:
        if not self.has_refs:
            return self.op_args, self.op_kwargs
        ti = context["ti"]
        params = context.get("params", {})

        def resolve(ref: XComArg | DagParam) -> Any:
            if isinstance(ref, DagParam):
                return params.get(ref.name, ref.default)
            return ref.resolve(lambda task_id, key: ti.xcom_pull(task_ids=task_id, key=key))

        return resolve_refs(self.op_args, resolve), resolve_refs(self.op_kwargs, resolve)


__all__ = ["CallSpec", "DecoratedPythonOperator", "PythonOperator", "RunCondition"]
