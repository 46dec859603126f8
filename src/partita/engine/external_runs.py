"""What a running task may read of other DAGs' runs (``ExternalTaskSensor``).

User code never holds the metadata store: it asks its task instance
(``ti.get_dagrun_states``, ``ti.get_task_states``, as Airflow 3's task SDK
does), and the engine answers from the run store of the run's output access.

The design decision: the answers are plain ``{key: state string}`` dicts, so
a sensor beside the engine (``partita.sensors``) needs nothing but
``definitions`` to read them. A logical date with no run is absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from partita.engine.active_run import aggregate_state
from partita.exceptions import PartitaError
from partita.storage.base import RunStore
from partita.storage.records import DagRunRecord


class ExternalRuns:
    """Reads the state of other runs (and of their tasks) by DAG id and logical date."""

    def __init__(self, runs: RunStore) -> None:
        self._runs = runs

    def _newest(
        self, dag_id: str, logical_dates: Sequence[datetime]
    ) -> dict[datetime, DagRunRecord]:
        newest: dict[datetime, DagRunRecord] = {}
        for run in self._runs.runs_at(dag_id, logical_dates):  # newest first
            if run.logical_date is not None:
                newest.setdefault(run.logical_date, run)
        return newest

    def dagrun_states(self, dag_id: str, logical_dates: Sequence[datetime]) -> dict[Any, str]:
        """The state of the newest run of ``dag_id`` at each logical date that has one."""
        return {d: str(run.state) for d, run in self._newest(dag_id, logical_dates).items()}

    def task_states(
        self, dag_id: str, logical_dates: Sequence[datetime], task_ids: Sequence[str]
    ) -> dict[tuple[Any, str], str]:
        """``(logical date, task id) -> state`` (a mapped task: its instances' aggregate)."""
        wanted = set(task_ids)
        found: dict[tuple[Any, str], str] = {}
        for date, run in self._newest(dag_id, logical_dates).items():
            by_task: dict[str, list[Any]] = {}
            for ti in self._runs.get_task_instances(run.run_id):
                if ti.task_id in wanted:
                    by_task.setdefault(ti.task_id, []).append(ti.state)
            for task_id, states in by_task.items():
                found[(date, task_id)] = str(aggregate_state(states))
        return found

    def task_group_states(
        self, dag_id: str, logical_dates: Sequence[datetime], group_id: str
    ) -> dict[tuple[Any, str], str]:
        """``(logical date, task id) -> state`` of every task of the task group ``group_id``.

        A group's tasks are those whose id starts with ``group_id.`` (its nested groups
        included); a run with none of them is absent.
        """
        prefix = f"{group_id}."
        found: dict[tuple[Any, str], str] = {}
        for date, run in self._newest(dag_id, logical_dates).items():
            by_task: dict[str, list[Any]] = {}
            for ti in self._runs.get_task_instances(run.run_id):
                if ti.task_id.startswith(prefix):
                    by_task.setdefault(ti.task_id, []).append(ti.state)
            for task_id, states in by_task.items():
                found[(date, task_id)] = str(aggregate_state(states))
        return found


def external_runs(outputs: Any) -> ExternalRuns:
    """The reader for a task whose outputs go through ``outputs`` (a store-backed access)."""
    runs = getattr(outputs, "run_store", None)
    if runs is None:
        raise PartitaError(
            "this task reads other DAGs' runs, but it runs without the metadata store "
            "(partita.testing.run_task); run it inside a DAG run (dag.test(storage=...), "
            "partita run) instead"
        )
    return ExternalRuns(runs)


__all__ = ["ExternalRuns", "external_runs"]
