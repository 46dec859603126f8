"""``MemoryRetentionStore``: retention for ``MemoryStorage``, the SQL one's twin.

It is handed the memory store's parts (its run table, events, outputs,
logs, backfills and run queue) and deletes from them under the store's lock,
by the same rules as the SQL store.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from partita.storage.memory_auth import MemoryAuthStore
from partita.storage.memory_backfills import MemoryBackfillStore
from partita.storage.memory_instigators import MemoryInstigatorStore
from partita.storage.memory_run_queue import MemoryRunQueue
from partita.storage.records import DagRunRecord
from partita.storage.retention import RetentionPolicy, RetentionStore

_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass
class MemoryParts:
    """The parts of a ``MemoryStorage`` retention deletes from."""

    runs: dict[str, DagRunRecord]
    task_instances: dict[str, Any]
    events: dict[str, Any]
    outputs: dict[Any, Any]
    log_tries: dict[Any, Any]
    backfills: MemoryBackfillStore
    queue: MemoryRunQueue
    lock: threading.Lock
    instigators: MemoryInstigatorStore
    #: The memory asset catalog (``old_materialization_ids``, ``delete_materializations``).
    assets: Any
    auth: MemoryAuthStore


class MemoryRetentionStore(RetentionStore):
    """Deletes old records of a ``MemoryStorage``."""

    def __init__(self, parts: MemoryParts) -> None:
        self._parts = parts

    def _old_runs(self, policy: RetentionPolicy) -> list[str]:
        by_dag: dict[str, list[DagRunRecord]] = {}
        for run in self._parts.runs.values():
            by_dag.setdefault(run.dag_id, []).append(run)
        backfills = self._parts.backfills
        kept = {
            planned.run_id
            for backfill_id, plan in backfills.planned.items()
            if not backfills.backfills[backfill_id].status.finished
            for planned in plan
        }
        old: list[str] = []
        for runs in by_dag.values():
            runs.sort(key=lambda r: (r.queued_at is not None, r.queued_at or _NEVER, r.run_id))
            runs.reverse()  # newest first, as the SQL store ranks them
            for run in runs[policy.keep_last :]:
                at = run.end_date or run.queued_at
                if (
                    run.state.finished
                    and at is not None
                    and at < policy.cutoff
                    and (run.run_id not in kept)
                ):
                    old.append(run.run_id)
        return sorted(old)

    def _old(self, policy: RetentionPolicy, table: str) -> list[str]:
        if table == "runs":
            return self._old_runs(policy)
        if table == "backfills":
            return sorted(
                b.backfill_id
                for b in self._parts.backfills.backfills.values()
                if b.status.finished and b.ended_at is not None and b.ended_at < policy.cutoff
            )
        if table == "schedulers":
            return sorted(
                s.scheduler_id
                for s in self._parts.queue.list_schedulers()
                if s.heartbeat_at < policy.cutoff
            )
        raise ValueError(f"unknown retention table {table!r}")

    def _old_rows(self, policy: RetentionPolicy, table: str) -> list[Any]:
        parts = self._parts
        if table == "ticks":
            return parts.instigators.old_tick_ids(policy.cutoff, policy.keep_last)
        if table == "asset_events":
            with parts.lock:
                return parts.assets.old_materialization_ids(policy.cutoff, max(1, policy.keep_last))
        if table == "sessions":
            return parts.auth.expired_session_hashes(policy.sessions_expired_by)
        return self._old(policy, table)

    def count(self, policy: RetentionPolicy, table: str) -> int:
        return len(self._old_rows(policy, table))

    def delete_batch(self, policy: RetentionPolicy, table: str, limit: int) -> int:
        ids = self._old_rows(policy, table)[:limit]
        if table == "ticks":
            return self._parts.instigators.delete_ticks(ids)
        if table == "asset_events":
            with self._parts.lock:
                return self._parts.assets.delete_materializations(ids)
        if table == "sessions":
            return self._parts.auth.delete_sessions(ids)
        if table == "backfills":
            return self._parts.backfills.delete(ids)
        if table == "schedulers":
            for scheduler_id in ids:
                self._parts.queue.remove_scheduler(scheduler_id)
            return len(ids)
        parts, chosen = self._parts, set(ids)
        with parts.lock:
            for run_id in ids:
                parts.runs.pop(run_id, None)
                parts.task_instances.pop(run_id, None)
                parts.events.pop(run_id, None)
                parts.queue.release_unlocked(run_id)
            for keyed in (parts.outputs, parts.log_tries):
                for key in [k for k in keyed if k[0] in chosen]:
                    del keyed[key]
        return len(ids)


__all__ = ["MemoryParts", "MemoryRetentionStore"]
