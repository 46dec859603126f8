"""``@task``: a Python function becomes a task; calling it inside a DAG adds one.

Calling a decorated function returns an ``XComArg`` (its future output), so
``deploy_model(train_model())`` both wires the dependency and passes the
value. Calling it twice in one DAG gives ``name`` and ``name__1``. The
decorator takes the keyword arguments of ``PythonOperator`` and
``BaseOperator``; they are checked by those classes, not listed here again.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable
from typing import Any

from partita.definitions import authoring
from partita.definitions.xcom_arg import XComArg
from partita.operators.python import DecoratedPythonOperator


def _returns_dict(fn: Callable[..., Any]) -> bool:
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable annotations: no inference
        return False
    ret = hints.get("return")
    origin = typing.get_origin(ret) or ret
    return origin is dict or origin is typing.Dict  # noqa: UP006


class TaskDecorator:
    """A decorated function; call it inside a DAG to add a task."""

    operator_class: type[DecoratedPythonOperator] = DecoratedPythonOperator

    def __init__(self, function: Callable[..., Any], task_kwargs: dict[str, Any]) -> None:
        functools.update_wrapper(self, function)
        self.function = function
        self.task_kwargs = task_kwargs

    def __call__(self, *args: Any, **kwargs: Any) -> XComArg:
        options = dict(self.task_kwargs)
        label = options.pop("task_id", None) or self.function.__name__
        dag = authoring.current_dag()
        if dag is not None:
            label = dag.unique_task_label(label, authoring.current_group())
        if options.get("multiple_outputs") is None:
            options["multiple_outputs"] = _returns_dict(self.function)
        operator = self.operator_class(
            task_id=label,
            python_callable=self.function,
            op_args=args,
            op_kwargs=kwargs,
            **options,
        )
        return XComArg(operator)

    def override(self, **task_kwargs: Any) -> TaskDecorator:
        """The same function with some task arguments changed (``task_id``, ``retries``...)."""
        return type(self)(self.function, {**self.task_kwargs, **task_kwargs})


class _TaskFactory:
    """``task`` itself: ``@task``, ``@task(...)`` and ``@task.python``."""

    def __call__(
        self, python_callable: Callable[..., Any] | None = None, **task_kwargs: Any
    ) -> Any:
        if python_callable is not None:
            return TaskDecorator(python_callable, task_kwargs)
        return lambda fn: TaskDecorator(fn, task_kwargs)

    python = __call__


task = _TaskFactory()

__all__ = ["TaskDecorator", "task"]
