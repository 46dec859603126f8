"""``SlotBook``: the task slots one scheduler hands out, per pool and per DAG.

It is the ``TaskGate`` of every run the scheduler drives: a run's ready
task instances start only when ``depends_on_past`` allows
(``PreviousRuns``), while their pool has ``pool_slots`` free slots (the
``pool`` table, ``partita pools set``; ``default_pool`` has 128 unless set)
and their DAG runs fewer than ``max_active_tasks`` instances; the highest
priority (``effective_weights``) goes first. The decisions themselves are
``engine.admission``'s; this class only keeps the counts.

The design decision: the counts live in the scheduler's memory, and, on a
database schedulers share (PostgreSQL: ``PoolStore.shares_slots``), in the
``pool_slot`` leases too: an admission that may take slots claims the pools'
counts (locked), decides, and takes its leases in one transaction, so a
pool's slots bound the task instances running over every scheduler.
Released slots are handed back with the next claim (or ``flush``, at each
housekeeping pass), not one transaction per task instance. ``max_active_tasks``
stays per scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from partita.definitions.dag import DAG
from partita.engine.admission import (
    DEFAULT_POOL,
    DEFAULT_POOL_SLOTS,
    ReadyInstance,
    TaskGate,
    admit,
    effective_weights,
    past_allows,
)
from partita.scheduler.past import PreviousRuns
from partita.storage.run_queue import PoolStore, SlotLease

logger = logging.getLogger("partita.scheduler")
TIKey = tuple[str, int]


@dataclass(frozen=True)
class _DagProfile:
    """What admission needs of a DAG, worked out once per DAG object."""

    dag: DAG
    weights: dict[str, int]
    depends_on_past: bool
    #: (pool, pool_slots, weight) shared by every task, or None: admission is then a
    #: slice of the ready list, not a sort (a run of 10,000 alike tasks stays linear).
    uniform: tuple[str | None, int, int] | None

    @classmethod
    def of(cls, dag: DAG) -> _DagProfile:
        weights = effective_weights(dag)
        tasks = dag.task_dict.values()
        kinds = {
            (getattr(t, "pool", None), int(getattr(t, "pool_slots", 1)), weights[t.task_id])
            for t in tasks
        }
        past = any(getattr(t, "depends_on_past", False) for t in tasks)
        return cls(dag, weights, past, next(iter(kinds)) if len(kinds) == 1 else None)


class SlotBook(TaskGate):
    """Pool and ``max_active_tasks`` counts of one scheduler."""

    def __init__(
        self,
        pool_sizes: Mapping[str, int] | None = None,
        past: PreviousRuns | None = None,
        *,
        ledger: PoolStore | None = None,
        scheduler_id: str = "",
    ) -> None:
        #: Where ``depends_on_past`` looks (None: the rule is not checked).
        self.past = past
        #: Where the slots of all schedulers are counted (None: here, for this one alone).
        self.ledger = ledger
        self.scheduler_id = scheduler_id
        #: Schedulers known dead: their leases do not count (``Scheduler`` keeps it current).
        self.dead: set[str] = set()
        self._released: list[tuple[str, str, int]] = []
        self.pool_sizes: dict[str, int] = {DEFAULT_POOL: DEFAULT_POOL_SLOTS}
        self.pool_used: dict[str, int] = {}
        self.dag_used: dict[str, int] = {}
        self._held: dict[tuple[str, TIKey], tuple[str, str, int]] = {}
        self._profiles: dict[int, _DagProfile] = {}
        self._unknown_warned: set[str] = set()
        if pool_sizes:
            self.set_pools(pool_sizes)

    def set_pools(self, sizes: Mapping[str, int]) -> None:
        """The slots of each pool (``default_pool`` keeps 128 unless given)."""
        self.pool_sizes = {DEFAULT_POOL: DEFAULT_POOL_SLOTS, **sizes}

    def _profile_of(self, dag: DAG) -> _DagProfile:
        cached = self._profiles.get(id(dag))
        if cached is None or cached.dag is not dag:
            cached = self._profiles[id(dag)] = _DagProfile.of(dag)
        return cached

    def _pool_of(self, dag: DAG, task_id: str) -> tuple[str, int]:
        task = dag.task_dict[task_id]
        pool = getattr(task, "pool", None) or DEFAULT_POOL
        if pool not in self.pool_sizes:
            if pool not in self._unknown_warned:
                self._unknown_warned.add(pool)
                logger.warning(
                    "DAG %s: task %s names pool %r, which does not exist; it uses default_pool "
                    "(create it with 'partita pools set %s SLOTS')",
                    dag.dag_id, task_id, pool, pool,
                )  # fmt: skip
            pool = DEFAULT_POOL
        return pool, int(getattr(task, "pool_slots", 1))

    def admit(
        self, dag: DAG, run_id: str, ready: Sequence[TIKey]
    ) -> tuple[list[TIKey], list[TIKey]]:
        profile = self._profile_of(dag)
        blocked: list[TIKey] = []
        if self.past is not None and profile.depends_on_past:
            previous = self.past.states(dag, run_id)
            blocked = [key for key in ready if not past_allows(dag.task_dict[key[0]], previous)]
            ready = [key for key in ready if key not in blocked]
        dag_free = dag.max_active_tasks - self.dag_used.get(dag.dag_id, 0)
        if dag_free <= 0 or not ready:
            return [], list(ready) + blocked
        if profile.uniform is not None:  # every task alike: the first ones in order go
            pool, slots = self._pool_of(dag, ready[0][0])
            instances = [ReadyInstance(key, pool, slots, 1) for key in ready[:dag_free]]
            admitted = self._choose(run_id, instances, dag_free, uniform=True)
            self._take(dag.dag_id, run_id, admitted)
            return list(ready[: len(admitted)]), list(ready[len(admitted) :]) + blocked
        instances = []
        for key in ready:
            pool, slots = self._pool_of(dag, key[0])
            instances.append(ReadyInstance(key, pool, slots, profile.weights.get(key[0], 1)))
        admitted = self._choose(run_id, instances, dag_free, uniform=False)
        self._take(dag.dag_id, run_id, admitted)
        taken = {i.key for i in admitted}
        return [i.key for i in admitted], [k for k in ready if k not in taken] + blocked

    def _choose(
        self, run_id: str, instances: list[ReadyInstance], dag_free: int, *, uniform: bool
    ) -> list[ReadyInstance]:
        """The instances admitted now, given the free slots (the shared counts, locked, on a
        database schedulers share: the leases are taken before the lock is let go)."""

        def choose(used: Mapping[str, int]) -> list[ReadyInstance]:
            free = {pool: size - used.get(pool, 0) for pool, size in self.pool_sizes.items()}
            if uniform:
                first = instances[0]
                count = min(len(instances), dag_free, free[first.pool] // first.pool_slots)
                return instances[: max(count, 0)]
            return admit(instances, pool_free=free, dag_free=dag_free)[0]

        pools = {i.pool for i in instances}
        if self.ledger is None or all(
            self.pool_used.get(p, 0) >= self.pool_sizes[p] for p in pools
        ):  # counted here alone, or full with our own instances already
            return choose(self.pool_used)
        release, self._released = self._released, []
        with self.ledger.claim_slots(
            self.scheduler_id, pools, dead=self.dead, release=release
        ) as claim:
            admitted = choose(claim.used)
            claim.take([SlotLease(run_id, *i.key, i.pool, i.pool_slots) for i in admitted])
        return admitted

    def _take(self, dag_id: str, run_id: str, admitted: Sequence[ReadyInstance]) -> None:
        for instance in admitted:
            self._held[(run_id, instance.key)] = (dag_id, instance.pool, instance.pool_slots)
            self.pool_used[instance.pool] = (
                self.pool_used.get(instance.pool, 0) + instance.pool_slots
            )
        self.dag_used[dag_id] = self.dag_used.get(dag_id, 0) + len(admitted)

    def release(self, run_id: str, key: TIKey) -> None:
        taken = self._held.pop((run_id, key), None)
        if taken is None:
            return
        dag_id, pool, slots = taken
        self.pool_used[pool] -= slots
        self.dag_used[dag_id] -= 1
        if self.ledger is not None:  # deleted with the next claim, or by ``flush``
            self._released.append((run_id, *key))

    def release_run(self, run_id: str) -> None:
        for held_run, key in [k for k in self._held if k[0] == run_id]:
            self.release(held_run, key)
        if self.ledger is not None:
            self._released = [k for k in self._released if k[0] != run_id]
            self.ledger.release_run_slots(run_id)
        if self.past is not None:
            self.past.forget(run_id)

    def flush(self) -> None:
        """Give the shared count the slots released since the last claim."""
        if self.ledger is not None and self._released:
            released, self._released = self._released, []
            self.ledger.release_slots(released)


__all__ = ["SlotBook"]
