"""``partita run PATH DAG_ID``: run one DAG now, recorded in the metadata database.

The design decision: the run is the in-process executor's (``run_dag``), or
with ``--workers N`` a ``RunDriver`` on a pool of N worker processes (the
local executor, ``executors/local.py``) that lives as long as the command; this
command only adds a progress bar (a ``RunListener``) and makes SIGTERM behave
like Ctrl-C, so the driver records the run as failed and its unfinished tasks
as cancelled before the process exits; only the first such signal interrupts,
so pressing Ctrl-C again cannot cut the recording short. A ``kill -9`` cannot be handled; the
next command that opens the database records that run as failed instead
(``partita.cli.recovery``).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from types import FrameType
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from partita.cli.console import (
    branch_notes,
    format_duration,
    make_console,
    state_text,
    task_table,
    ti_label,
)
from partita.cli.locate import find_dag
from partita.cli.params import conf_option, logical_date_option
from partita.cli.store import metadata_store
from partita.definitions.dag import DAG
from partita.definitions.states import TaskState
from partita.engine.driver import RunDriver
from partita.engine.result import RunResult
from partita.engine.secrets import register_known_secrets
from partita.engine.work import TaskOutcome
from partita.executors.in_process import run_dag
from partita.executors.local import WorkerPool, check_dag_file
from partita.masking import mask
from partita.scheduler.past import PreviousRuns
from partita.scheduler.slots import SlotBook
from partita.settings import Settings, load_settings
from partita.storage.base import Storage
from partita.storage.records import DagRunRecord, EventKind, TaskInstanceRecord


class ProgressDisplay:
    """A ``RunListener`` that draws a progress bar of finished task instances (terminals only)."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
            disable=not console.is_terminal,
        )
        self._bar: TaskID | None = None
        self._total = 0
        self._finished: set[tuple[str, int]] = set()
        self._dag_id = ""

    def run_started(self, run: DagRunRecord, total: int) -> None:
        self._dag_id = run.dag_id
        self._total = total
        self.progress.start()
        self._bar = self.progress.add_task(run.dag_id, total=total)

    def task_changed(self, ti: TaskInstanceRecord) -> None:
        if self._bar is None:
            return
        if ti.state.finished:
            self._finished.add((ti.task_id, ti.map_index))
        description = f"{self._dag_id}: {ti_label(ti)} {ti.state}"
        self.progress.update(self._bar, completed=len(self._finished), description=description)

    def try_ended(self, ti: TaskInstanceRecord, outcome: TaskOutcome) -> None:
        """Nothing: the bar counts finished task instances (``task_changed``)."""

    def task_expanded(self, task_id: str, length: int) -> None:
        if self._bar is None:
            return
        self._total += length - 1
        self.progress.update(self._bar, total=self._total)

    def run_finished(self, run: DagRunRecord) -> None:
        self.stop()

    def stop(self) -> None:
        self.progress.stop()


class StopSignals:
    """SIGTERM and SIGINT stop the run: the first raises ``KeyboardInterrupt``, later ones don't.

    The driver records the run as failed when the interrupt reaches it; a second
    signal (Ctrl-C pressed again, a supervisor sending SIGTERM twice) must not
    interrupt that recording, so it is only counted in ``received``.
    """

    def __init__(self) -> None:
        self.received: list[int] = []

    def handle(self, signum: int, frame: FrameType | None) -> None:
        first = not self.received
        self.received.append(signum)
        if first:
            raise KeyboardInterrupt(f"received {signal.Signals(signum).name}")


@contextmanager
def _stop_signals_interrupt() -> Iterator[list[int]]:
    """Within the block SIGTERM and SIGINT raise ``KeyboardInterrupt`` once; yields the signals."""
    stop = StopSignals()
    previous = {s: signal.signal(s, stop.handle) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop.received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@click.command()
@click.argument("path")
@click.argument("dag_id")
@conf_option('Run conf as a JSON object, e.g. \'{"day": "2025-01-31"}\'; it overrides DAG params.')
@logical_date_option()
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Run the tasks in a pool of N worker processes (default: in this process).",
)
@click.option(
    "--partition",
    "partition_key",
    default=None,
    help="The partition of a partitioned DAG to run, e.g. 2024-01-31.",
)
@click.pass_context
def run(
    ctx: click.Context,
    path: str,
    dag_id: str,
    conf: dict[str, Any] | None,
    logical_date: datetime | None,
    workers: int | None,
    partition_key: str | None,
) -> None:
    """Run DAG_ID (defined in PATH) now and record it in the metadata DB.

    The tasks run in this process, or with --workers N in N worker processes
    at once. Prints the run id and a table of its tasks. Exits 0 when the run
    succeeds and 1 when it fails; 2 when --partition is not one of the DAG's.
    """
    settings = load_settings()
    dag = find_dag(path, dag_id, settings)
    if workers is not None:
        check_dag_file(dag)
    run_and_report(
        ctx, dag, conf, logical_date, workers=workers, settings=settings,
        partition_key=partition_key,
    )  # fmt: skip


def run_and_report(
    ctx: click.Context,
    dag: DAG,
    conf: dict[str, Any] | None,
    logical_date: datetime | None,
    *,
    workers: int | None = None,
    settings: Settings | None = None,
    partition_key: str | None = None,
) -> None:
    """Run ``dag`` recorded in the metadata DB (with a progress bar), print it; exit 1 if failed.

    ``partition_key``: the partition of a partitioned DAG to run.
    """
    out, err = make_console(), make_console(stderr=True)
    display = ProgressDisplay(err)
    settings = settings if settings is not None else load_settings()
    with _stop_signals_interrupt() as signals, metadata_store(settings) as storage:
        try:
            if workers is None:
                result = run_dag(
                    dag, storage=storage, run_conf=conf, logical_date=logical_date,
                    listener=display, partition_key=partition_key,
                )  # fmt: skip
            else:
                result = _run_on_pool(
                    dag, storage, settings, workers, conf, logical_date, display, partition_key
                )
        except KeyboardInterrupt:
            display.stop()
            signum = signals[0] if signals else signal.SIGINT
            err.print(
                Text(
                    f"Interrupted ({signal.Signals(signum).name}): the run was recorded as "
                    "failed if it had started; 'partita runs list' shows it",
                    style="bold red",
                )
            )
            ctx.exit(128 + signum)
        finally:
            display.stop()
        _print_result(out, result, storage)
    if not result.success:
        ctx.exit(1)


def _run_on_pool(
    dag: DAG,
    storage: Storage,
    settings: Settings,
    workers: int,
    conf: dict[str, Any] | None,
    logical_date: datetime | None,
    listener: ProgressDisplay,
    partition_key: str | None,
) -> RunResult:
    """Run ``dag`` on a pool of ``workers`` processes started for this run and stopped after.

    The ready tasks go through the scheduler's ``SlotBook``: ``max_active_tasks``,
    ``max_active_tis_per_dagrun``, pools (``partita pools set``), priority and
    ``depends_on_past`` hold as under ``partita scheduler``; pool slots are counted
    within this command (tasks that schedulers run at the same time do not count).
    """
    gate = SlotBook({p.name: p.slots for p in storage.pools.list_pools()}, PreviousRuns(storage))
    with WorkerPool(
        workers,
        storage=storage,
        heartbeat_interval=settings.worker_heartbeat_interval,
        heartbeat_timeout=settings.worker_heartbeat_timeout,
        default_timezone=settings.default_timezone,
    ) as pool:
        driver = RunDriver(
            dag, pool.executor(), storage, run_conf=conf, logical_date=logical_date,
            listener=listener, max_lost_attempts=settings.max_lost_attempts,
            partition_key=partition_key, gate=gate,
        )  # fmt: skip
        return driver.run()


def _print_result(console: Console, result: RunResult, storage: Storage) -> None:
    header = Text("Run ")
    header.append(result.run_id, style="bold")
    header.append(f" of DAG {result.dag_id}: ")
    header.append_text(state_text(result.state))
    header.append(f" in {format_duration(result.duration)}")
    console.print(header)
    notes: dict[str, str] = {}
    if any(ti.state is TaskState.SKIPPED for ti in result.task_instances):
        events = storage.events.read_events(result.run_id, kinds=[EventKind.TASK_STATE])
        notes = branch_notes(events)  # which branch was followed, who skipped what
    console.print(task_table(result.task_instances, notes))
    failed = [ti for ti in result.task_instances if ti.state is TaskState.FAILED]
    if failed or not result.success:
        register_known_secrets(storage)  # an error may hold a stored secret got elsewhere
    for ti in failed[:20]:
        events = storage.events.read_events(
            result.run_id, task_id=ti.task_id, map_index=ti.map_index, kinds=[EventKind.TASK_ERROR]
        )
        if events:
            line = Text(f"{ti_label(ti)}: ", style="bold red")
            line.append(mask(str(events[-1].payload.get("error", ""))))
            console.print(line)
    _print_callback_errors(console, result.run_id, storage)
    materializations = result.materializations
    if materializations:
        console.print(Text("Materialized:", style="bold"))
        for m in materializations:
            line = Text(f"  {m.asset_key.to_user_string()}", style="green")
            line.append(f"  data version {m.data_version or '-'}")
            if m.location:
                line.append(f"  at {m.location}", style="dim")
            console.print(line)
    if failed:
        first = failed[0]
        console.print(
            Text(
                f"See a task's log with: partita logs {result.run_id} {first.task_id}"
                + (f" --map-index {first.map_index}" if first.map_index >= 0 else ""),
                style="dim",
            )
        )


def _print_callback_errors(console: Console, run_id: str, storage: Storage) -> None:
    """What the DAG's on_success/on_failure callbacks raised: the first line and the raise site."""
    for event in storage.events.read_events(run_id, kinds=[EventKind.CALLBACK_ERROR]):
        message = mask(str(event.payload.get("message") or "")).rstrip()
        first, _, traceback = message.partition("\n")
        console.print(Text(first or "a DAG callback failed", style="bold yellow"))
        frames = [t for t in traceback.splitlines() if t.lstrip().startswith('File "')]
        if frames:
            console.print(Text(f"    at {frames[-1].strip()}", style="dim"))


__all__ = ["ProgressDisplay", "run", "run_and_report"]
