"""How ``partita backfill`` shows backfills: the plan, a table, the facts, a live progress bar.

The design decision: everything shown is read from the backfill store (the
backfill and its progress, counted from its planned runs and their runs'
states), so ``show`` in another terminal sees what the scheduler did.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from partita.cli.console import format_time, state_text
from partita.definitions.asset_backfill_job import ASSET_SELECTION_KEY
from partita.definitions.partition_range import RANGE_SEPARATOR
from partita.scheduler.backfill_plan import BackfillPlan
from partita.scheduler.loop import live_scheduler_ids
from partita.storage.backfills import (
    BackfillProgress,
    BackfillRecord,
    BackfillStatus,
    PlannedAction,
)
from partita.storage.base import Storage

#: How many planned runs ``--dry-run`` lists before it summarizes the rest.
SHOWN_PLANNED = 20
#: Seconds ``--wait`` / ``--follow`` wait for a live scheduler before saying there is none.
NO_SCHEDULER_NOTICE_AFTER = 3.0
_POLL_SECONDS = 0.5


def plan_lines(plan: BackfillPlan, *, dry_run: bool) -> Iterator[Text]:
    """What ``create`` prints: the backfill (or the plan, with ``--dry-run``) in a few lines."""
    backfill = plan.backfill
    create, rerun, skip = (plan.count(a) for a in PlannedAction)
    first, last = plan.planned[0].logical_date, plan.planned[-1].logical_date
    counts = f"{create} new runs, {rerun} to run again, {skip} kept as they were"
    what, span = f"{backfill.total} logical dates", f"{first.isoformat()} to {last.isoformat()}"
    if backfill.partitions is not None:
        what = f"{backfill.total} partitions of {', '.join(_assets_of(backfill))}"
        span = f"{plan.planned[0].partition_key} to {plan.planned[-1].partition_key}"
        if RANGE_SEPARATOR in (plan.planned[0].partition_key or ""):
            # a backfill_policy's runs of ranges (FIRST...LAST each)
            assets = ", ".join(_assets_of(backfill))
            what = f"{backfill.total} runs of ranges of partitions of {assets}"
            span = backfill.partitions.replace(RANGE_SEPARATOR, " to ")
    if not dry_run:
        yield Text(
            f"Backfill {backfill.backfill_id} of DAG {backfill.dag_id}: {what} from {span} "
            f"({counts}); a scheduler runs them, {backfill.max_active_runs} at a time"
        )
        return
    yield Text(f"Dry run: a backfill of DAG {backfill.dag_id} would cover {what} "
               f"({counts}); nothing was stored")  # fmt: skip
    for planned in plan.planned[:SHOWN_PLANNED]:
        at = planned.partition_key or planned.logical_date.isoformat()
        yield Text(f"  {at}  {planned.action:6}  {planned.run_id}")
    if len(plan.planned) > SHOWN_PLANNED:
        yield Text(f"  ... and {len(plan.planned) - SHOWN_PLANNED} more, to {span.split()[-1]}")


def _assets_of(backfill: BackfillRecord) -> list[str]:
    """The assets an asset backfill materializes (from its runs' conf)."""
    return [str(name) for name in backfill.conf.get(ASSET_SELECTION_KEY, [])]


def progress_summary(progress: BackfillProgress) -> str:
    """``120/366 finished (118 success, 2 failed), 4 active, 242 to queue, 0 kept``."""
    states = ", ".join(f"{n} {state}" for state, n in sorted(progress.states.items()))
    return (
        f"{progress.finished}/{progress.total} finished" + (f" ({states})" if states else "")
        + f", {progress.active} active, {progress.pending} to queue, {progress.skipped} kept"
    )  # fmt: skip


def backfills_table(
    backfills: list[BackfillRecord], progress: Mapping[str, BackfillProgress]
) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("BACKFILL", "DAG", "STATUS", "FROM", "TO", "PROGRESS", "CREATED"):
        table.add_column(column)
    for b in backfills:
        p = progress[b.backfill_id]
        table.add_row(
            b.backfill_id, b.dag_id, status_text(b.status), b.from_date.isoformat(),
            b.to_date.isoformat(), f"{p.finished}/{p.total}", format_time(b.created_at),
        )  # fmt: skip
    return table


def status_text(status: BackfillStatus) -> Text:
    """A backfill's status, coloured as the run state it resembles."""
    like = {BackfillStatus.COMPLETED: "success"}.get(status, status.value)
    return Text(status.value, style=state_text(like).style)


def backfill_facts(backfill: BackfillRecord, progress: BackfillProgress) -> Table:
    table = Table(box=None, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    rows: list[tuple[str, str | Text]] = [
        ("backfill", backfill.backfill_id),
        ("dag", backfill.dag_id),
        ("status", status_text(backfill.status)),
        ("range", f"{backfill.from_date.isoformat()} .. {backfill.to_date.isoformat()}"),
        *(
            [("assets", ", ".join(_assets_of(backfill))), ("partitions", backfill.partitions)]
            if backfill.partitions is not None
            else []
        ),
        ("reprocess", backfill.reprocess.value),
        ("max active runs", str(backfill.max_active_runs)),
        ("progress", progress_summary(progress)),
        ("created", format_time(backfill.created_at)),
        ("ended", format_time(backfill.ended_at)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def follow_backfill(storage: Storage, backfill_id: str, out: Console) -> BackfillStatus:
    """Show a progress bar until the backfill ends; say so when no scheduler is alive."""
    began, warned = time.monotonic(), False
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[summary]}"), TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=out, transient=False) as bar:
        task = bar.add_task(backfill_id, total=None, summary="")
        while True:
            backfill = storage.backfills.get(backfill_id)
            progress = storage.backfills.progress(backfill_id)
            bar.update(task, total=progress.total, completed=progress.finished,
                       summary=progress_summary(progress))  # fmt: skip
            if backfill.status.finished:
                break
            if not warned and time.monotonic() - began > NO_SCHEDULER_NOTICE_AFTER:
                warned = True
                if not live_scheduler_ids(storage.queue.list_schedulers(), datetime.now(UTC)):
                    out.print(Text("No scheduler is running on this database: the backfill "
                                   "waits until one starts ('partita scheduler' or "
                                   "'partita dev').", style="yellow"))  # fmt: skip
            time.sleep(_POLL_SECONDS)
    line = Text(f"Backfill {backfill_id}: ")
    line.append_text(status_text(backfill.status))
    out.print(line)
    return backfill.status


__all__ = [
    "backfill_facts",
    "backfills_table",
    "follow_backfill",
    "plan_lines",
    "progress_summary",
    "status_text",
]
