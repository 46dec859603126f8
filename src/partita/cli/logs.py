"""``partita logs``: print, tail, slice or follow the log of one task instance.

The design decision: the log is read from the log store a page at a time
(or as a tail, or a range of line numbers), never loaded whole, so a log of
hundreds of megabytes prints in constant memory and ``--tail`` answers at
once. ``--follow`` polls for the lines after the last one printed until the
try ends. A try that failed ends with its full traceback, from its
``task_error`` event.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import click

from partita.cli.console import ti_label
from partita.cli.store import find_task_instance, metadata_store
from partita.definitions.states import TaskState
from partita.engine.secrets import register_known_secrets
from partita.exceptions import PartitaError
from partita.masking import mask
from partita.storage.base import Storage
from partita.storage.records import EventKind, LogLineRecord, TaskInstanceRecord

#: Lines read per query when printing a whole log.
PAGE_LINES = 5000
#: Seconds between two reads of ``--follow``.
FOLLOW_POLL_SECONDS = 0.5
_ACTIVE = frozenset({TaskState.QUEUED, TaskState.RUNNING, TaskState.SCHEDULED, TaskState.NONE})


class LineRange(click.ParamType):
    """``A:B``: lines A to B of a try, counted from 1, both included; either end may be left out."""

    name = "A:B"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[int, int | None]:
        if isinstance(value, tuple):
            return value
        text = str(value)
        first, colon, last = text.partition(":")
        try:
            start = int(first) if first.strip() else 1
            end = int(last) if last.strip() else None
        except ValueError:
            start, end = 0, None
        if not colon or start < 1 or (end is not None and end < start):
            self.fail(
                f"{text!r} is not a line range; write A:B with 1 <= A <= B (e.g. 100:200, "
                f"or 100: to the end, or :50 for the first 50 lines)",
                param,
                ctx,
            )
        return start, end


@click.command()
@click.argument("run_id")
@click.argument("task_id")
@click.option(
    "--map-index",
    type=int,
    default=-1,
    show_default=True,
    help="Which instance of a mapped task (-1: the task is not mapped).",
)
@click.option(
    "--try", "try_number", type=click.IntRange(min=1), default=None, help="Only this try."
)
@click.option(
    "--tail",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Only the last N lines (of the latest try, or of --try N).",
)
@click.option(
    "--lines",
    "line_range",
    type=LineRange(),
    default=None,
    help="Only lines A to B, counted from 1 (of the latest try, or of --try N).",
)
@click.option(
    "--follow",
    "-f",
    is_flag=True,
    help="Keep printing new lines of a running try until it ends.",
)
def logs(
    run_id: str,
    task_id: str,
    map_index: int,
    try_number: int | None,
    tail: int | None,
    line_range: tuple[int, int | None] | None,
    follow: bool,
) -> None:
    """Print the log of TASK_ID in RUN_ID (every try, or only --try N).

    A try that failed ends with its full traceback.
    """
    if tail is not None and line_range is not None:
        raise click.UsageError("--tail and --lines both choose lines; give one of them")
    with metadata_store() as storage:
        ti = find_task_instance(storage, run_id, task_id, map_index)
        register_known_secrets(storage)  # a task may print a stored secret it got elsewhere
        one_try = try_number is not None or tail is not None or line_range is not None or follow
        tries = _tries(storage, ti, try_number, latest_only=one_try)
        printed = 0
        for number in tries:
            if len(tries) > 1:
                click.echo(f"--- try {number} ---")
            lines = _selected_lines(storage, ti, number, tail, line_range)
            if follow:
                lines = _followed(storage, ti, number, lines)
            printed += _print_lines(lines)
            _print_traceback(storage, ti, number)
    if not printed:
        click.echo(f"(no log lines recorded for {ti_label(ti)} in run {run_id})", err=True)


def _tries(
    storage: Storage, ti: TaskInstanceRecord, try_number: int | None, *, latest_only: bool
) -> list[int]:
    if try_number is not None:
        if try_number > max(ti.try_number, 0):
            tries = f"tries 1 to {ti.try_number}" if ti.try_number else "no tries yet"
            raise PartitaError(
                f"task {ti_label(ti)!r} of run {ti.run_id!r} has {tries}, not try {try_number}; "
                "omit --try to see every try"
            )
        return [try_number]
    logged = storage.logs.log_tries(ti.run_id, ti.task_id, ti.map_index)
    if latest_only:
        return [max([*logged, ti.try_number, 1])]
    return sorted({*logged, *range(1, ti.try_number + 1)})


def _selected_lines(
    storage: Storage,
    ti: TaskInstanceRecord,
    try_number: int,
    tail: int | None,
    line_range: tuple[int, int | None] | None,
) -> Iterator[LogLineRecord]:
    key = (ti.run_id, ti.task_id, ti.map_index, try_number)
    if tail is not None:
        yield from storage.logs.tail_lines(*key, tail)
        return
    start, end = (1, None) if line_range is None else line_range
    seq, stop = start - 1, None if end is None else end
    while stop is None or seq < stop:
        limit = PAGE_LINES if stop is None else min(PAGE_LINES, stop - seq)
        page = storage.logs.read_lines(*key, start=seq, limit=limit)
        yield from page
        if len(page) < limit:
            return
        seq = page[-1].seq + 1


def _followed(
    storage: Storage, ti: TaskInstanceRecord, try_number: int, lines: Iterator[LogLineRecord]
) -> Iterator[LogLineRecord]:
    """``lines``, then every line written after them, until the try has ended."""
    next_seq = 0
    for line in lines:
        next_seq = line.seq + 1
        yield line
    key = (ti.run_id, ti.task_id, ti.map_index, try_number)
    while True:
        ended = not _still_running(storage, ti, try_number)
        while page := storage.logs.read_lines(*key, start=next_seq, limit=PAGE_LINES):
            yield from page
            next_seq = page[-1].seq + 1
        if ended:
            return
        sys.stdout.flush()
        time.sleep(FOLLOW_POLL_SECONDS)


def _still_running(storage: Storage, ti: TaskInstanceRecord, try_number: int) -> bool:
    if storage.runs.get_run(ti.run_id).state.finished:
        return False
    current = find_task_instance(storage, ti.run_id, ti.task_id, ti.map_index)
    return current.try_number < try_number or (
        current.try_number == try_number and current.state in _ACTIVE
    )


def _print_lines(lines: Iterator[LogLineRecord]) -> int:
    count = 0
    out = sys.stdout
    for line in lines:
        out.write(f"[{line.timestamp.isoformat()}] {line.level} - {mask(line.message)}\n")
        count += 1
    out.flush()
    return count


def _print_traceback(storage: Storage, ti: TaskInstanceRecord, try_number: int) -> None:
    errors = storage.events.read_events(
        ti.run_id, task_id=ti.task_id, map_index=ti.map_index, kinds=[EventKind.TASK_ERROR]
    )
    for event in errors:
        if event.try_number != try_number:
            continue
        text = event.payload.get("traceback") or event.payload.get("error")
        if text:
            click.echo(f"--- try {try_number} failed ---")
            click.echo(mask(str(text)).rstrip("\n"))


__all__ = ["logs"]
