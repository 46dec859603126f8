"""The states of a DAG run and of a task instance, and the trigger rules.

They are plain string enums so that they store as text in the metadata
database and print as themselves; every layer above ``definitions`` uses them.
"""

from __future__ import annotations

from enum import StrEnum


class TextEnum(StrEnum):
    """A string enum hashed as its text.

    ``Enum`` hashes a member by its name in Python code, a function call on
    every set or dict lookup (the engine does several per task instance); a
    member equals its text, so hashing it as its text is also consistent.
    """

    __hash__ = str.__hash__


class RunState(TextEnum):
    """State of one DAG run."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in _FINISHED_RUN_STATES


_FINISHED_RUN_STATES = frozenset({RunState.SUCCESS, RunState.FAILED, RunState.CANCELLED})


class TaskState(TextEnum):
    """State of one task instance (one try of one map index of one task in one run)."""

    NONE = "none"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"
    UP_FOR_RETRY = "up_for_retry"
    #: A sensor in ``mode="reschedule"`` gave its worker slot back until its next poke.
    UP_FOR_RESCHEDULE = "up_for_reschedule"
    UPSTREAM_FAILED = "upstream_failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED_TASK_STATES


FINISHED_TASK_STATES = frozenset(
    {
        TaskState.SUCCESS,
        TaskState.FAILED,
        TaskState.SKIPPED,
        TaskState.UPSTREAM_FAILED,
        TaskState.CANCELLED,
    }
)
FAILED_TASK_STATES = frozenset({TaskState.FAILED, TaskState.UPSTREAM_FAILED})


class TriggerRule(TextEnum):
    """When a task runs, given the states of its direct upstream tasks (Airflow's rules)."""

    ALL_SUCCESS = "all_success"
    ALL_FAILED = "all_failed"
    ALL_DONE = "all_done"
    ALL_DONE_MIN_ONE_SUCCESS = "all_done_min_one_success"
    ALL_SKIPPED = "all_skipped"
    ONE_SUCCESS = "one_success"
    ONE_FAILED = "one_failed"
    ONE_DONE = "one_done"
    NONE_FAILED = "none_failed"
    NONE_FAILED_MIN_ONE_SUCCESS = "none_failed_min_one_success"
    NONE_SKIPPED = "none_skipped"
    ALWAYS = "always"
    #: A teardown's rule: all upstreams done and at least one of its setups succeeded.
    ALL_DONE_SETUP_SUCCESS = "all_done_setup_success"


__all__ = [
    "FAILED_TASK_STATES",
    "FINISHED_TASK_STATES",
    "RunState",
    "TaskState",
    "TextEnum",
    "TriggerRule",
]
