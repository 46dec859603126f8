"""``pre_execute=`` / ``post_execute=``: functions a task calls just before and after ``execute``.

Airflow's task arguments, with its rules: ``pre_execute(context)`` runs right
before ``execute``, ``post_execute(context, result)`` right after it returns
(with its output); an exception from either fails the try like one from
``execute``. A hook that is a generator may yield ``Metadata`` to annotate the
task's asset events, as a task function may (``definitions/asset_metadata.py``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from partita.exceptions import DefinitionError


@dataclass(frozen=True)
class ExecuteHooks:
    """A task's ``pre_execute`` and ``post_execute`` functions (either may be None)."""

    pre: Callable[..., Any] | None
    post: Callable[..., Any] | None

    def run(self, execute: Callable[[Any], Any], context: Any) -> Any:
        """``execute(context)`` between the two hooks; returns its result."""
        if self.pre is not None:
            _call(self.pre, context)
        result = execute(context)
        if self.post is not None:
            _call(self.post, context, result)
        return result


def _call(hook: Callable[..., Any], context: Any, *args: Any) -> None:
    value = hook(context, *args)
    if inspect.isgenerator(value):
        from partita.definitions.asset_metadata import drain_metadata

        drain_metadata(value, context)


def execute_hooks(pre: Any, post: Any, where: str) -> ExecuteHooks:
    """The hooks given to a task, checked."""
    for name, hook in (("pre_execute", pre), ("post_execute", post)):
        if hook is not None and not callable(hook):
            raise DefinitionError(
                f"{where}: {name} must be a function, got {hook!r}; e.g. "
                f"{name}=lambda context{'' if name == 'pre_execute' else ', result'}: ..."
            )
    return ExecuteHooks(pre, post)


__all__ = ["ExecuteHooks", "execute_hooks"]
