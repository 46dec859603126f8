"""How the CLI prints: Rich consoles, state colours, times and durations, the task table.

The design decision: every value that comes from user code or the database
(task ids, log lines, error messages) is put into Rich ``Text`` objects, never
into markup strings, so a ``[bold]`` in a log line prints as itself. Consoles
are built per command, bound to the streams of that moment, so output under
``CliRunner`` and during a task's output capture goes where it should.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from partita.definitions.states import RunState, TaskState
from partita.engine.active_run import aggregate_state
from partita.storage.records import EventKind, EventRecord, TaskInstanceRecord

#: Width used when the output is not a terminal (a pipe, a file, a test), so ids are never cut.
PIPE_WIDTH = 200

STATE_STYLES: dict[str, str] = {
    "success": "green",
    "failed": "bold red",
    "upstream_failed": "dark_orange",
    "skipped": "magenta",
    "up_for_retry": "yellow",
    "up_for_reschedule": "turquoise2",
    "running": "cyan",
    "queued": "blue",
    "scheduled": "blue",
    "cancelled": "bright_black",
    "none": "dim",
}


def make_console(*, stderr: bool = False) -> Console:
    """A console on the current stdout (or stderr); wide when the stream is not a terminal.

    Lines of text are never broken by Rich (``soft_wrap``), so a run id stays whole for
    copying; tables still fit the width.
    """
    stream: TextIO = sys.stderr if stderr else sys.stdout
    console = Console(file=stream, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        width = int(os.environ.get("COLUMNS", "0") or 0) or PIPE_WIDTH
        console = Console(file=stream, highlight=False, soft_wrap=True, width=width)
    return console


def state_text(state: TaskState | RunState | str) -> Text:
    """A state, coloured."""
    value = str(state)
    return Text(value, style=STATE_STYLES.get(value, ""))


def format_duration(seconds: float | None) -> str:
    """``0.4ms``, ``12ms``, ``4.20s``, ``2m 03s``, ``1h 02m``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 0.01:
        return f"{seconds * 1000:.1f}ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def format_time(value: datetime | None) -> str:
    """A timestamp in UTC to the second: ``2025-01-31 06:00:00``; ``-`` when unknown."""
    if value is None:
        return "-"
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def ti_label(ti: TaskInstanceRecord) -> str:
    """``task_id``, or ``task_id[3]`` for one instance of a mapped task."""
    return ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"


def in_run_order(tis: Iterable[TaskInstanceRecord]) -> list[TaskInstanceRecord]:
    """Task instances in the order they started; those that never started last, by id."""
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(
        tis,
        key=lambda ti: (
            ti.start_date is None,
            ti.start_date.astimezone(UTC) if ti.start_date else far,
            ti.task_id,
            ti.map_index,
        ),
    )


def task_table(
    tis: Iterable[TaskInstanceRecord],
    notes: Mapping[str, str] | None = None,
    *,
    expand_mapped: bool = False,
) -> Table:
    """Task id, state (coloured), try number, duration and a note for each task.

    The instances of a mapped task make one row, ``add [6]``, with the most
    telling state and how many instances ended in each state, unless
    ``expand_mapped`` asks for a row per instance.
    """
    notes = notes or {}
    rows: list[tuple[Text, Text, str, str, Text]] = []
    ordered = in_run_order(tis)
    mapped: dict[str, list[TaskInstanceRecord]] = {}
    for ti in ordered:
        if ti.map_index >= 0 and not expand_mapped:
            mapped.setdefault(ti.task_id, []).append(ti)
    shown: set[str] = set()
    for ti in ordered:
        if ti.task_id in mapped:
            if ti.task_id not in shown:
                shown.add(ti.task_id)
                rows.append(_mapped_row(ti.task_id, mapped[ti.task_id], notes))
            continue
        rows.append(
            (
                Text(ti_label(ti)),
                state_text(ti.state),
                str(ti.try_number) if ti.try_number else "-",
                format_duration(ti.duration),
                Text(notes.get(ti.task_id, "")),
            )
        )
    with_notes = any(row[4].plain for row in rows)
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("task", overflow="fold")
    table.add_column("state")
    table.add_column("try", justify="right")
    table.add_column("duration", justify="right")
    if with_notes:
        table.add_column("note", overflow="fold")
    for row in rows:
        table.add_row(*(row if with_notes else row[:4]))
    return table


def _mapped_row(
    task_id: str, instances: list[TaskInstanceRecord], notes: Mapping[str, str]
) -> tuple[Text, Text, str, str, Text]:
    counts = Counter(str(ti.state) for ti in instances)
    state = aggregate_state(ti.state for ti in instances)
    summary = ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))
    bad = [str(ti.map_index) for ti in instances if ti.state is not TaskState.SUCCESS]
    if bad and len(counts) > 1:
        shown = ", ".join(bad[:10]) + (" ..." if len(bad) > 10 else "")
        summary += f" (not success: [{shown}])"
    note = notes.get(task_id, "")
    durations = [ti.duration for ti in instances if ti.duration is not None]
    tries = max(ti.try_number for ti in instances)
    return (
        Text(f"{task_id} [{len(instances)}]"),
        state_text(state),
        str(tries) if tries else "-",
        format_duration(sum(durations) if durations else None),
        Text(f"{summary}; {note}" if note else summary),
    )


def branch_notes(events: Iterable[EventRecord]) -> dict[str, str]:
    """Notes from task-state events: the branch a task followed, who skipped a task."""
    notes: dict[str, str] = {}
    for event in events:
        if event.kind is not EventKind.TASK_STATE or event.task_id is None:
            continue
        payload = event.payload
        if payload.get("followed") is not None:
            followed = payload["followed"]
            notes[event.task_id] = "→ " + (", ".join(followed) if followed else "(nothing)")
        elif payload.get("skipped_by"):
            notes[event.task_id] = f"skipped by {payload['skipped_by']}"
    return notes


__all__ = [
    "STATE_STYLES",
    "branch_notes",
    "format_duration",
    "format_time",
    "in_run_order",
    "make_console",
    "state_text",
    "task_table",
    "ti_label",
]
