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
        self._weights: dict[int, tuple[DAG, dict[str, int]]] = {}
        self._unknown_warned: set[str] = set()
        if pool_sizes:
            self.set_pools(pool_sizes)

    def set_pools(self, sizes: Mapping[str, int]) -> None:
        """The slots of each pool (``default_pool`` keeps 128 unless given)."""
        self.pool_sizes = {DEFAULT_POOL: DEFAULT_POOL_SLOTS, **sizes}

    def _weights_of(self, dag: DAG) -> dict[str, int]:
        cached = self._weights.get(id(dag))
        if cached is None or cached[0] is not dag:
            cached = self._weights[id(dag)] = (dag, effective_weights(dag))
        return cached[1]

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
        blocked: list[TIKey] = []
        if self.past is not None and any(
            getattr(dag.task_dict[key[0]], "depends_on_past", False) for key in ready
        ):
            previous = self.past.states(dag, run_id)
            blocked = [key for key in ready if not past_allows(dag.task_dict[key[0]], previous)]
            ready = [key for key in ready if key not in blocked]
        weights = self._weights_of(dag)
        instances = []
        for key in ready:
            pool, slots = self._pool_of(dag, key[0])
            instances.append(ReadyInstance(key, pool, slots, weights.get(key[0], 1)))
        pool_free = {
            pool: size - self.pool_used.get(pool, 0) for pool, size in self.pool_sizes.items()
        }
        dag_free = dag.max_active_tasks - self.dag_used.get(dag.dag_id, 0)
        admitted, held = admit(instances, pool_free=pool_free, dag_free=dag_free)
        for instance in admitted:
            self._held[(run_id, instance.key)] = (dag.dag_id, instance.pool, instance.pool_slots)
            self.pool_used[instance.pool] = (
                self.pool_used.get(instance.pool, 0) + instance.pool_slots
            )
            self.dag_used[dag.dag_id] = self.dag_used.get(dag.dag_id, 0) + 1
        return [i.key for i in admitted], [i.key for i in held] + blocked

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
