"""Storing and loading values through IO managers, from inside a running task.

Used by ``@task(io_manager_key=...)`` (mapped or not: each instance of a
mapped task is stored under its map index) and by asset tasks: the IO manager is
the run's resource of that key (``context["resources"]``); what goes wrong is
turned into an error that names the task or asset, the IO manager, and what
to do.

The design decision: "nothing stored" is recognised from
``ValueNotFoundError`` or ``FileNotFoundError`` raised by ``load_input``,
so a custom IO manager only has to raise one of them to get the same
message as the built-in ones.
"""

from __future__ import annotations

from typing import Any

from partita.definitions.context import Context
from partita.definitions.io_manager import InputContext, IOManager, OutputContext
from partita.definitions.xcom_arg import RETURN_KEY
from partita.exceptions import ResourceError, ValueNotFoundError


def io_manager_of(context: Context, key: str, who: str) -> IOManager:
    """The IO manager ``key`` of the running task's run."""
    resources = context.get("resources") or {}
    manager = resources.get(key)
    if manager is None:
        known = ", ".join(sorted(resources)) or "none"
        raise ResourceError(
            f"{who} uses IO manager {key!r}, which this run does not provide (its resources "
            f"are: {known}); add it to the resources, e.g. resources={{{key!r}: "
            f"FilesystemIOManager()}}"
        )
    if not callable(getattr(manager, "handle_output", None)) or not callable(
        getattr(manager, "load_input", None)
    ):
        raise ResourceError(
            f"{who}: resource {key!r} is not an IO manager (it has no handle_output/load_input); "
            "subclass partita.IOManager"
        )
    return manager


def output_context(
    context: Context, task_id: str, name: str = RETURN_KEY, **extra: Any
) -> OutputContext:
    """The ``OutputContext`` of an output of ``task_id`` in the running task's run."""
    return OutputContext(
        dag_id=context["dag"].dag_id,
        run_id=context["run_id"],
        task_id=task_id,
        name=name,
        log=context.get("log"),
        resources=context.get("resources"),
        **extra,
    )


def store_task_output(context: Context, io_key: str, value: Any) -> OutputContext:
    """Hand the running task's return value to IO manager ``io_key``."""
    task_id = context["ti"].task_id
    manager = io_manager_of(context, io_key, f"task {task_id!r}")
    out = output_context(context, task_id, map_index=context.get("map_index", -1))
    manager.handle_output(out, value)
    return out


def load_task_output(
    context: Context,
    io_key: str,
    upstream_task_id: str,
    key: str,
    task_id: str,
    map_index: int = -1,
) -> Any:
    """The output ``key`` of ``upstream_task_id`` (instance ``map_index``) in this run."""
    manager = io_manager_of(context, io_key, f"task {upstream_task_id!r}")
    upstream = output_context(context, upstream_task_id, key, map_index=map_index)
    request = InputContext(
        upstream, task_id, key, upstream.dag_id, upstream.run_id, upstream.log, upstream.resources
    )
    try:
        return manager.load_input(request)
    except (ValueNotFoundError, FileNotFoundError) as exc:
        instance = f" [{map_index}]" if map_index >= 0 else ""
        raise ValueNotFoundError(
            f"task {task_id!r}: IO manager {io_key!r} has no stored output {key!r} of task "
            f"{upstream_task_id!r}{instance} in this run ({exc})"
        ) from exc


def load_mapped_task_output(
    context: Context, io_key: str, upstream_task_id: str, key: str, task_id: str
) -> list[Any]:
    """Every instance's output of a mapped task, in map-index order (None where none was stored).

    The number of instances is the length of the run's record of the task's outputs.
    """
    count = len(context["ti"].xcom_pull(task_ids=upstream_task_id, key=key) or ())
    values = []
    for index in range(count):
        try:
            values.append(load_task_output(context, io_key, upstream_task_id, key, task_id, index))
        except ValueNotFoundError:  # an instance that was skipped or failed stored nothing
            values.append(None)
    return values


__all__ = [
    "io_manager_of",
    "load_mapped_task_output",
    "load_task_output",
    "output_context",
    "store_task_output",
]
