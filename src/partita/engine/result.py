"""``RunResult``: what ``dag.test()`` and ``partita run`` give back about a finished run.

It reads everything from the storage the run was recorded in, so a result
built for a run recorded by another process (``partita runs show``) answers
the same questions. The values of assets (and of tasks with an IO manager)
are not in the store: a result built by the run itself can load them through
the run's IO managers (``values``); others return None for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from partita.definitions.asset_key import AssetKey, as_asset_key
from partita.definitions.states import RunState, TaskState
from partita.definitions.xcom_arg import RETURN_KEY
from partita.engine.active_run import aggregate_state
from partita.exceptions import PartitaError
from partita.storage.base import Storage
from partita.storage.records import (
    AssetCheckEvaluationRecord,
    AssetMaterializationRecord,
    DagRunRecord,
    EventKind,
    TaskInstanceRecord,
)

#: Loads the value of an asset (an ``AssetKey`` or its task id) or of an IO-managed task's
#: output ``key``: returns (found, value).
ValueLoader = Callable[[Any, str, int], tuple[bool, Any]]


def log_lines(storage: Storage, run_id: str, task_id: str, map_index: int = -1) -> list[str]:
    """The log of one task instance, every try, one string per line."""
    lines: list[str] = []
    for try_number in storage.logs.log_tries(run_id, task_id, map_index):
        for line in storage.logs.read_lines(run_id, task_id, map_index, try_number):
            lines.append(f"[{line.timestamp.isoformat()}] {line.level} - {line.message}")
    return lines


class RunResult:
    """The outcome of one DAG run: its state, each task's state, outputs and logs."""

    def __init__(self, storage: Storage, run_id: str, values: ValueLoader | None = None) -> None:
        self._storage = storage
        self._values = values
        self.run: DagRunRecord = storage.runs.get_run(run_id)
        self._tis: list[TaskInstanceRecord] | None = None
        self._keyed: dict[tuple[str, int], TaskInstanceRecord] | None = None

    @property
    def task_instances(self) -> list[TaskInstanceRecord]:
        """Every task instance of the run (read from the store on first use)."""
        if self._tis is None:
            self._tis = self._storage.runs.get_task_instances(self.run_id)
        return self._tis

    @property
    def _by_key(self) -> dict[tuple[str, int], TaskInstanceRecord]:
        if self._keyed is None:
            self._keyed = {(ti.task_id, ti.map_index): ti for ti in self.task_instances}
        return self._keyed

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def dag_id(self) -> str:
        return self.run.dag_id

    @property
    def state(self) -> RunState:
        return self.run.state

    @property
    def success(self) -> bool:
        return self.run.state is RunState.SUCCESS

    @property
    def duration(self) -> float:
        """Wall time of the run in seconds."""
        if self.run.start_date is None or self.run.end_date is None:
            return 0.0
        return (self.run.end_date - self.run.start_date).total_seconds()

    @property
    def task_states(self) -> dict[str, TaskState]:
        """Task id -> state; for a mapped task, the most telling state of its instances."""
        grouped: dict[str, list[TaskState]] = {}
        for ti in self.task_instances:
            grouped.setdefault(ti.task_id, []).append(ti.state)
        return {
            task_id: states[0] if len(states) == 1 else aggregate_state(states)
            for task_id, states in grouped.items()
        }

    def map_indexes(self, task_id: str) -> list[int]:
        """The map indexes of a task's instances ([-1] for an unmapped task)."""
        indexes = [ti.map_index for ti in self.task_instances if ti.task_id == task_id]
        if not indexes:
            self._ti(task_id, -1)
        return indexes

    def _ti(self, task_id: str, map_index: int) -> TaskInstanceRecord:
        try:
            return self._by_key[(task_id, map_index)]
        except KeyError:
            indexes = sorted(i for t, i in self._by_key if t == task_id)
            if indexes and indexes[0] >= 0:
                raise PartitaError(
                    f"task {task_id!r} of run {self.run_id!r} is mapped into "
                    f"{len(indexes)} instances; pass map_index= (0 to {indexes[-1]})"
                ) from None
            known = ", ".join(sorted({t.task_id for t in self.task_instances})[:20])
            raise PartitaError(
                f"run {self.run_id!r} has no task instance {task_id!r}"
                + (f" [{map_index}]" if map_index >= 0 else "")
                + f"; its tasks are: {known}"
            ) from None

    def output(
        self, task_id: str | AssetKey, key: str = RETURN_KEY, map_index: int | None = None
    ) -> Any:
        """The value the task returned (or pushed under ``key``); None if it stored none.

        For a mapped task without ``map_index``: the list of every instance's value.
        ``task_id`` may also be an asset: its task id, its ``AssetKey`` or ``"schema/table"``.
        """
        if not isinstance(task_id, str) or "/" in task_id:
            return self._asset_value(as_asset_key(task_id))
        if map_index is None:
            indexes = [i for t, i in self._by_key if t == task_id and i >= 0]
            if indexes:
                return [self._value(task_id, i, key) for i in sorted(indexes)]
            if self._values is not None:
                found, value = self._values(task_id, key, -1)
                if found:
                    return value
            map_index = -1
        self._ti(task_id, map_index)
        return self._value(task_id, map_index, key)

    def _value(self, task_id: str, map_index: int, key: str) -> Any:
        """One instance's value: from its IO manager if it used one, else from the store."""
        if self._values is not None:
            found, value = self._values(task_id, key, map_index)
            if found:
                return value
        return self._load(task_id, map_index, key)

    def _asset_value(self, asset_key: AssetKey) -> Any:
        if self._values is not None:
            found, value = self._values(asset_key, RETURN_KEY, -1)
            return value if found else None
        if not self.materializations_of(asset_key):
            raise PartitaError(
                f"run {self.run_id!r} did not materialize asset {asset_key.to_user_string()!r}"
            )
        return None

    @property
    def materializations(self) -> list[AssetMaterializationRecord]:
        """The assets this run materialized, in the order they were recorded."""
        records = self._storage.assets.list_materializations(run_id=self.run_id, limit=100_000)
        return list(reversed(records))

    def materializations_of(self, asset_key: Any) -> list[AssetMaterializationRecord]:
        """This run's materializations of one asset (a key, ``"schema/table"`` or a list)."""
        key = as_asset_key(asset_key)
        return [m for m in self.materializations if m.asset_key == key]

    @property
    def check_evaluations(self) -> list[AssetCheckEvaluationRecord]:
        """The asset checks this run evaluated, in the order they were recorded."""
        records = self._storage.assets.list_check_evaluations(run_id=self.run_id, limit=100_000)
        return records[::-1]

    def check_result(self, asset_key: Any, check_name: str) -> AssetCheckEvaluationRecord:
        """This run's evaluation of check ``check_name`` of an asset; an error if it did not run."""
        key = as_asset_key(asset_key)
        evaluations = self.check_evaluations
        for record in evaluations:
            if record.asset_key == key and record.check_name == check_name:
                return record
        ran = ", ".join(f"{r.asset_key.to_user_string()}:{r.check_name}" for r in evaluations)
        raise PartitaError(
            f"run {self.run_id!r} did not evaluate check {check_name!r} of asset "
            f"{key.to_user_string()!r}; it evaluated: {ran or 'none'}"
        )

    def _load(self, task_id: str, map_index: int, key: str) -> Any:
        record = self._storage.outputs.get_record(self.run_id, task_id, map_index, key)
        return None if record is None else self._storage.outputs.load(record)

    def logs(self, task_id: str, map_index: int = -1) -> str:
        """The task instance's log, all tries, one line per log record."""
        self._ti(task_id, map_index)
        return "\n".join(log_lines(self._storage, self.run_id, task_id, map_index))

    def error(self, task_id: str, map_index: int = -1) -> str | None:
        """The traceback (or, with none, the error) of the task's last failed try."""
        self._ti(task_id, map_index)
        events = self._storage.events.read_events(
            self.run_id, task_id=task_id, map_index=map_index, kinds=[EventKind.TASK_ERROR]
        )
        if not events:
            return None
        payload = events[-1].payload
        return payload.get("traceback") or payload.get("error")

    def __repr__(self) -> str:
        return f"<RunResult {self.dag_id} {self.run_id}: {self.state}>"


__all__ = ["RunResult", "log_lines"]
