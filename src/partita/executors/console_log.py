"""``ConsoleRunLog``: what ``dag.test()`` prints while a run goes, as Airflow's ``dag.test()`` does.

One line when the run starts and ends, one when each task instance starts
and ends (state, try, duration), and in between the task's own log lines and,
for a failed try, its traceback, so a test run reads like a task log without
opening a store.

The design decision: it is a ``RunListener`` (the same hook as the CLI's
progress bar), writing to ``sys.stdout`` as it is when each line is written,
so pytest's capture and ``contextlib.redirect_stdout`` see the lines; the run
itself never depends on it and ``dag.test(verbose=False)`` does not attach it.
A task's lines are printed when its try ends: those a long log streamed to
the store while it ran are read back from it a page at a time (only when
there are some, so a short log costs no read), then the rest from the outcome.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from partita.definitions.states import TaskState
from partita.engine.work import TaskOutcome
from partita.storage.base import Storage
from partita.storage.records import DagRunRecord, TaskInstanceRecord

#: Lines read back from the store per query (a streamed log is read a page at a time).
_PAGE_LINES = 5000
#: Waiting for the clock (a retry, a sensor's next poke): printed like an end.
_WAITING = frozenset({TaskState.UP_FOR_RETRY, TaskState.UP_FOR_RESCHEDULE})


def _stamp(when: datetime | None = None) -> str:
    return (when or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds")


def _label(ti: TaskInstanceRecord) -> str:
    return ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.1f}ms" if seconds < 1 else f"{seconds:.2f}s"


class ConsoleRunLog:
    """Prints a run's progress and its tasks' log lines on stdout.

    ``storage`` is the run's store, where the lines of a long log already are
    when its try ends; without it only the lines in the outcome are printed.
    """

    def __init__(self, storage: Storage | None = None) -> None:
        self._dag_id = ""
        self._storage = storage
        #: Per rescheduled try: the seq its log was printed up to (its next poke goes on there).
        self._printed: dict[tuple[str, int, int], int] = {}

    def _write(self, level: str, message: str, when: datetime | None = None) -> None:
        sys.stdout.write(f"[{_stamp(when)}] {level} - {message}\n")

    def run_started(self, run: DagRunRecord, total: int) -> None:
        self._dag_id = run.dag_id
        self._write("INFO", f"dag {run.dag_id!r}: run {run.run_id} started")

    def task_changed(self, ti: TaskInstanceRecord) -> None:
        if ti.state is TaskState.RUNNING:
            self._write("INFO", f"{_label(ti)}: running (try {ti.try_number})")
        elif ti.state.finished or ti.state in _WAITING:
            level = "ERROR" if ti.state is TaskState.FAILED else "INFO"
            took = f" in {_duration(ti.duration)}" if ti.duration is not None else ""
            self._write(level, f"{_label(ti)}: {ti.state}{took}")

    def try_ended(self, ti: TaskInstanceRecord, outcome: TaskOutcome) -> None:
        label = _label(ti)
        start = self._printed.pop((ti.task_id, ti.map_index, outcome.try_number), 0)
        if outcome.state is TaskState.UP_FOR_RESCHEDULE:
            key = (ti.task_id, ti.map_index, outcome.try_number)
            self._printed[key] = outcome.first_log_seq + len(outcome.logs)
        if outcome.first_log_seq > start and self._storage is not None:
            self._print_streamed(ti, outcome, label, start)
        for line in outcome.logs:
            self._write(line.level, f"{label}: {line.message}", line.timestamp)
        if outcome.error is not None:
            self._write("ERROR", f"{label}: {outcome.traceback or outcome.error}".rstrip())

    def _print_streamed(
        self, ti: TaskInstanceRecord, outcome: TaskOutcome, label: str, seq: int
    ) -> None:
        assert self._storage is not None
        end = outcome.first_log_seq
        while seq < end:
            page = self._storage.logs.read_lines(
                ti.run_id, ti.task_id, ti.map_index, outcome.try_number,
                start=seq, limit=min(_PAGE_LINES, end - seq),
            )  # fmt: skip
            if not page:
                return
            for line in page:
                self._write(line.level, f"{label}: {line.message}", line.timestamp)
            seq = page[-1].seq + 1

    def task_expanded(self, task_id: str, length: int) -> None:
        self._write("INFO", f"{task_id}: mapped over {length} values")

    def run_finished(self, run: DagRunRecord) -> None:
        level = "INFO" if run.state == "success" else "ERROR"
        self._write(level, f"dag {run.dag_id!r}: run {run.run_id} ended: {run.state}")


__all__ = ["ConsoleRunLog"]
