"""The run context a task sees: ``Context``, and ``get_current_context()``.

``Context`` is a plain dict subclass (so ``**context`` is cheap) used as a
marker: a task parameter annotated ``Context`` or named ``context`` receives
it. The engine sets the current context in a ``ContextVar`` while a task runs.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any

from partita.exceptions import PartitaError


class Context(dict[str, Any]):
    """The keys Airflow gives a task: ti, task, dag, dag_run, run_id, logical_date, ds, ..."""


_current: ContextVar[Context | None] = ContextVar("partita_current_context", default=None)


def get_current_context() -> Context:
    """The context of the task running now; an error outside a task."""
    ctx = _current.get()
    if ctx is None:
        raise PartitaError(
            "get_current_context() was called outside a running task; "
            "call it from inside a task's function (or take a 'context' parameter)"
        )
    return ctx


def set_current_context(ctx: Context | None) -> Token[Context | None]:
    """Make ``ctx`` current; returns the token for ``reset_current_context``."""
    return _current.set(ctx)


def reset_current_context(token: Token[Context | None]) -> None:
    _current.reset(token)


__all__ = ["Context", "get_current_context"]
