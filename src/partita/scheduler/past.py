"""``PreviousRuns``: the task states of the run before a run, for ``depends_on_past``.

The decision (``engine.admission.past_allows``) is pure; this class finds a
run's previous run (the same DAG's run with the latest logical date before
its own) and reads that run's task states, again at most once a second while
the previous run has not finished (a finished run's states are kept).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from partita.definitions.dag import DAG
from partita.definitions.states import TaskState
from partita.engine.admission import PAST_OK
from partita.storage.base import Storage

#: Seconds between reads of an unfinished previous run's task states.
REFRESH_SECONDS = 1.0
#: How many runs of a DAG are looked through for the previous one.
MAX_RUNS_LOOKED_AT = 10_000


class PreviousRuns:
    """Finds and reads the previous run of each run that has ``depends_on_past`` tasks."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._previous: dict[str, str | None] = {}
        self._states: dict[str, tuple[float, bool, dict[str, TaskState]]] = {}

    def previous_run_id(self, dag: DAG, run_id: str) -> str | None:
        if run_id not in self._previous:
            when = self.storage.runs.get_run(run_id).logical_date
            earlier = [
                (r.logical_date, r.run_id)
                for r in self.storage.runs.list_runs(dag.dag_id, limit=MAX_RUNS_LOOKED_AT)
                if r.logical_date is not None and when is not None and r.logical_date < when
            ]
            self._previous[run_id] = max(earlier)[1] if earlier else None
        return self._previous[run_id]

    def states(self, dag: DAG, run_id: str) -> Mapping[str, TaskState] | None:
        """The previous run's state per task id (the worst of a mapped task's); None: no run."""
        previous = self.previous_run_id(dag, run_id)
        if previous is None:
            return None
        cached = self._states.get(previous)
        now = time.monotonic()
        if cached is not None and (cached[1] or now - cached[0] < REFRESH_SECONDS):
            return cached[2]
        final = self.storage.runs.get_run(previous).state.finished
        states: dict[str, TaskState] = {}
        for ti in self.storage.runs.get_task_instances(previous):
            seen = states.get(ti.task_id)
            if seen is None or (seen in PAST_OK and ti.state not in PAST_OK):
                states[ti.task_id] = ti.state
        self._states[previous] = (now, final, states)
        return states

    def forget(self, run_id: str) -> None:
        """The run ended: drop what was kept for it."""
        previous = self._previous.pop(run_id, None)
        if previous is not None:
            self._states.pop(previous, None)


__all__ = ["PreviousRuns"]
