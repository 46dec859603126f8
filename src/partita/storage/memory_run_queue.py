"""The run queue in memory: the twin of the SQL one, for tests and in-process use.

The design decision: a claim holds the store's lock for its whole ``with``
block (what a transaction with row locks does in SQL), and its starts are
applied only when the block ends without an error.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from msgspec.structs import replace

from partita.definitions.states import RunState
from partita.storage.records import DagRunRecord
from partita.storage.run_queue import (
    PoolRecord,
    PoolStore,
    RunClaim,
    RunQueue,
    SchedulerRecord,
    SlotClaim,
    SlotLease,
)

_NEVER = datetime.min.replace(tzinfo=UTC)


class _MemoryRunClaim(RunClaim):
    def __init__(self, waiting: list[DagRunRecord], running: dict[str, int], limit: int) -> None:
        self._waiting = waiting
        self.queued = waiting[:limit]
        self.running = running
        self.started: list[tuple[DagRunRecord, datetime]] = []

    def more(self, limit: int) -> list[DagRunRecord]:
        found = self._waiting[len(self.queued) : len(self.queued) + limit]
        self.queued.extend(found)
        return found

    def start(self, run: DagRunRecord, now: datetime) -> DagRunRecord | None:
        started = _started(run, now)
        self.started.append((started, now))
        self.running[run.dag_id] = self.running.get(run.dag_id, 0) + 1
        return started


def queue_order(run: DagRunRecord) -> tuple[datetime, bool, datetime, str]:
    """Oldest first: by queued_at, then logical date (none last), then run id."""
    logical = run.logical_date or _NEVER
    return (run.queued_at or _NEVER, run.logical_date is None, logical, run.run_id)


def _started(run: DagRunRecord, now: datetime) -> DagRunRecord:
    """``run`` running since ``now``, driven by a scheduler (no pid)."""
    return replace(run, state=RunState.RUNNING, start_date=now, pid=None)


class MemoryRunQueue(RunQueue):
    """Queued runs live in the store's run table (``runs``); claims and heartbeats here."""

    def __init__(self, runs: dict[str, DagRunRecord], lock: threading.Lock) -> None:
        self._runs = runs
        self._lock = lock
        self._claims: dict[str, str] = {}
        self._schedulers: dict[str, SchedulerRecord] = {}

    def enqueue(self, runs: Sequence[DagRunRecord]) -> list[str]:
        inserted = []
        with self._lock:
            for run in runs:
                if run.run_id not in self._runs:
                    self._runs[run.run_id] = run
                    inserted.append(run.run_id)
        return inserted

    def has_queued(self) -> bool:
        with self._lock:
            return any(r.state is RunState.QUEUED for r in self._runs.values())

    @contextmanager
    def claim_queued_runs(self, scheduler_id: str, limit: int) -> Iterator[RunClaim]:
        with self._lock:
            queued = sorted(
                (r for r in self._runs.values() if r.state is RunState.QUEUED), key=queue_order
            )
            running: dict[str, int] = {}
            for r in self._runs.values():
                if r.state is RunState.RUNNING:
                    running[r.dag_id] = running.get(r.dag_id, 0) + 1
            claim = _MemoryRunClaim(queued, running, limit)
            yield claim
            for run, _now in claim.started:
                self._runs[run.run_id] = run
                self._claims[run.run_id] = scheduler_id

    def claimed_runs(self, scheduler_id: str) -> list[str]:
        with self._lock:
            return sorted(r for r, s in self._claims.items() if s == scheduler_id)

    def owners(self, run_ids: Collection[str]) -> dict[str, str]:
        with self._lock:
            return {r: self._claims[r] for r in run_ids if r in self._claims}

    def adopt_orphaned_runs(self, scheduler_id: str, live: Collection[str]) -> list[DagRunRecord]:
        adopted = []
        with self._lock:
            for run_id, owner in list(self._claims.items()):
                run = self._runs.get(run_id)
                if owner in live or run is None or run.state is not RunState.RUNNING:
                    continue
                self._claims[run_id] = scheduler_id
                adopted.append(run)
        return adopted

    def release(self, run_id: str) -> None:
        with self._lock:
            self.release_unlocked(run_id)

    def release_unlocked(self, run_id: str) -> None:
        """``release`` for a caller that holds the store's lock already."""
        self._claims.pop(run_id, None)

    def beat(self, record: SchedulerRecord) -> None:
        with self._lock:
            self._schedulers[record.scheduler_id] = dataclasses.replace(record)

    def list_schedulers(self) -> list[SchedulerRecord]:
        with self._lock:
            found = list(self._schedulers.values())
        return sorted(found, key=lambda s: s.heartbeat_at, reverse=True)

    def remove_scheduler(self, scheduler_id: str) -> None:
        with self._lock:
            self._schedulers.pop(scheduler_id, None)


class _MemorySlotClaim(SlotClaim):
    def __init__(self, used: dict[str, int]) -> None:
        self.used = used
        self.taken: list[SlotLease] = []

    def take(self, leases: Sequence[SlotLease]) -> None:
        self.taken.extend(leases)


class MemoryPoolStore(PoolStore):
    """Pools in a dict; leases in another, under one lock (the claim holds it)."""

    def __init__(self) -> None:
        self._pools: dict[str, PoolRecord] = {}
        self._lock = threading.Lock()
        self._leases: dict[tuple[str, str, int], tuple[SlotLease, str]] = {}

    def set_pool(self, pool: PoolRecord) -> None:
        self._pools[pool.name] = pool

    def list_pools(self) -> list[PoolRecord]:
        return [self._pools[name] for name in sorted(self._pools)]

    def delete_pool(self, name: str) -> bool:
        return self._pools.pop(name, None) is not None

    @contextmanager
    def claim_slots(
        self,
        scheduler_id: str,
        pools: Collection[str],
        *,
        dead: Collection[str] = (),
        release: Sequence[tuple[str, str, int]] = (),
    ) -> Iterator[SlotClaim]:
        with self._lock:
            for key in release:
                self._leases.pop(key, None)
            used: dict[str, int] = {}
            for lease, owner in self._leases.values():
                if lease.pool in pools and owner not in dead:
                    used[lease.pool] = used.get(lease.pool, 0) + lease.slots
            claim = _MemorySlotClaim(used)
            yield claim
            for lease in claim.taken:
                self._leases[(lease.run_id, lease.task_id, lease.map_index)] = (
                    lease,
                    scheduler_id,
                )

    def release_slots(self, keys: Sequence[tuple[str, str, int]]) -> None:
        with self._lock:
            for key in keys:
                self._leases.pop(key, None)

    def release_run_slots(self, run_id: str) -> None:
        with self._lock:
            for key in [k for k in self._leases if k[0] == run_id]:
                del self._leases[key]


__all__ = ["MemoryPoolStore", "MemoryRunQueue"]
