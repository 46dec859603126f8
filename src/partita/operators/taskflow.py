"""``@task``: a Python function becomes a task; calling it inside a DAG adds one.

Calling a decorated function returns an ``XComArg`` (its future output), so
``deploy_model(train_model())`` both wires the dependency and passes the
value. Calling it twice in one DAG gives ``name`` and ``name__1``. The
decorator takes the keyword arguments of ``PythonOperator`` and
``BaseOperator``; they are checked by those classes, not listed here again.

Variants: ``@task.bash`` (returns a bash command to run), ``@task.branch``
(returns the task ids to follow),
``@task.short_circuit`` (a falsy result skips what follows),
``@task.sensor`` (the function is a sensor's poke), ``@task.virtualenv`` /
``@task.external_python`` and their ``branch_`` forms (the function runs in
another interpreter, ``operators.virtualenv``), and the
conditions ``@task.run_if(cond)`` / ``@task.skip_if(cond)``, written above
any of them, which skip the task when ``cond(context)`` says so.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable
from typing import Any

from partita.definitions import authoring
from partita.definitions.context import Context
from partita.definitions.xcom_arg import XComArg
from partita.exceptions import DefinitionError
from partita.operators.bash_task import DecoratedBashOperator
from partita.operators.branch import DecoratedBranchOperator, DecoratedShortCircuitOperator
from partita.operators.mapped_task import TaskPartial
from partita.operators.python import DecoratedPythonOperator, PythonOperator, RunCondition
from partita.sensors.python import DecoratedSensorOperator

Condition = Callable[[Context], Any]


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

    operator_class: type[PythonOperator] = DecoratedPythonOperator

    def __init__(
        self,
        function: Callable[..., Any],
        task_kwargs: dict[str, Any],
        conditions: tuple[RunCondition, ...] = (),
    ) -> None:
        functools.update_wrapper(self, function)
        self.function = function
        self.task_kwargs = task_kwargs
        self.conditions = conditions

    def __call__(self, *args: Any, **kwargs: Any) -> XComArg:
        options = dict(self.task_kwargs)
        label = options.pop("task_id", None) or self.function.__name__
        dag = authoring.current_dag()
        if dag is not None:
            label = dag.unique_task_label(label, authoring.current_group())
        if options.get("multiple_outputs") is None:
            options["multiple_outputs"] = _returns_dict(self.function)
        if self.conditions:
            options["run_conditions"] = self.conditions
        operator = self.operator_class(
            task_id=label,
            python_callable=self.function,
            op_args=args,
            op_kwargs=kwargs,
            **options,
        )
        return XComArg(operator)

    def partial(self, **fixed: Any) -> TaskPartial:
        """Fix some of the function's arguments for every instance of a mapped task."""
        return TaskPartial(self, fixed)

    def expand(self, **mapped: Any) -> XComArg:
        """One task instance per element (cross product over several arguments)."""
        return TaskPartial(self, {}).expand(**mapped)

    def expand_kwargs(self, kwargs_list: Any) -> XComArg:
        """One task instance per dict of arguments."""
        return TaskPartial(self, {}).expand_kwargs(kwargs_list)

    def override(self, **task_kwargs: Any) -> TaskDecorator:
        """The same function with some task arguments changed (``task_id``, ``retries``...)."""
        return type(self)(self.function, {**self.task_kwargs, **task_kwargs}, self.conditions)

    def with_condition(self, condition: RunCondition) -> TaskDecorator:
        """The same task, checking ``condition`` before it runs (conditions apply top first)."""
        return type(self)(self.function, self.task_kwargs, (condition, *self.conditions))


class BranchDecorator(TaskDecorator):
    """``@task.branch``: the function returns the task id(s) to follow."""

    operator_class = DecoratedBranchOperator


class ShortCircuitDecorator(TaskDecorator):
    """``@task.short_circuit``: a falsy return value skips the tasks downstream."""

    operator_class = DecoratedShortCircuitOperator


class SensorDecorator(TaskDecorator):
    """``@task.sensor``: the function is the poke (a bool, or ``PokeReturnValue``)."""

    operator_class = DecoratedSensorOperator


def _decorate(
    kind: type[TaskDecorator], python_callable: Callable[..., Any] | None, task_kwargs: Any
) -> Any:
    if python_callable is not None:
        return kind(python_callable, task_kwargs)
    return lambda fn: kind(fn, task_kwargs)


def _condition_decorator(
    what: str, condition: Condition, run_when: bool, message: str
) -> Callable[[TaskDecorator], TaskDecorator]:
    if not callable(condition):
        raise DefinitionError(
            f"@task.{what} needs a callable that takes the context, got {condition!r}"
        )

    def apply(decorated: TaskDecorator) -> TaskDecorator:
        if not isinstance(decorated, TaskDecorator):
            raise DefinitionError(
                f"@task.{what} must be written above @task (or @task.branch...), not below it: "
                f"it applies to a task, and {decorated!r} is not one yet"
            )
        return decorated.with_condition(RunCondition(condition, run_when, message))

    return apply


class BashDecorator(TaskDecorator):
    """``@task.bash``: the function returns a bash command, run like ``BashOperator``."""

    operator_class = DecoratedBashOperator


def _elsewhere(kind: str, python_callable: Callable[..., Any] | None, task_kwargs: Any) -> Any:
    """A decorator whose operator runs the function in another interpreter (imported on use)."""
    from partita.operators import virtualenv

    operator_class = getattr(virtualenv, kind)
    decorator = type(f"{kind}Decorator", (TaskDecorator,), {"operator_class": operator_class})
    return _decorate(decorator, python_callable, task_kwargs)


class _TaskFactory:
    """``task`` itself: ``@task``, ``@task(...)``, ``@task.python`` and the variants."""

    def __call__(
        self, python_callable: Callable[..., Any] | None = None, **task_kwargs: Any
    ) -> Any:
        return _decorate(TaskDecorator, python_callable, task_kwargs)

    python = __call__

    def branch(self, python_callable: Callable[..., Any] | None = None, **task_kwargs: Any) -> Any:
        """``@task.branch``: return a task id, a list of them, or None (skip all)."""
        return _decorate(BranchDecorator, python_callable, task_kwargs)

    def short_circuit(
        self, python_callable: Callable[..., Any] | None = None, **task_kwargs: Any
    ) -> Any:
        """``@task.short_circuit``: a falsy result skips the tasks downstream."""
        return _decorate(ShortCircuitDecorator, python_callable, task_kwargs)

    def bash(self, python_callable: Callable[..., Any] | None = None, **task_kwargs: Any) -> Any:
        """``@task.bash``: return a bash command; its last line of output is the task's output."""
        return _decorate(BashDecorator, python_callable, task_kwargs)

    def sensor(self, python_callable: Callable[..., Any] | None = None, **task_kwargs: Any) -> Any:
        """``@task.sensor``: poke until the function returns True or ``PokeReturnValue(True, v)``.

        Takes the sensor arguments (``poke_interval``, ``timeout``, ``mode``,
        ``soft_fail``, ``exponential_backoff``, ``max_wait``) besides the task's.
        """
        return _decorate(SensorDecorator, python_callable, task_kwargs)

    def virtualenv(
        self, python_callable: Callable[..., Any] | None = None, **task_kwargs: Any
    ) -> Any:
        """``@task.virtualenv``: run in a cached virtualenv (``requirements=``, ...)."""
        return _elsewhere("PythonVirtualenvOperator", python_callable, task_kwargs)

    def external_python(
        self, python_callable: Callable[..., Any] | None = None, **task_kwargs: Any
    ) -> Any:
        """``@task.external_python``: run with the interpreter ``python=``."""
        return _elsewhere("ExternalPythonOperator", python_callable, task_kwargs)

    def branch_virtualenv(
        self, python_callable: Callable[..., Any] | None = None, **task_kwargs: Any
    ) -> Any:
        """``@task.branch_virtualenv``: a branch whose function runs in a virtualenv."""
        return _elsewhere("BranchPythonVirtualenvOperator", python_callable, task_kwargs)

    def branch_external_python(
        self, python_callable: Callable[..., Any] | None = None, **task_kwargs: Any
    ) -> Any:
        """``@task.branch_external_python``: a branch whose function runs with ``python=``."""
        return _elsewhere("BranchExternalPythonOperator", python_callable, task_kwargs)

    def run_if(
        self, condition: Condition, skip_message: str | None = None
    ) -> Callable[[TaskDecorator], TaskDecorator]:
        """Run the task only if ``condition(context)`` is true; otherwise it is skipped."""
        message = skip_message or "run_if condition is false; the task is skipped"
        return _condition_decorator("run_if", condition, True, message)

    def skip_if(
        self, condition: Condition, skip_message: str | None = None
    ) -> Callable[[TaskDecorator], TaskDecorator]:
        """Skip the task if ``condition(context)`` is true."""
        message = skip_message or "skip_if condition is true; the task is skipped"
        return _condition_decorator("skip_if", condition, False, message)


task = _TaskFactory()

__all__ = [
    "BashDecorator",
    "BranchDecorator",
    "SensorDecorator",
    "ShortCircuitDecorator",
    "TaskDecorator",
    "task",
]
