"""``ConsoleRunLog``: what ``dag.test()`` prints while a run goes, as Airflow's ``dag.test()`` does.

One line when the run starts and ends, one when each task instance starts
and ends (state, try, duration), and in between the task's own log lines and,
for a failed try, its traceback, so a test run reads like a task log without
opening a store.

The design decision: it is a ``RunListener`` (the same hook as the CLI's
progress bar), writing to ``sys.stdout`` as it is when each line is written,
so pytest's capture and ``contextlib.redirect_stdout`` see the lines; the run
itself never depends on it and ``dag.test(verbose=False)`` does not attach it.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from partita.definitions.states import TaskState
from partita.engine.work import TaskOutcome
from partita.storage.records import DagRunRecord, TaskInstanceRecord


def _stamp(when: datetime | None = None) -> str:
    return (when or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds")


def _label(ti: TaskInstanceRecord) -> str:
    return ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.1f}ms" if seconds < 1 else f"{seconds:.2f}s"


class ConsoleRunLog:
    """Prints a run's progress and its tasks' log lines on stdout."""

    def __init__(self) -> None:
        self._dag_id = ""

    def _write(self, level: str, message: str, when: datetime | None = None) -> None:
        sys.stdout.write(f"[{_stamp(when)}] {level} - {message}\n")

    def run_started(self, run: DagRunRecord, total: int) -> None:
        self._dag_id = run.dag_id
        self._write("INFO", f"dag {run.dag_id!r}: run {run.run_id} started")

    def task_changed(self, ti: TaskInstanceRecord) -> None:
        if ti.state is TaskState.RUNNING:
            self._write("INFO", f"{_label(ti)}: running (try {ti.try_number})")
        elif ti.state.finished or ti.state is TaskState.UP_FOR_RETRY:
            level = "ERROR" if ti.state is TaskState.FAILED else "INFO"
            took = f" in {_duration(ti.duration)}" if ti.duration is not None else ""
            self._write(level, f"{_label(ti)}: {ti.state}{took}")

    def try_ended(self, ti: TaskInstanceRecord, outcome: TaskOutcome) -> None:
        label = _label(ti)
        for line in outcome.logs:
            self._write(line.level, f"{label}: {line.message}", line.timestamp)
        if outcome.error is not None:
            self._write("ERROR", f"{label}: {outcome.traceback or outcome.error}".rstrip())

    def task_expanded(self, task_id: str, length: int) -> None:
        self._write("INFO", f"{task_id}: mapped over {length} values")

    def run_finished(self, run: DagRunRecord) -> None:
        level = "INFO" if run.state == "success" else "ERROR"
        self._write(level, f"dag {run.dag_id!r}: run {run.run_id} ended: {run.state}")


__all__ = ["ConsoleRunLog"]
