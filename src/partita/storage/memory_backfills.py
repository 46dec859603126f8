"""``MemoryBackfillStore``: the backfill store of ``MemoryStorage``, the SQL one's twin.

It reads the memory store's runs (the same dictionary the run store and the
run queue use) for the states of the runs a backfill queued.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from msgspec.structs import replace

from partita.definitions.states import RunState
from partita.exceptions import BackfillNotFoundError
from partita.storage.backfills import (
    BackfillProgress,
    BackfillRecord,
    BackfillStatus,
    BackfillStore,
    PlannedAction,
    PlannedRun,
)
from partita.storage.records import DagRunRecord

_NEVER = datetime.min.replace(tzinfo=UTC)


def backfill_not_found(backfill_id: str) -> BackfillNotFoundError:
    return BackfillNotFoundError(
        f"no backfill with id {backfill_id!r}; 'partita backfill list' shows the known backfills"
    )


class MemoryBackfillStore(BackfillStore):
    """Backfills in dictionaries, their runs read from the memory store's runs."""

    def __init__(self, runs: dict[str, DagRunRecord], lock: threading.Lock) -> None:
        self._runs = runs
        self._lock = lock
        self.backfills: dict[str, BackfillRecord] = {}
        self.planned: dict[str, list[PlannedRun]] = {}

    def create(self, backfill: BackfillRecord, planned: Sequence[PlannedRun]) -> None:
        with self._lock:
            self.backfills[backfill.backfill_id] = backfill
            self.planned[backfill.backfill_id] = sorted(planned, key=lambda p: p.ordinal)

    def get(self, backfill_id: str) -> BackfillRecord:
        try:
            return self.backfills[backfill_id]
        except KeyError:
            raise backfill_not_found(backfill_id) from None

    def list_backfills(
        self, *, dag_id: str | None = None, statuses: Iterable[BackfillStatus] | None = None,
        limit: int = 50, offset: int = 0,
    ) -> list[BackfillRecord]:  # fmt: skip
        wanted = None if statuses is None else set(statuses)
        found = [
            b
            for b in self.backfills.values()
            if (dag_id is None or b.dag_id == dag_id) and (wanted is None or b.status in wanted)
        ]
        found.sort(key=lambda b: (b.created_at, b.backfill_id), reverse=True)
        return found[offset : offset + limit]

    def _planned(self, backfill_id: str) -> list[PlannedRun]:
        self.get(backfill_id)
        return self.planned.get(backfill_id, [])

    def pending(self, backfill_id: str, limit: int) -> list[PlannedRun]:
        return [p for p in self._planned(backfill_id) if not p.done][:limit]

    def mark_done(self, backfill_id: str, ordinals: Iterable[int]) -> None:
        chosen = set(ordinals)
        with self._lock:
            self.planned[backfill_id] = [
                replace(p, done=True) if p.ordinal in chosen else p
                for p in self._planned(backfill_id)
            ]

    def keep_existing(self, backfill_id: str, kept: Mapping[int, str]) -> None:
        skip = PlannedAction.SKIP
        with self._lock:
            self.planned[backfill_id] = [
                replace(p, action=skip, run_id=kept[p.ordinal], done=True)
                if p.ordinal in kept
                else p
                for p in self._planned(backfill_id)
            ]

    def _queued_states(self, backfill_id: str) -> list[RunState]:
        states = []
        for p in self._planned(backfill_id):
            run = self._runs.get(p.run_id)
            if p.done and p.action is not PlannedAction.SKIP and run is not None:
                states.append(run.state)
        return states

    def active_count(self, backfill_id: str) -> int:
        active = (RunState.QUEUED, RunState.RUNNING)
        return sum(state in active for state in self._queued_states(backfill_id))

    def progress(self, backfill_id: str) -> BackfillProgress:
        planned = self._planned(backfill_id)
        states: dict[RunState, int] = {}
        for state in self._queued_states(backfill_id):
            states[state] = states.get(state, 0) + 1
        return BackfillProgress(
            total=len(planned),
            pending=sum(not p.done for p in planned),
            skipped=sum(p.action is PlannedAction.SKIP for p in planned),
            states=states,
        )

    def finish(self, backfill_id: str, status: BackfillStatus, when: datetime) -> bool:
        with self._lock:
            backfill = self.get(backfill_id)
            if backfill.status.finished:
                return False
            self.backfills[backfill_id] = backfill.ended(status, when)
            return True

    def planned_run_ids(self, backfill_id: str, *, done: bool | None = None) -> list[str]:
        return [
            p.run_id
            for p in self._planned(backfill_id)
            if p.action is not PlannedAction.SKIP and (done is None or p.done == done)
        ]

    def runs_for_partitions(
        self, dag_id: str, partition_keys: Sequence[str]
    ) -> dict[str, DagRunRecord]:
        wanted = set(partition_keys)
        found: dict[str, DagRunRecord] = {}
        runs = sorted(self._runs.values(), key=lambda r: (r.queued_at or _NEVER, r.run_id))
        for run in runs:
            if run.dag_id == dag_id and run.partition_key in wanted:
                found[run.partition_key] = run
        return found

    def runs_at(self, dag_id: str, first: datetime, last: datetime) -> dict[datetime, DagRunRecord]:
        found: dict[datetime, DagRunRecord] = {}
        runs = sorted(self._runs.values(), key=lambda r: (r.queued_at or _NEVER, r.run_id))
        for run in runs:
            when = run.logical_date
            if run.dag_id == dag_id and when is not None and first <= when <= last:
                found[when] = run
        return found

    def delete(self, backfill_ids: Iterable[str]) -> int:
        """Forget backfills and their planned runs (retention); return how many were."""
        deleted = 0
        with self._lock:
            for backfill_id in backfill_ids:
                if self.backfills.pop(backfill_id, None) is not None:
                    deleted += 1
                self.planned.pop(backfill_id, None)
        return deleted


__all__ = ["MemoryBackfillStore", "backfill_not_found"]
