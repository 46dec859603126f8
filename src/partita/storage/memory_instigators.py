"""The instigator store in memory: the twin of the SQL one, for tests.

The design decision: one lock covers the state, the ticks and the run keys,
and ``record_ticks`` queues their runs through the store's own run queue while
holding it, so a tick is written all at once as the SQL transaction writes it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import datetime

from msgspec.structs import replace

from partita.storage.instigators import (
    InstigatorKind,
    InstigatorState,
    InstigatorStatus,
    InstigatorStore,
    TickRecord,
    TickStatus,
    TickWrite,
    run_key_digest,
)
from partita.storage.run_queue import RunQueue

_StateKey = tuple[InstigatorKind, str]


class MemoryInstigatorStore(InstigatorStore):
    """States, ticks and run keys as dictionaries of this process; thread-safe."""

    def __init__(self, queue: RunQueue) -> None:
        self._queue = queue
        self._states: dict[_StateKey, InstigatorState] = {}
        self._ticks: dict[_StateKey, list[TickRecord]] = {}
        self._run_keys: dict[tuple[str, str], str] = {}
        self._next_tick_id = 1
        self._lock = threading.Lock()

    def get_state(self, kind: InstigatorKind, name: str) -> InstigatorState | None:
        return self._states.get((kind, name))

    def list_states(self, kind: InstigatorKind) -> list[InstigatorState]:
        return [state for (k, _), state in sorted(self._states.items()) if k is kind]

    def set_status(
        self, kind: InstigatorKind, name: str, status: InstigatorStatus | None, at: datetime
    ) -> InstigatorState:
        with self._lock:
            state = self._state(kind, name)
            state = self._states[(kind, name)] = replace(state, status=status, updated_at=at)
            return state

    def set_cursor(self, kind: InstigatorKind, name: str, cursor: str | None, at: datetime) -> None:
        with self._lock:
            state = self._state(kind, name)
            self._states[(kind, name)] = replace(state, cursor=cursor, updated_at=at)

    def claim_due(
        self, kind: InstigatorKind, due_if_before: Mapping[str, datetime], now: datetime
    ) -> dict[str, InstigatorState]:
        claimed = {}
        with self._lock:
            for name, before in due_if_before.items():
                state = self._state(kind, name)
                if state.last_tick_at is None or state.last_tick_at <= before:
                    claimed[name] = state
                    self._states[(kind, name)] = replace(state, last_tick_at=now)
        return claimed

    def used_run_keys(self, sensor: str, run_keys: Sequence[str]) -> set[str]:
        return {key for key in run_keys if (sensor, run_key_digest(key)) in self._run_keys}

    def record_ticks(self, writes: Sequence[TickWrite]) -> list[TickRecord]:
        with self._lock:
            return [self._record(write) for write in writes]

    def _record(self, write: TickWrite) -> TickRecord:
        tick = write.tick
        self._queue.enqueue(write.runs)
        for run_key, run_id in write.run_keys.items():
            self._run_keys.setdefault((tick.name, run_key_digest(run_key)), run_id)
        stored = tick.with_id(self._next_tick_id)
        self._next_tick_id += 1
        key = (tick.kind, tick.name)
        self._ticks.setdefault(key, []).append(stored)
        state = self._state(tick.kind, tick.name)
        self._states[key] = replace(
            state, cursor=tick.cursor, last_tick_at=tick.timestamp, updated_at=tick.timestamp
        )
        return stored

    def list_ticks(
        self,
        kind: InstigatorKind,
        name: str,
        *,
        statuses: Sequence[TickStatus] | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[TickRecord]:
        ticks = [
            tick
            for tick in reversed(self._ticks.get((kind, name), []))
            if statuses is None or tick.status in statuses
        ]
        return ticks[offset : offset + limit]

    def old_tick_ids(self, cutoff: datetime, keep_last: int) -> list[int]:
        """Retention: ids of ticks before ``cutoff`` beyond the ``keep_last`` newest of each."""
        old: list[int] = []
        for ticks in self._ticks.values():
            candidates = ticks[: max(len(ticks) - keep_last, 0)]
            old.extend(t.id for t in candidates if t.timestamp < cutoff and t.id is not None)
        return sorted(old)

    def delete_ticks(self, ids: Sequence[int]) -> int:
        """Retention: delete the ticks of ``ids``; how many there were."""
        chosen, deleted = set(ids), 0
        with self._lock:
            for key, ticks in self._ticks.items():
                kept = [t for t in ticks if t.id not in chosen]
                deleted += len(ticks) - len(kept)
                self._ticks[key] = kept
        return deleted

    def _state(self, kind: InstigatorKind, name: str) -> InstigatorState:
        return self._states.get((kind, name)) or InstigatorState(kind, name)


__all__ = ["MemoryInstigatorStore"]
