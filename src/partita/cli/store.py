"""Open the metadata store the way every CLI command does: settings, store, orphan check.

The design decision: a command never builds a store itself; it asks here, so
each opening also records as failed the runs of this host whose process died
(``fail_orphaned_runs``), and a killed ``partita run`` never stays ``running``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from partita.cli.recovery import fail_orphaned_runs
from partita.exceptions import PartitaError
from partita.settings import Settings, load_settings
from partita.storage.base import Storage
from partita.storage.factory import open_storage
from partita.storage.records import TaskInstanceRecord


@contextmanager
def metadata_store(settings: Settings | None = None) -> Iterator[Storage]:
    """The metadata store named by the settings (read now when not given), closed afterwards."""
    storage = open_storage(settings if settings is not None else load_settings())
    try:
        fail_orphaned_runs(storage)
        yield storage
    finally:
        storage.close()


def find_task_instance(
    storage: Storage, run_id: str, task_id: str, map_index: int
) -> TaskInstanceRecord:
    """The task instance, or an error naming the run's tasks (or the task's map indexes)."""
    storage.runs.get_run(run_id)  # RunNotFoundError names the run id
    tis = storage.runs.get_task_instances(run_id)
    for ti in tis:
        if ti.task_id == task_id and ti.map_index == map_index:
            return ti
    indexes = sorted(ti.map_index for ti in tis if ti.task_id == task_id)
    if indexes:
        raise PartitaError(
            f"task {task_id!r} of run {run_id!r} has no map index {map_index}; "
            f"its map indexes are: {', '.join(map(str, indexes))} (use --map-index N)"
        )
    known = ", ".join(sorted({ti.task_id for ti in tis})[:30]) or "none"
    raise PartitaError(f"run {run_id!r} has no task {task_id!r}; its tasks are: {known}")


__all__ = ["find_task_instance", "metadata_store"]
