"""``SlotBook``: the task slots one scheduler hands out, per pool and per DAG.

It is the ``TaskGate`` of every run the scheduler drives: a run's ready
task instances start only when ``depends_on_past`` allows
(``PreviousRuns``), while their pool has ``pool_slots`` free slots (the
``pool`` table, ``partita pools set``; ``default_pool`` has 128 unless set)
and their DAG runs fewer than ``max_active_tasks`` instances; the highest
priority (``effective_weights``) goes first. The decisions themselves are
``engine.admission``'s; this class only keeps the counts.

The design decision: the counts live in the scheduler's memory, so the
limits hold per scheduler (several schedulers on one database each hand out
a pool's slots).
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
        self, pool_sizes: Mapping[str, int] | None = None, past: PreviousRuns | None = None
    ) -> None:
        #: Where ``depends_on_past`` looks (None: the rule is not checked).
        self.past = past
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
        if profile.uniform is not None:  # every task alike: the first ones in order go
            pool, slots = self._pool_of(dag, next(iter(dag.task_dict)))
            fits = (self.pool_sizes.get(pool, 0) - self.pool_used.get(pool, 0)) // slots
            count = max(0, min(len(ready), dag_free, fits))
            admitted = [ReadyInstance(key, pool, slots, 1) for key in ready[:count]]
            self._take(dag.dag_id, run_id, admitted)
            return list(ready[:count]), list(ready[count:]) + blocked
        instances = []
        for key in ready:
            pool, slots = self._pool_of(dag, key[0])
            instances.append(ReadyInstance(key, pool, slots, profile.weights.get(key[0], 1)))
        pool_free = {
            pool: size - self.pool_used.get(pool, 0) for pool, size in self.pool_sizes.items()
        }
        admitted, held = admit(instances, pool_free=pool_free, dag_free=dag_free)
        self._take(dag.dag_id, run_id, admitted)
        return [i.key for i in admitted], [i.key for i in held] + blocked

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

    def release_run(self, run_id: str) -> None:
        for held_run, key in [k for k in self._held if k[0] == run_id]:
            self.release(held_run, key)
        if self.past is not None:
            self.past.forget(run_id)


__all__ = ["SlotBook"]
