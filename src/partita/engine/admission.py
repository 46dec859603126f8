"""Which ready task instances may start now: pools, ``max_active_tasks``, priority weights.

Pure functions in the style of ``trigger_rules``: the scheduler's ``SlotBook``
keeps the counts and asks ``admit`` which of a run's ready instances fit;
the driver hands only those to its executor and keeps the rest ready for its
next step.

* ``effective_weights``: a task's priority is its ``priority_weight`` plus,
  by its ``weight_rule``, the weights of every task downstream of it
  (``downstream``, the default, as in Airflow), of every task upstream of it
  (``upstream``), or nothing more (``absolute``); a ``PriorityWeightStrategy``
  gives the whole weight itself (``definitions/priority_weight.py``).
* ``past_allows``: ``depends_on_past`` / ``wait_for_downstream``: a task runs
  only once, in the previous run of its DAG (by logical date), it succeeded or
  was skipped (and, with ``wait_for_downstream``, its direct downstream tasks too).
* ``admit``: ready instances, highest priority first (ties: the order they
  became ready), each admitted while its pool has ``pool_slots`` free slots
  and its DAG is under ``max_active_tasks``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from partita.definitions.dag import DAG
from partita.definitions.priority_weight import WeightedInstance
from partita.definitions.states import TaskState

DEFAULT_POOL = "default_pool"
DEFAULT_POOL_SLOTS = 128
WEIGHT_RULES = ("downstream", "upstream", "absolute")


@dataclass(frozen=True, slots=True)
class ReadyInstance:
    """One ready task instance as the admission sees it."""

    key: tuple[str, int]
    pool: str
    pool_slots: int
    priority: int


class TaskGate(Protocol):
    """What a driver asks before handing ready task instances to its executor."""

    def admit(
        self, dag: DAG, run_id: str, ready: Sequence[tuple[str, int]]
    ) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """Split ``ready`` into (admitted now, held for later)."""

    def release(self, run_id: str, key: tuple[str, int]) -> None:
        """An admitted instance's try ended: its slots are free again."""

    def release_run(self, run_id: str) -> None:
        """The run ended: free whatever it still holds."""


def _closure(start: str, edges: Mapping[str, Iterable[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(edges.get(start, ()))
    while stack:
        task_id = stack.pop()
        if task_id not in seen:
            seen.add(task_id)
            stack.extend(edges.get(task_id, ()))
    return seen


def effective_weights(dag: DAG) -> dict[str, int]:
    """Each task's priority: its weight, plus its relatives' by its ``weight_rule``."""
    tasks = dag.task_dict
    down = {t.task_id: list(t.downstream_task_ids) for t in tasks.values()}
    up = {t.task_id: list(t.upstream_task_ids) for t in tasks.values()}
    weights: dict[str, int] = {}
    for task_id, task in tasks.items():
        own = int(getattr(task, "priority_weight", 1))
        rule = getattr(task, "weight_rule", "downstream")
        if not isinstance(rule, str):  # a PriorityWeightStrategy: it gives the whole weight
            weights[task_id] = int(rule.get_weight(WeightedInstance(task, dag.dag_id, task_id)))
            continue
        if rule == "absolute":
            weights[task_id] = own
            continue
        relatives = _closure(task_id, down if rule == "downstream" else up)
        weights[task_id] = own + sum(
            int(getattr(tasks[r], "priority_weight", 1)) for r in relatives
        )
    return weights


#: The previous run's states that let a ``depends_on_past`` task run.
PAST_OK = frozenset({TaskState.SUCCESS, TaskState.SKIPPED})


def past_allows(task: Any, previous: Mapping[str, TaskState] | None) -> bool:
    """Whether ``task`` may run, given its previous run's task states (None: no previous run).

    ``previous`` maps each task id to its state there (a mapped task: the worst of
    its instances); a task absent from it (new since then) does not hold anything up.
    """
    if not getattr(task, "depends_on_past", False) or previous is None:
        return True
    needed = [task.task_id]
    if getattr(task, "wait_for_downstream", False):
        needed.extend(task.downstream_task_ids)
    return all(previous.get(task_id, TaskState.SUCCESS) in PAST_OK for task_id in needed)


def admit(
    ready: Sequence[ReadyInstance],
    *,
    pool_free: Mapping[str, int],
    dag_free: int,
) -> tuple[list[ReadyInstance], list[ReadyInstance]]:
    """Split ``ready`` into (admitted, held), admitted highest priority first.

    ``pool_free`` is the free slots per pool (a pool not in it has none);
    ``dag_free`` how many more instances the DAG may run (``max_active_tasks``).
    """
    free = dict(pool_free)
    admitted: list[ReadyInstance] = []
    held: list[ReadyInstance] = []
    ordered = sorted(enumerate(ready), key=lambda item: (-item[1].priority, item[0]))
    for _, instance in ordered:
        if len(admitted) < dag_free and free.get(instance.pool, 0) >= instance.pool_slots:
            free[instance.pool] -= instance.pool_slots
            admitted.append(instance)
        else:
            held.append(instance)
    held_keys = {h.key for h in held}
    return admitted, [r for r in ready if r.key in held_keys]


__all__ = [
    "DEFAULT_POOL",
    "DEFAULT_POOL_SLOTS",
    "PAST_OK",
    "WEIGHT_RULES",
    "ReadyInstance",
    "TaskGate",
    "admit",
    "effective_weights",
    "past_allows",
]
