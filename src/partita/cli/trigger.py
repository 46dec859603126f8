"""``partita trigger [PATH] DAG_ID``: queue a run for the scheduler, and maybe follow it.

The DAG comes from PATH, or from the file the DAG registry names. Everything
is checked before the run is queued (the DAG exists and is not paused, the
conf is a JSON object that passes the DAG's params and config), so bad input
exits 2 with one line and queues nothing. ``--wait`` follows the run until it
ends (exit 0 on success, 1 on failure) and says so when no scheduler is
alive to start it.

The design decision: this command never runs tasks; it only writes a queued
run (``RunQueue.enqueue``), which any live scheduler may start.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from partita.cli.console import make_console, state_text, task_table
from partita.cli.locate import find_dag
from partita.cli.params import conf_option, logical_date_option, tag_option
from partita.cli.store import metadata_store
from partita.definitions.dag import DAG
from partita.definitions.states import RunState
from partita.engine.manual_run import queue_run
from partita.loader import load_dags
from partita.registry_sync import record_load_result
from partita.scheduler.ownership import live_scheduler_ids
from partita.settings import Settings, load_settings
from partita.storage.base import Storage
from partita.storage.dag_records import unknown_dag
from partita.storage.records import DagRunRecord
from partita.wakeups import wake_schedulers

#: Seconds ``--wait`` waits for a live scheduler before saying there is none.
NO_SCHEDULER_NOTICE_AFTER = 3.0
_POLL_SECONDS = 0.3


def load_dag(storage: Storage, settings: Settings, path: str | None, dag_id: str) -> DAG:
    """The DAG, from PATH or from the registry's file; recorded in the registry if new."""
    registry = storage.registry
    record = registry.get_dag(dag_id)
    if path is None:
        if record is None or not record.is_active or record.fileloc is None:
            raise unknown_dag(dag_id)
        return find_dag(record.fileloc, dag_id, settings)
    dag = find_dag(path, dag_id, settings)
    if record is None and dag.fileloc is not None:  # new to the registry: record its file
        loaded = load_dags(
            dag.fileloc,
            import_timeout=settings.import_timeout,
            default_timezone=settings.default_timezone,
        )
        record_load_result(
            registry,
            loaded,
            code_location=dag.fileloc,
            parsed_at=datetime.now(UTC),
            duration=None,
            paused_at_creation=settings.dags_paused_at_creation,
        )
    return dag


def follow(storage: Storage, run_id: str, out: Console, err: Console) -> DagRunRecord:
    """Wait for the run to end, showing its progress; say so when no scheduler is alive."""
    began = time.monotonic()
    warned = False
    with err.status(f"run {run_id}: queued") as status:
        while True:
            run = storage.runs.get_run(run_id)
            if run.state.finished:
                return run
            tis = storage.runs.get_task_instances(run_id)
            done = sum(1 for ti in tis if ti.state.finished)
            status.update(f"run {run_id}: {run.state} ({done}/{len(tis)} tasks finished)")
            if not warned and time.monotonic() - began > NO_SCHEDULER_NOTICE_AFTER:
                live = live_scheduler_ids(storage.queue.list_schedulers(), datetime.now(UTC))
                if not live and run.state is RunState.QUEUED:
                    warned = True
                    err.print(
                        Text(
                            "No scheduler is running on this database: the run stays queued "
                            "until one starts ('partita scheduler' or 'partita dev').",
                            style="yellow",
                        )
                    )
            time.sleep(_POLL_SECONDS)


@click.command()
@click.argument("args", nargs=-1, required=True, metavar="[PATH] DAG_ID")
@conf_option('Run conf as a JSON object, e.g. \'{"day": "2025-01-31"}\'; it overrides DAG params.')
@logical_date_option()
@tag_option("A tag of the run, KEY=VALUE (repeat for several); 'runs list --tag' finds it.")
@click.option("--wait", is_flag=True, help="Follow the run until it ends; exit 1 if it fails.")
@click.option(
    "--partition",
    "partition_key",
    default=None,
    help="The partition of a partitioned DAG to run, e.g. 2024-01-31.",
)
@click.pass_context
def trigger(
    ctx: click.Context,
    args: tuple[str, ...],
    conf: dict[str, Any] | None,
    logical_date: datetime | None,
    wait: bool,
    partition_key: str | None,
    tags: dict[str, str],
) -> None:
    """Queue a run of DAG_ID for the scheduler; with --wait, follow it to its end.

    The DAG is loaded from PATH (a file, folder or module), or without PATH
    from the file the DAG registry names for it. Exits 2, queueing nothing,
    when the DAG is unknown or paused, the conf does not fit its params, or
    --partition is not one of its partitions.
    """
    if len(args) > 2:
        raise click.UsageError(f"expected [PATH] DAG_ID, got {len(args)} arguments")
    path, dag_id = (None, args[0]) if len(args) == 1 else args
    settings = load_settings()
    out, err = make_console(), make_console(stderr=True)
    with metadata_store(settings) as storage:
        dag = load_dag(storage, settings, path, dag_id)
        run = queue_run(storage, dag, conf, logical_date, partition_key, tags)
        wake_schedulers(settings.home)
        out.print(Text(f"Queued run {run.run_id} of DAG {dag_id}"))
        if not wait:
            return
        ended = follow(storage, run.run_id, out, err)
        line = Text(f"Run {ended.run_id}: ")
        line.append_text(state_text(ended.state))
        out.print(line)
        out.print(task_table(storage.runs.get_task_instances(ended.run_id), {}))
    if ended.state is not RunState.SUCCESS:
        ctx.exit(1)


__all__ = ["follow", "load_dag", "queue_run", "trigger"]
