"""``@setup`` and ``@teardown``: ``@task`` functions whose tasks are setups or teardowns.

``@setup`` over a function (or over ``@task``/``@task.bash``...) makes each
call add a setup task; ``@teardown`` (or ``@teardown(on_failure_fail_dagrun=True)``)
a teardown. Link a teardown to its setups with ``.as_teardown(setups=...)``
on the call's output, ``setup_task >> teardown_task``, or a ``with`` block
(definitions/setup_teardown.py has the rules).

The design decision: the decorators wrap the ``@task`` decorator and mark
the operator each call creates; they add no operator class of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from partita.definitions.xcom_arg import XComArg
from partita.exceptions import DefinitionError
from partita.operators.taskflow import TaskDecorator, task


class SetupTeardownDecorator:
    """A ``@task`` function whose calls add setup (or teardown) tasks."""

    def __init__(
        self, decorated: TaskDecorator, teardown: bool, on_failure_fail_dagrun: bool | None
    ) -> None:
        self.decorated = decorated
        self.teardown = teardown
        self.on_failure_fail_dagrun = on_failure_fail_dagrun
        self.__wrapped__ = decorated.function
        self.__name__ = getattr(decorated.function, "__name__", "task")
        self.__doc__ = decorated.function.__doc__

    def __call__(self, *args: Any, **kwargs: Any) -> XComArg:
        output = self.decorated(*args, **kwargs)
        if self.teardown:
            return output.as_teardown(on_failure_fail_dagrun=self.on_failure_fail_dagrun)
        return output.as_setup()

    def override(self, **task_kwargs: Any) -> SetupTeardownDecorator:
        """The same function with some task arguments changed (``task_id``, ``retries``...)."""
        return SetupTeardownDecorator(
            self.decorated.override(**task_kwargs), self.teardown, self.on_failure_fail_dagrun
        )

    def _unsupported(self, *args: Any, **kwargs: Any) -> Any:
        role = "teardown" if self.teardown else "setup"
        raise DefinitionError(
            f"@{role} task {self.__name__!r}: a mapped {role} task (partial/expand) is not "
            f"supported yet; map the work between the setup and the teardown instead"
        )

    partial = expand = expand_kwargs = _unsupported


def _as_task(function: Any, what: str) -> TaskDecorator:
    if isinstance(function, TaskDecorator):
        return function
    if isinstance(function, SetupTeardownDecorator):
        raise DefinitionError(f"@{what} is written twice over {function.__name__!r}; keep one")
    if not callable(function):
        raise DefinitionError(f"@{what} decorates a function or a @task, not {function!r}")
    decorated: TaskDecorator = task(function)
    return decorated


def setup(function: Callable[..., Any]) -> SetupTeardownDecorator:
    """``@setup``: each call of the function adds a setup task (Airflow's ``@setup``)."""
    return SetupTeardownDecorator(_as_task(function, "setup"), False, None)


def teardown(
    function: Callable[..., Any] | None = None, *, on_failure_fail_dagrun: bool | None = None
) -> Any:
    """``@teardown`` / ``@teardown(on_failure_fail_dagrun=True)``: calls add teardown tasks."""
    if on_failure_fail_dagrun is not None and not isinstance(on_failure_fail_dagrun, bool):
        raise DefinitionError(
            f"@teardown: on_failure_fail_dagrun must be True or False, "
            f"got {on_failure_fail_dagrun!r}"
        )

    def wrap(fn: Callable[..., Any]) -> SetupTeardownDecorator:
        return SetupTeardownDecorator(_as_task(fn, "teardown"), True, on_failure_fail_dagrun)

    return wrap(function) if function is not None else wrap


__all__ = ["SetupTeardownDecorator", "setup", "teardown"]
