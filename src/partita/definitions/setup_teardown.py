"""Setup and teardown tasks (Airflow's): a resource made before some work and removed after.

``task.as_setup()`` marks a setup; ``task.as_teardown(setups=...)`` marks a
teardown, draws ``setup >> teardown`` for each setup given, and gives it the
trigger rule ``all_done_setup_success``: it runs once everything upstream
is done, whatever happened in between, if at least one of its setups
succeeded (skipped when they all skipped, ``upstream_failed`` when none
succeeded). A teardown does not decide the run's state unless
``on_failure_fail_dagrun=True``. Clearing a task also clears the setups it
needs and their teardowns (engine/control.py).

``with teardown.as_teardown(setups=setup):`` (or ``with setup >> teardown:``
once both are marked, or ``with setup:``) wraps the tasks created inside:
the setups run before the first of them, the teardown after the last.

The design decision: these are plain flags on the operator plus ordinary
edges; only the trigger rule and the run-state rule differ, so the engine's
readiness code needs no other case.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from partita.definitions.states import TriggerRule
from partita.exceptions import DefinitionError

if TYPE_CHECKING:
    from partita.definitions.baseoperator import BaseOperator

#: Default of ``on_failure_fail_dagrun``: teardowns do not decide the run's state.
FAIL_RUN_DEFAULT = False


def _operators(value: Any, where: str) -> list[BaseOperator]:
    """The operators ``value`` names: a task, a task's output, or a list of them."""
    items = list(value) if isinstance(value, (list, tuple, set)) else [value]
    found: list[BaseOperator] = []
    for item in items:
        operator = getattr(item, "operator", item)  # an XComArg stands for its task
        if not hasattr(operator, "as_setup") or not hasattr(operator, "task_id"):
            raise DefinitionError(
                f"{where}: setups must be tasks (or the outputs of @task calls), got {item!r}"
            )
        found.append(operator)
    return found


def mark_setup(task: BaseOperator) -> None:
    """Make ``task`` a setup task."""
    if task.is_teardown:
        raise DefinitionError(
            f"{task._where()} is a teardown and cannot also be a setup; use another task"
        )
    task.is_setup = True


def mark_teardown(
    task: BaseOperator, setups: Any = None, on_failure_fail_dagrun: bool | None = None
) -> None:
    """Make ``task`` a teardown of ``setups`` (marked as setups and linked to it)."""
    where = task._where()
    if task.is_setup:
        raise DefinitionError(f"{where} is a setup and cannot also be a teardown; use another task")
    if on_failure_fail_dagrun is not None and not isinstance(on_failure_fail_dagrun, bool):
        raise DefinitionError(
            f"{where}: on_failure_fail_dagrun must be True or False, got {on_failure_fail_dagrun!r}"
        )
    task.is_teardown = True
    task.trigger_rule = TriggerRule.ALL_DONE_SETUP_SUCCESS
    if on_failure_fail_dagrun is not None:
        task.on_failure_fail_dagrun = on_failure_fail_dagrun
    if setups is None:
        return
    for setup in _operators(setups, f"{where}: as_teardown"):
        mark_setup(setup)
        setup >> task


def setups_of(task: BaseOperator) -> list[BaseOperator]:
    """The setup tasks directly upstream of ``task``."""
    return [t for t in task.upstream_list if t.is_setup]


def teardowns_of(task: BaseOperator) -> list[BaseOperator]:
    """The teardown tasks directly downstream of ``task``."""
    return [t for t in task.downstream_list if t.is_teardown]


class SetupTeardownScope:
    """What ``with setup:`` / ``with teardown:`` does: wraps the tasks created inside."""

    def __init__(self, task: BaseOperator) -> None:
        if not (task.is_setup or task.is_teardown):
            raise DefinitionError(
                f"{task._where()} is neither a setup nor a teardown; only those open a "
                "'with' block (mark it with .as_setup() or .as_teardown(setups=...))"
            )
        if task.dag is None:
            raise DefinitionError(
                f"{task._where()} is not in a DAG yet; create it inside 'with DAG(...)' "
                "before using it in a 'with' block"
            )
        self.task = task
        self._before: set[str] = set()

    def enter(self) -> None:
        self._before = set(self.task._require_dag().task_dict)

    def exit(self) -> None:
        task = self.task
        if task.is_teardown:
            setups, teardowns = setups_of(task), [task]
        else:
            setups, teardowns = [task], teardowns_of(task)
        wrapper_ids = {t.task_id for t in (*setups, *teardowns)}
        dag = task._require_dag()
        new = [t for tid, t in dag.task_dict.items() if tid not in self._before]
        inside = [t for t in new if t.task_id not in wrapper_ids]
        ids = {t.task_id for t in inside}
        for t in _roots(inside, ids):
            for setup in setups:
                if t.task_id not in setup.downstream_task_ids:
                    setup >> t
        for t in _leaves(inside, ids):
            for teardown in teardowns:
                if teardown.task_id not in t.downstream_task_ids:
                    t >> teardown


def _roots(tasks: Iterable[BaseOperator], ids: set[str]) -> list[BaseOperator]:
    return [t for t in tasks if not ids.intersection(t.upstream_task_ids)]


def _leaves(tasks: Iterable[BaseOperator], ids: set[str]) -> list[BaseOperator]:
    return [t for t in tasks if not ids.intersection(t.downstream_task_ids)]


__all__ = [
    "FAIL_RUN_DEFAULT",
    "SetupTeardownScope",
    "mark_setup",
    "mark_teardown",
    "setups_of",
    "teardowns_of",
]
