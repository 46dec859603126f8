"""The run context a task sees: ``Context``, and ``get_current_context()``.

``Context`` is a plain dict subclass (so ``**context`` is cheap) used as a
marker: a task parameter annotated ``Context`` or named ``context`` receives
it. The engine sets the current context in a ``ContextVar`` while a task runs.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any

from partita.exceptions import PartitaError

#: The keys a task's context may hold. A ``@task`` parameter with one of these names
#: receives the context's value; any other unbound parameter is looked up as a resource.
CONTEXT_KEYS = frozenset(
    {
        "dag", "dag_run", "run_id", "logical_date", "execution_date", "data_interval_start",
        "data_interval_end", "ds", "ds_nodash", "ts", "ts_nodash", "params", "conf", "macros",
        "ti", "task_instance", "task", "map_index", "try_number", "log", "templates_dict",
        "config", "resources", "exception", "partition_key", "has_partition_key",
        "partition_time_window", "asset_partition_key_range", "partition_key_range",
        "partition_keys", "has_partition_key_range", "task_instance_key_str",
    }
)  # fmt: skip


def _task_instance_key_str(context: Any) -> str:
    return f"{context['dag'].dag_id}__{context['task'].task_id}__{context['ds_nodash']}"


#: Context values computed only when a task's function or a template names them (so a
#: task instance that does not use them pays nothing): name -> function of the context.
DERIVED_KEYS: dict[str, Any] = {"task_instance_key_str": _task_instance_key_str}


class Context(dict[str, Any]):
    """The keys Airflow gives a task: ti, task, dag, dag_run, run_id, logical_date, ds, ...

    Keys read as attributes too, as in Dagster: ``context.log.info(...)``,
    ``context.run_id``, ``context.resources.db``, ``context.config``.
    """

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"the task context has no {name!r}; its keys are: {', '.join(sorted(self))}"
            ) from None


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


__all__ = ["CONTEXT_KEYS", "DERIVED_KEYS", "Context", "get_current_context"]
