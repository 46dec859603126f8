"""Operators that skip tasks downstream of them: branches and short circuits (Airflow's rules).

- ``BranchPythonOperator`` and ``@task.branch``: the callable returns a task
  id, a list of task ids or None. The tasks directly downstream that were not
  chosen are skipped; what lies further downstream follows its trigger rules.
  A task directly downstream that is also downstream of a chosen task is not
  skipped (so ``branch >> join`` plus ``branch >> a >> join`` works). An id
  may name a task group (its first tasks are followed) and, inside a group,
  may leave out the group prefix. Any other id fails the branch task with a
  message listing the valid choices.
- ``BaseBranchOperator``: subclass it and implement ``choose_branch(context)``.
- ``ShortCircuitOperator`` and ``@task.short_circuit``: a falsy result skips
  every task downstream, whatever its trigger rule; with
  ``ignore_downstream_trigger_rules=False`` only the tasks directly
  downstream are skipped and the rest follow their trigger rules.

The design decision: these operators never write other tasks' states. They
compute the ids to skip and hand them to the running task instance,
``context["ti"].skip_downstream(ids, followed=...)``; the runner puts them in
the task's outcome and the engine's state machine applies them. The choice
is logged in the task's log ("following branch [...]; skipping [...]").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from partita.definitions.baseoperator import BaseOperator
from partita.definitions.context import Context
from partita.definitions.taskgroup import TaskGroup
from partita.exceptions import DefinitionError, PartitaError
from partita.operators.python import DecoratedPythonOperator, PythonOperator

BranchChoice = str | Iterable[str] | None


class BranchChoiceError(PartitaError):
    """A branch returned something that is not a task directly downstream of it."""


def _where(task: BaseOperator) -> str:
    if task.dag is not None:
        return f"{task.dag.label}: branch task {task.task_id!r}"
    return f"branch task {task.task_id!r}"


def _groups(root: TaskGroup) -> dict[str, TaskGroup]:
    found: dict[str, TaskGroup] = {}
    stack = [root]
    while stack:
        group = stack.pop()
        for child in group.children.values():
            if isinstance(child, TaskGroup):
                if child.group_id is not None:
                    found[child.group_id] = child
                stack.append(child)
    return found


def _choice_list(task: BaseOperator, branches: Any) -> list[str]:
    if branches is None:
        return []
    if isinstance(branches, str):
        return [branches]
    if isinstance(branches, Iterable) and not isinstance(branches, (bytes, Mapping)):
        items = list(branches)
        if all(isinstance(item, str) for item in items):
            return items
    raise BranchChoiceError(
        f"{_where(task)}: the branch must return a task id, a list of task ids or None; "
        f"it returned {branches!r}"
    )


def _resolve(task: BaseOperator, choice: str, groups: dict[str, TaskGroup]) -> list[str]:
    """The direct downstream ids ``choice`` stands for; empty if it names none."""
    direct = task.downstream_task_ids
    candidates = [choice]
    own_group = task.task_group
    if own_group is not None and own_group.group_id is not None:
        candidates.append(own_group.child_id(choice))
    for candidate in candidates:
        if candidate in direct:
            return [candidate]
        group = groups.get(candidate)
        if group is not None:
            try:
                roots = group.dependency_roots()
            except DefinitionError:
                continue
            ids = [t.task_id for t in roots if t.task_id in direct]
            if ids:
                return ids
    return []


def chosen_task_ids(task: BaseOperator, branches: Any) -> list[str]:
    """The direct downstream task ids a branch's return value names; raises if one is invalid."""
    choices = _choice_list(task, branches)
    if not choices:
        return []
    groups = _groups(task.dag.task_group) if task.dag is not None else {}
    chosen: list[str] = []
    for choice in choices:
        ids = _resolve(task, choice, groups)
        if not ids:
            valid = ", ".join(repr(t) for t in task.downstream_task_ids) or "none"
            raise BranchChoiceError(
                f"{_where(task)} returned {choice!r}, which is not a task directly downstream "
                f"of it; return one of {valid} (or a list of them, or None to skip them all)"
            )
        chosen.extend(i for i in ids if i not in chosen)
    return chosen


def follow_branches(task: BaseOperator, context: Context, branches: Any) -> Any:
    """Skip the direct downstream tasks ``branches`` does not lead to; returns ``branches``."""
    chosen = chosen_task_ids(task, branches)
    reachable = set(chosen)
    if task.dag is not None:
        for task_id in chosen:
            reachable |= task.dag.task_dict[task_id].get_flat_relative_ids(upstream=False)
    skipped = [t for t in task.downstream_task_ids if t not in reachable]
    context["log"].info("following branch %s; skipping %s", chosen, skipped)
    context["ti"].skip_downstream(skipped, followed=chosen)
    return branches


def short_circuit(task: BaseOperator, context: Context, condition: Any, ignore_rules: bool) -> Any:
    """Skip downstream tasks if ``condition`` is falsy; returns the value to store as output."""
    log = context["log"]
    log.info("condition result is %r", condition)
    if condition:
        log.info("proceeding with downstream tasks")
        return condition
    if not task.downstream_task_ids:
        log.info("no downstream tasks; nothing to skip")
        return condition
    if ignore_rules and task.dag is not None:
        below = task.get_flat_relative_ids(upstream=False)
        skipped = [t for t in task.dag.topological_order() if t in below]
        log.info("skipping every downstream task, whatever its trigger rule: %s", skipped)
    else:
        skipped = list(task.downstream_task_ids)
        log.info("skipping the direct downstream tasks %s; the rest follow their trigger rules",
                 skipped)  # fmt: skip
    context["ti"].skip_downstream(skipped)
    return None


def short_circuit_reach(task: BaseOperator, ignore_rules: bool) -> frozenset[str]:
    """What a short circuit may skip: every task below it, or only the direct ones."""
    if ignore_rules and task.dag is not None:
        return frozenset(task.get_flat_relative_ids(upstream=False))
    return frozenset(task.downstream_task_ids)


class BaseBranchOperator(BaseOperator):
    """A task that chooses which direct downstream tasks run: implement ``choose_branch``."""

    ui_color = "#ffe9c7"

    def may_skip_task_ids(self) -> frozenset[str]:
        return frozenset(self.downstream_task_ids)

    def choose_branch(self, context: Context) -> BranchChoice:
        """A task id, a list of task ids, or None: the direct downstream tasks to follow."""
        raise NotImplementedError(f"{type(self).__name__} must implement choose_branch(context)")

    def execute(self, context: Context) -> Any:
        return follow_branches(self, context, self.choose_branch(context))


class BranchPythonOperator(PythonOperator, BaseBranchOperator):
    """``python_callable`` returns the task id(s) to follow; the others directly downstream skip."""

    ui_color = BaseBranchOperator.ui_color

    def choose_branch(self, context: Context) -> BranchChoice:
        return PythonOperator.execute(self, context)

    def execute(self, context: Context) -> Any:
        return BaseBranchOperator.execute(self, context)


class DecoratedBranchOperator(DecoratedPythonOperator, BaseBranchOperator):
    """The operator of ``@task.branch``."""

    ui_color = BaseBranchOperator.ui_color

    def choose_branch(self, context: Context) -> BranchChoice:
        return DecoratedPythonOperator.execute(self, context)

    def execute(self, context: Context) -> Any:
        return BaseBranchOperator.execute(self, context)


class ShortCircuitOperator(PythonOperator):
    """Runs ``python_callable``; a falsy result skips the tasks downstream."""

    ui_color = "#f5dbe8"

    def __init__(self, *, ignore_downstream_trigger_rules: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules

    def may_skip_task_ids(self) -> frozenset[str]:
        return short_circuit_reach(self, self.ignore_downstream_trigger_rules)

    def execute(self, context: Context) -> Any:
        condition = super().execute(context)
        return short_circuit(self, context, condition, self.ignore_downstream_trigger_rules)


class DecoratedShortCircuitOperator(DecoratedPythonOperator):
    """The operator of ``@task.short_circuit``."""

    ui_color = ShortCircuitOperator.ui_color

    def __init__(self, *, ignore_downstream_trigger_rules: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules

    def may_skip_task_ids(self) -> frozenset[str]:
        return short_circuit_reach(self, self.ignore_downstream_trigger_rules)

    def execute(self, context: Context) -> Any:
        condition = super().execute(context)
        return short_circuit(self, context, condition, self.ignore_downstream_trigger_rules)


__all__ = [
    "BaseBranchOperator",
    "BranchChoiceError",
    "BranchPythonOperator",
    "DecoratedBranchOperator",
    "DecoratedShortCircuitOperator",
    "ShortCircuitOperator",
    "chosen_task_ids",
    "follow_branches",
    "short_circuit",
    "short_circuit_reach",
]
