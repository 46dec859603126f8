"""``ActiveRun``: the pure state machine of one DAG run.

It knows the graph (upstream and downstream ids, trigger rules, which tasks
are mapped) and the state of every task instance, and nothing else: no
clock, no I/O, no task code. Readiness is incremental: each task keeps
counters of how its direct upstream *instances* finished, and a finished
instance updates only its direct downstreams, so a run costs
O(instances + edges), never a rescan per finished task.

Task instances are keyed ``(task_id, map_index)``; an unmapped task has the
single index -1. A mapped task starts as one unexpanded unit at -1. When its
trigger rule lets it run, it is handed to the driver to *expand* (the driver
knows its input's length); ``expand(task_id, n)`` replaces the unit by ``n``
ready instances, or skips the task when ``n`` is 0. Downstream counters then
count each instance, as Airflow's trigger rules do.

Inside a mapped task group, edges between members are per *group instance*:
instance ``i`` of a member waits only for instance ``i`` of its upstream
members. A task can have several instances per group instance: a mapped
task inside the group (``fans_out``), or a member of a mapped group nested
in it. ``expand(task_id, length, widths)`` gives, for each enclosing mapped
group (outermost first), how many instances it has per instance of that
group; instances are laid out outermost group first, so instance ``j``
belongs to instance ``j // width`` of a group. An edge between two tasks is
per instance of the innermost mapped group they share ("level" 1, 2...):
each instance waits for that group instance of its upstream, all of its
instances there.

A task's state is decided only once no unfinished upstream can change it.
Two things make that hold: ``decide`` waits while a decision could still
change (trigger_rules.py), and a task that an unfinished *skipper* (a
branch, a short circuit: ``TaskSpec.may_skip``) could still skip is held
undecided until that skipper ends; so a task a branch does not choose is
skipped even when an eager rule (``one_success``, ``always``) would already
have run it, whatever the order tasks finish in. Skippers that are mapped or
inside a mapped task group hold nothing (their skips apply to tasks not yet
decided, as before).

Setups and teardowns (Airflow's): a teardown's rule, ``all_done_setup_success``,
runs it once all its upstreams are done if one of its ``setups`` succeeded;
a teardown decides the run's state only with ``on_failure_fail_dagrun``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from partita.definitions.states import FAILED_TASK_STATES, RunState, TaskState, TriggerRule
from partita.engine.trigger_rules import RUN, SKIP, WAIT, Decision, decide, setup_decision

TIKey = tuple[str, int]
_SUCCESS, _SKIPPED, _FAILED, _UPSTREAM_FAILED = 0, 1, 2, 3
_COUNTER_OF = {
    TaskState.SUCCESS: _SUCCESS,
    TaskState.SKIPPED: _SKIPPED,
    TaskState.FAILED: _FAILED,
    TaskState.UPSTREAM_FAILED: _UPSTREAM_FAILED,
    TaskState.CANCELLED: _FAILED,
}
_NONE = TaskState.NONE
#: The states of an instance waiting for the driver's clock to queue it again.
_WAITING = frozenset({TaskState.UP_FOR_RETRY, TaskState.UP_FOR_RESCHEDULE})


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """What the state machine needs to know of one task."""

    task_id: str
    upstream: tuple[str, ...]
    downstream: tuple[str, ...]
    trigger_rule: TriggerRule
    mapped: bool = False
    max_active: int | None = None  # max_active_tis_per_dagrun
    group: str | None = None  # the mapped task group it belongs to, if any
    #: A mapped task inside a mapped group: several instances per group instance.
    fans_out: bool = False
    #: The mapped groups enclosing ``group``, outermost first (nested mapped groups).
    outer_groups: tuple[str, ...] = ()
    #: Tasks this one may skip when it ends (a branch: its direct downstreams).
    may_skip: tuple[str, ...] = ()
    #: A teardown's direct upstream setup tasks (``all_done_setup_success`` checks them).
    setups: tuple[str, ...] = ()
    #: A teardown: it decides the run's state only with ``on_failure_fail_dagrun``.
    teardown: bool = False
    on_failure_fail_dagrun: bool = False

    @property
    def groups(self) -> tuple[str, ...]:
        """Every mapped group the task is in, outermost first."""
        return () if self.group is None else (*self.outer_groups, self.group)


class InvalidTransition(RuntimeError):
    """The driver reported something impossible (a bug in partita, not in user code)."""


class ActiveRun:
    """Tracks every task instance of one run from pending to finished."""

    def __init__(self, specs: Iterable[TaskSpec]) -> None:
        self.specs: dict[str, TaskSpec] = {s.task_id: s for s in specs}
        self.states: dict[TIKey, TaskState] = {(t, -1): _NONE for t in self.specs}
        self.map_lengths: dict[str, int] = {}
        self._counts: dict[str, list[int]] = {t: [0, 0, 0, 0] for t in self.specs}
        # In mapped groups, edges between members are per group instance ("inner", at the
        # level of the innermost group both are in); task-level counters count the others.
        self._levels_up: dict[str, dict[str, int]] = {}
        self._levels_down: dict[str, dict[str, int]] = {}
        for t, s in self.specs.items():
            if s.group is not None:
                self._levels_up[t] = {u: lv for u in s.upstream if (lv := self._level(t, u))}
                self._levels_down[t] = {d: lv for d in s.downstream if (lv := self._level(t, d))}
        self._inner_up: dict[str, int] = {t: len(self._levels_up.get(t, ())) for t in self.specs}
        self._inner_levels: dict[str, tuple[int, ...]] = {
            t: tuple(sorted(set(ups.values()))) for t, ups in self._levels_up.items()
        }
        self._totals: dict[str, int] = {
            t: len(s.upstream) - self._inner_up[t] for t, s in self.specs.items()
        }
        #: Inner upstreams that may have several instances per group instance at their level.
        self._wide_inner_up: dict[str, tuple[tuple[str, int], ...]] = {
            t: tuple((u, lv) for u, lv in ups.items() if self._may_be_wide(u, lv))
            for t, ups in self._levels_up.items()
        }
        #: Per expanded task with a width other than 1: its instances per group instance,
        #: one number per enclosing mapped group (outermost first).
        self._widths: dict[str, tuple[int, ...]] = {}
        self._inner_counts: dict[tuple[str, int, int], list[int]] = {}
        self._broadcast: dict[str, list[int]] = {}
        self._open_instances: dict[str, int] = {}
        self._ready: deque[TIKey] = deque()
        self._deferred: deque[TIKey] = deque()
        self._to_expand: list[str] = []
        self._running: dict[str, int] = {}
        self._unfinished = len(self.specs)
        self._leaves = self._effective_leaves()
        #: Unmapped skippers -> the tasks they may skip; task -> how many skippers hold it.
        self._skippers: dict[str, tuple[str, ...]] = {}
        self._holds: dict[str, int] = {}
        for t, s in self.specs.items():
            if s.may_skip and not s.mapped:
                targets = tuple(d for d in dict.fromkeys(s.may_skip) if d in self.specs and d != t)
                self._skippers[t] = targets
                for d in targets:
                    self._holds[d] = self._holds.get(d, 0) + 1
        self._started = False

    def _effective_leaves(self) -> list[str]:
        """The tasks whose ends decide the run's state (Airflow: teardowns are left out).

        A teardown without ``on_failure_fail_dagrun`` does not count, and a
        task followed only by such teardowns counts as a leaf.
        """
        specs = self.specs

        def ignored(s: TaskSpec) -> bool:
            return s.teardown and not s.on_failure_fail_dagrun

        leaves = [
            t
            for t, s in specs.items()
            if not ignored(s) and all(ignored(specs[d]) for d in s.downstream)
        ]
        return leaves or [t for t, s in specs.items() if not s.downstream]

    # -- driving ------------------------------------------------------------------
    def start(self) -> list[tuple[TIKey, TaskState]]:
        """Mark what can run at once as ready; returns the state changes."""
        if self._started:
            raise InvalidTransition("the run was already started")
        self._started = True
        changes: list[tuple[TIKey, TaskState]] = []
        holds = self._holds
        for task_id, spec in self.specs.items():
            free = self._totals[task_id] == 0 or spec.trigger_rule is TriggerRule.ALWAYS
            if free and task_id not in holds:
                self._make_ready(task_id, changes)
        return changes

    def take_expandable(self) -> list[str]:
        """Mapped tasks whose trigger rule passed: the driver must call ``expand`` for each."""
        out, self._to_expand = self._to_expand, []
        return out

    def expand(
        self, task_id: str, length: int, widths: tuple[int, ...] = ()
    ) -> list[tuple[TIKey, TaskState]]:
        """Replace the unexpanded unit of ``task_id`` by ``length`` ready instances.

        ``widths``: its instances per instance of each enclosing mapped group,
        outermost first (empty: 1 for each).
        """
        key = (task_id, -1)
        spec = self.specs[task_id]
        if self.states.get(key) is not TaskState.SCHEDULED or not spec.mapped:
            raise InvalidTransition(f"{task_id!r} is not a mapped task waiting to expand")
        if widths and (len(widths) != len(spec.groups) or any(w < 1 or length % w for w in widths)):
            raise InvalidTransition(f"{task_id!r} cannot expand to {length} by {widths}")
        changes: list[tuple[TIKey, TaskState]] = []
        if length == 0:
            self._set_finished(key, TaskState.SKIPPED, changes, report_first=True)
            return changes
        del self.states[key]
        self.map_lengths[task_id] = length
        if any(w != 1 for w in widths):
            self._widths[task_id] = widths
        self._open_instances[task_id] = length
        self._unfinished += length - 1
        inner_down = self._levels_down.get(task_id, {})
        for down in self.specs[task_id].downstream:
            if down not in inner_down:
                self._totals[down] += length - 1
        states, ready = self.states, self._ready
        if not self._inner_up[task_id]:
            for index in range(length):
                states[(task_id, index)] = TaskState.SCHEDULED
                ready.append((task_id, index))
            return changes
        for index in range(length):  # wait for the same instance of inner upstreams
            states[(task_id, index)] = _NONE
        for index in range(length):
            self._evaluate_instance((task_id, index), changes)
        return changes

    def _evaluate_instance(self, key: TIKey, changes: list[tuple[TIKey, TaskState]]) -> None:
        """Decide one waiting instance of a mapped-group member from outer + inner counts."""
        if self.states.get(key) is not _NONE:
            return
        task_id = key[0]
        spec = self.specs[task_id]
        inner_total = self._inner_total(task_id)
        if inner_total is None:
            return  # an upstream member that fans out has not expanded yet
        outer = self._counts[task_id]
        extra = self._broadcast.get(task_id) or (0, 0, 0, 0)
        c = [outer[i] + extra[i] for i in range(4)]
        for level in self._inner_levels[task_id]:
            group_index = key[1] // self._width_at(task_id, level)
            inner = self._inner_counts.get((task_id, level, group_index))
            if inner is not None:
                for i in range(4):
                    c[i] += inner[i]
        total = self._totals[task_id] + inner_total
        decision = decide(spec.trigger_rule, total, c[0], c[1], c[2], c[3])
        if decision is WAIT:
            return
        if decision is RUN and spec.setups:
            decision = self._setup_decision(spec)
        if decision is RUN:
            self.states[key] = TaskState.SCHEDULED
            self._ready.append(key)
            changes.append((key, TaskState.SCHEDULED))
            return
        self.states[key] = TaskState.SCHEDULED
        final = TaskState.SKIPPED if decision is SKIP else TaskState.UPSTREAM_FAILED
        self._set_finished(key, final, changes, report_first=True)

    def _inner_total(self, task_id: str) -> int | None:
        """Upstream member instances one instance of ``task_id`` waits for (None: not known yet)."""
        total = self._inner_up[task_id]
        for up, level in self._wide_inner_up.get(task_id, ()):
            if up in self.map_lengths:
                total += self._width_at(up, level) - 1
            elif not self.states[(up, -1)].finished:
                return None
        return total

    def _width_at(self, task_id: str, level: int) -> int:
        """Instances of ``task_id`` per instance of its ``level``-th mapped group (1-based)."""
        widths = self._widths.get(task_id)
        return 1 if widths is None else widths[level - 1]

    def _level(self, a: str, b: str) -> int:
        """How many mapped groups (from the outermost) ``a`` and ``b`` share; 0 for none."""
        level = 0
        for ga, gb in zip(self.specs[a].groups, self.specs[b].groups, strict=False):
            if ga != gb:
                break
            level += 1
        return level

    def _may_be_wide(self, task_id: str, level: int) -> bool:
        """Whether ``task_id`` can have several instances per instance of its ``level`` group."""
        spec = self.specs[task_id]
        return spec.fans_out or len(spec.groups) > level

    def fail_expansion(self, task_id: str, state: TaskState) -> list[tuple[TIKey, TaskState]]:
        """The mapped task could not expand (bad input): finish its unit as ``state``."""
        changes: list[tuple[TIKey, TaskState]] = []
        self._set_finished((task_id, -1), state, changes, report_first=True)
        return changes

    def take_ready(self, limit: int | None = None) -> list[TIKey]:
        """Ready instances, in the order they became ready; they become ``queued``.

        Instances of a task already running ``max_active`` instances wait.
        """
        out: list[TIKey] = []
        ready, states, specs, running = self._ready, self.states, self.specs, self._running
        if self._deferred:
            ready.extendleft(reversed(self._deferred))
            self._deferred.clear()
        while ready and (limit is None or len(out) < limit):
            key = ready.popleft()
            cap = specs[key[0]].max_active
            if cap is not None:
                if running.get(key[0], 0) >= cap:
                    self._deferred.append(key)
                    continue
                running[key[0]] = running.get(key[0], 0) + 1
            states[key] = TaskState.QUEUED
            out.append(key)
        return out

    def mark_running(self, key: TIKey) -> None:
        if self.states[key] is not TaskState.QUEUED:
            raise InvalidTransition(f"{key} is {self.states[key]}, not queued")
        self.states[key] = TaskState.RUNNING

    def mark_up_for_retry(self, key: TIKey) -> None:
        """The instance failed and will be tried again later (the driver keeps the clock)."""
        self._release_slot(key[0])
        self.states[key] = TaskState.UP_FOR_RETRY

    def mark_up_for_reschedule(self, key: TIKey) -> None:
        """The instance (a sensor) gave its slot back until its next poke (the driver's clock).

        From ``running``; or from ``queued`` when a resumed run takes up an
        instance that was waiting for its reschedule when the run stopped.
        """
        if self.states[key] not in (TaskState.RUNNING, TaskState.QUEUED):
            raise InvalidTransition(f"{key} is {self.states[key]}, not running or queued")
        self._release_slot(key[0])
        self.states[key] = TaskState.UP_FOR_RESCHEDULE

    def retry_now(self, key: TIKey) -> None:
        """Its retry delay (or reschedule wait) is over: queue the instance again."""
        if self.states[key] not in _WAITING:
            raise InvalidTransition(f"{key} is {self.states[key]}, not up_for_retry/reschedule")
        self.states[key] = TaskState.SCHEDULED
        self._ready.append(key)

    def requeue_lost(self, key: TIKey) -> None:
        """Its worker died (or stopped answering) while it was queued or running: ready again.

        A lost attempt says nothing about the task, so no retry is used; the
        driver counts lost attempts and fails the instance after too many.
        """
        if self.states[key] not in (TaskState.QUEUED, TaskState.RUNNING):
            raise InvalidTransition(f"{key} is {self.states[key]}, not queued or running")
        self._release_slot(key[0])
        self.states[key] = TaskState.SCHEDULED
        self._ready.append(key)

    def finish(
        self, key: TIKey, state: TaskState, skip: Sequence[str] = ()
    ) -> list[tuple[TIKey, TaskState]]:
        """An instance ended in ``state``; returns the states this decided for others.

        ``skip`` (from a branch or short circuit) names tasks downstream of this
        one to skip whatever their trigger rules say; tasks already decided
        keep their state.
        """
        if self.states[key].finished:
            raise InvalidTransition(f"{key} already finished as {self.states[key]}")
        self._release_slot(key[0])
        changes: list[tuple[TIKey, TaskState]] = []
        claimed = [(t, -1) for t in skip if self.states.get((t, -1)) is _NONE]
        for target in claimed:  # claim first, so propagation cannot start them
            self.states[target] = TaskState.SCHEDULED
        for target in claimed:
            self._set_finished(target, TaskState.SKIPPED, changes, report_first=True)
        self._set_finished(key, state, changes, report_first=False)
        return changes

    def cancel_unfinished(self) -> list[tuple[TIKey, TaskState]]:
        """Cancel everything not finished (the run was stopped)."""
        changes: list[tuple[TIKey, TaskState]] = []
        for key, state in self.states.items():
            if not state.finished:
                self.states[key] = TaskState.CANCELLED
                changes.append((key, TaskState.CANCELLED))
        self._unfinished = 0
        self._ready.clear()
        self._deferred.clear()
        self._to_expand.clear()
        return changes

    # -- queries --------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self._unfinished == 0

    @property
    def has_ready(self) -> bool:
        return bool(self._ready or self._deferred)

    def task_state(self, task_id: str) -> TaskState:
        """One state for a task: its instance's, or an aggregate of its mapped instances."""
        if task_id in self.map_lengths:
            return aggregate_state(
                self.states[(task_id, i)] for i in range(self.map_lengths[task_id])
            )
        return self.states[(task_id, -1)]

    def run_state(self) -> RunState:
        """``running`` until every instance finished; then failed if a leaf failed (Airflow)."""
        if self._unfinished:
            return RunState.RUNNING
        if any(s is TaskState.CANCELLED for s in self.states.values()):
            return RunState.FAILED
        if any(self.task_state(t) in FAILED_TASK_STATES for t in self._leaves):
            return RunState.FAILED
        return RunState.SUCCESS

    # -- internals ----------------------------------------------------------------------
    def _release_slot(self, task_id: str) -> None:
        if self.specs[task_id].max_active is not None:
            self._running[task_id] -= 1

    def _make_ready(self, task_id: str, changes: list[tuple[TIKey, TaskState]]) -> None:
        key = (task_id, -1)
        self.states[key] = TaskState.SCHEDULED
        if self.specs[task_id].mapped:
            self._to_expand.append(task_id)
        else:
            self._ready.append(key)
            changes.append((key, TaskState.SCHEDULED))

    def _set_finished(
        self,
        key: TIKey,
        state: TaskState,
        changes: list[tuple[TIKey, TaskState]],
        report_first: bool,
    ) -> None:
        """Finish one instance and propagate, iteratively (no recursion limit on long chains)."""
        stack = [(key, state)]
        specs, states, counts, totals = self.specs, self.states, self._counts, self._totals
        open_instances, holds, skippers = self._open_instances, self._holds, self._skippers
        report = report_first
        while stack:
            current, new_state = stack.pop()
            states[current] = new_state
            self._unfinished -= 1
            if report:
                changes.append((current, new_state))
            report = True
            task_id = current[0]
            if current[1] >= 0:
                open_instances[task_id] -= 1
            slot = _COUNTER_OF[new_state]
            inner_down = self._levels_down.get(task_id)
            for down in specs[task_id].downstream:
                if inner_down and down in inner_down:
                    self._inner_finished(task_id, down, inner_down[down], current[1], slot, changes)
                    continue
                down_key = (down, -1)
                if states.get(down_key) is not _NONE:
                    continue  # already decided (eager rules), running or expanded
                c = counts[down]
                c[slot] += 1
                if holds and down in holds:
                    continue  # a skipper that could still skip it is unfinished
                spec = specs[down]
                decision = decide(spec.trigger_rule, totals[down], c[0], c[1], c[2], c[3])
                if decision is WAIT:
                    continue
                if decision is RUN and spec.setups:
                    decision = self._setup_decision(spec)
                if decision is RUN:
                    self._make_ready(down, changes)
                else:
                    states[down_key] = TaskState.SCHEDULED  # claimed; finished when popped
                    final = TaskState.SKIPPED if decision is SKIP else TaskState.UPSTREAM_FAILED
                    stack.append((down_key, final))
            if skippers and task_id in skippers:
                self._release_holds(task_id, stack, changes)

    def _release_holds(
        self,
        skipper: str,
        stack: list[tuple[TIKey, TaskState]],
        changes: list[tuple[TIKey, TaskState]],
    ) -> None:
        """``skipper`` ended (its skips already applied): decide what it no longer holds."""
        holds, states, counts = self._holds, self.states, self._counts
        for target in self._skippers[skipper]:
            left = holds[target] - 1
            if left:
                holds[target] = left
                continue
            del holds[target]
            key = (target, -1)
            if states.get(key) is not _NONE:
                continue  # skipped by it, or expanded
            spec, c = self.specs[target], counts[target]
            decision = decide(spec.trigger_rule, self._totals[target], c[0], c[1], c[2], c[3])
            if decision is RUN and spec.setups:
                decision = self._setup_decision(spec)
            if decision is RUN:
                self._make_ready(target, changes)
            elif decision is not WAIT:
                states[key] = TaskState.SCHEDULED
                final = TaskState.SKIPPED if decision is SKIP else TaskState.UPSTREAM_FAILED
                stack.append((key, final))

    def _setup_decision(self, spec: TaskSpec) -> Decision:
        """A teardown whose upstreams are all done: run it only if one of its setups succeeded."""
        success = skipped = total = 0
        for setup in spec.setups:
            length = self.map_lengths.get(setup)
            keys = [(setup, -1)] if length is None else [(setup, i) for i in range(length)]
            for key in keys:
                total += 1
                state = self.states[key]
                success += state is TaskState.SUCCESS
                skipped += state is TaskState.SKIPPED
        return setup_decision(total, success, skipped)

    def _inner_finished(
        self,
        up: str,
        down: str,
        level: int,
        index: int,
        slot: int,
        changes: list[tuple[TIKey, TaskState]],
    ) -> None:
        """Instance ``index`` of ``up`` finished (-1: all); ``down`` shares ``level`` groups."""
        if index < 0:  # the upstream ended as a whole, without expanding: counts for every instance
            self._broadcast.setdefault(down, [0, 0, 0, 0])[slot] += 1
            for i in range(self.map_lengths.get(down, 0)):
                self._evaluate_instance((down, i), changes)
            return
        group_index = index // self._width_at(up, level)
        self._inner_counts.setdefault((down, level, group_index), [0, 0, 0, 0])[slot] += 1
        if down in self.map_lengths:
            width = self._width_at(down, level)
            for i in range(group_index * width, (group_index + 1) * width):
                self._evaluate_instance((down, i), changes)


def aggregate_state(states: Iterable[TaskState]) -> TaskState:
    """The state shown for a mapped task: the most telling of its instances' states."""
    seen = set(states)
    for state in (
        TaskState.FAILED,
        TaskState.UPSTREAM_FAILED,
        TaskState.RUNNING,
        TaskState.UP_FOR_RETRY,
        TaskState.UP_FOR_RESCHEDULE,
        TaskState.QUEUED,
        TaskState.SCHEDULED,
        TaskState.NONE,
        TaskState.CANCELLED,
        TaskState.SUCCESS,
    ):
        if state in seen:
            return state
    return TaskState.SKIPPED


__all__ = ["ActiveRun", "InvalidTransition", "TIKey", "TaskSpec", "aggregate_state"]
