"""``ActiveRun``: the pure state machine of one DAG run.

It knows the graph (upstream and downstream ids, trigger rules) and the state
of every task instance, and nothing else: no clock, no I/O, no task code.
Readiness is incremental: each task keeps counters of how its direct
upstreams finished, and a finished task updates only its direct downstreams,
so a run of N tasks costs O(N + edges), never a rescan per finished task.

The driver asks for ready tasks, reports what happened to each, and receives
the state changes that followed from it (skips and upstream failures that
propagate by trigger rule).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from partita.definitions.states import FAILED_TASK_STATES, RunState, TaskState, TriggerRule
from partita.engine.trigger_rules import RUN, SKIP, UPSTREAM_FAILED, WAIT, decide

_SUCCESS, _SKIPPED, _FAILED, _UPSTREAM_FAILED = 0, 1, 2, 3
_COUNTER_OF = {
    TaskState.SUCCESS: _SUCCESS,
    TaskState.SKIPPED: _SKIPPED,
    TaskState.FAILED: _FAILED,
    TaskState.UPSTREAM_FAILED: _UPSTREAM_FAILED,
    TaskState.CANCELLED: _FAILED,
}


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """What the state machine needs to know of one task."""

    task_id: str
    upstream: tuple[str, ...]
    downstream: tuple[str, ...]
    trigger_rule: TriggerRule


class InvalidTransition(RuntimeError):
    """The driver reported something impossible (a bug in partita, not in user code)."""


class ActiveRun:
    """Tracks every task instance of one run from pending to finished."""

    def __init__(self, specs: Iterable[TaskSpec]) -> None:
        self.specs: dict[str, TaskSpec] = {s.task_id: s for s in specs}
        self.states: dict[str, TaskState] = dict.fromkeys(self.specs, TaskState.NONE)
        self._counts: dict[str, list[int]] = {t: [0, 0, 0, 0] for t in self.specs}
        self._ready: deque[str] = deque()
        self._unfinished = len(self.specs)
        self._leaves = [t for t, s in self.specs.items() if not s.downstream]
        self._started = False

    # -- driving ------------------------------------------------------------------
    def start(self) -> list[tuple[str, TaskState]]:
        """Mark the tasks that can run at once as ready; returns any state changes."""
        if self._started:
            raise InvalidTransition("the run was already started")
        self._started = True
        changes: list[tuple[str, TaskState]] = []
        for task_id, spec in self.specs.items():
            if not spec.upstream or spec.trigger_rule is TriggerRule.ALWAYS:
                self._make_ready(task_id, changes)
        return changes

    def take_ready(self, limit: int | None = None) -> list[str]:
        """Ready task ids, in the order they became ready; they become ``queued``."""
        out: list[str] = []
        ready = self._ready
        states = self.states
        while ready and (limit is None or len(out) < limit):
            task_id = ready.popleft()
            states[task_id] = TaskState.QUEUED
            out.append(task_id)
        return out

    def mark_running(self, task_id: str) -> None:
        if self.states[task_id] not in (TaskState.QUEUED, TaskState.UP_FOR_RETRY):
            raise InvalidTransition(f"{task_id!r} is {self.states[task_id]}, not queued")
        self.states[task_id] = TaskState.RUNNING

    def mark_up_for_retry(self, task_id: str) -> None:
        """The task failed and will be tried again later (the driver keeps the clock)."""
        self.states[task_id] = TaskState.UP_FOR_RETRY

    def retry_now(self, task_id: str) -> None:
        """Its retry delay is over: queue the task again."""
        if self.states[task_id] is not TaskState.UP_FOR_RETRY:
            raise InvalidTransition(f"{task_id!r} is {self.states[task_id]}, not up_for_retry")
        self.states[task_id] = TaskState.SCHEDULED
        self._ready.append(task_id)

    def finish(
        self, task_id: str, state: TaskState, skip_downstream: Sequence[str] = ()
    ) -> list[tuple[str, TaskState]]:
        """A task instance ended in ``state``; returns the states this decided for others.

        ``skip_downstream`` (from a branch) names direct downstream tasks to skip.
        """
        if self.states[task_id].finished:
            raise InvalidTransition(f"{task_id!r} already finished as {self.states[task_id]}")
        changes: list[tuple[str, TaskState]] = []
        for down in skip_downstream:
            if down in self.specs[task_id].downstream and not self.states[down].finished:
                self._set_finished(down, TaskState.SKIPPED, changes, report_first=True)
        self._set_finished(task_id, state, changes, report_first=False)
        return changes

    def cancel_unfinished(self) -> list[tuple[str, TaskState]]:
        """Cancel everything not finished (the run was stopped)."""
        changes: list[tuple[str, TaskState]] = []
        for task_id, state in self.states.items():
            if not state.finished:
                self.states[task_id] = TaskState.CANCELLED
                self._unfinished -= 1
                changes.append((task_id, TaskState.CANCELLED))
        self._ready.clear()
        return changes

    # -- queries --------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self._unfinished == 0

    @property
    def has_ready(self) -> bool:
        return bool(self._ready)

    def run_state(self) -> RunState:
        """``running`` until every task finished; then failed if a leaf failed (Airflow's rule)."""
        if self._unfinished:
            return RunState.RUNNING
        if any(self.states[t] is TaskState.CANCELLED for t in self.states):
            return RunState.FAILED
        if any(self.states[t] in FAILED_TASK_STATES for t in self._leaves):
            return RunState.FAILED
        return RunState.SUCCESS

    def counts(self) -> Mapping[TaskState, int]:
        out: dict[TaskState, int] = {}
        for state in self.states.values():
            out[state] = out.get(state, 0) + 1
        return out

    # -- internals ----------------------------------------------------------------------
    def _make_ready(self, task_id: str, changes: list[tuple[str, TaskState]]) -> None:
        self.states[task_id] = TaskState.SCHEDULED
        self._ready.append(task_id)
        changes.append((task_id, TaskState.SCHEDULED))

    def _set_finished(
        self,
        task_id: str,
        state: TaskState,
        changes: list[tuple[str, TaskState]],
        report_first: bool,
    ) -> None:
        """Finish one task and propagate, iteratively (no recursion limit on long chains)."""
        stack = [(task_id, state)]
        specs, states, counts = self.specs, self.states, self._counts
        report = report_first
        while stack:
            current, new_state = stack.pop()
            states[current] = new_state
            self._unfinished -= 1
            if report:
                changes.append((current, new_state))
            report = True
            slot = _COUNTER_OF[new_state]
            for down in specs[current].downstream:
                if states[down] is not TaskState.NONE:
                    continue  # already decided (eager rules) or running
                c = counts[down]
                c[slot] += 1
                spec = specs[down]
                decision = decide(spec.trigger_rule, len(spec.upstream), c[0], c[1], c[2], c[3])
                if decision is WAIT:
                    continue
                if decision is RUN:
                    self._make_ready(down, changes)
                elif decision is SKIP:
                    states[down] = TaskState.SCHEDULED  # claimed; finished when popped
                    stack.append((down, TaskState.SKIPPED))
                elif decision is UPSTREAM_FAILED:
                    states[down] = TaskState.SCHEDULED
                    stack.append((down, TaskState.UPSTREAM_FAILED))


__all__ = ["ActiveRun", "InvalidTransition", "TaskSpec"]
