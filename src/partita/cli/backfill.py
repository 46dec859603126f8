"""``partita backfill create | list | show | cancel``: run a DAG over a range of past dates.

``create`` plans the backfill here (the DAG's timetable runs in the range,
both ends inclusive; a date alone is midnight in the DAG's time zone; or,
with ``--assets SELECTION --partitions FIRST...LAST``, one run per partition
key of partitioned assets) and stores it; a scheduler then queues its runs
in order, ``--max-active-runs`` at a time. ``--dry-run`` prints the plan
and stores nothing; ``--wait`` (and ``show --follow``) follow the progress
with a progress bar.

The design decision: like ``partita trigger``, this command never runs
tasks; everything it checks (the DAG, the range, the conf) is checked
before anything is stored, and a range that holds no run exits 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click
from rich.text import Text

from partita.cli.assets import definitions_of
from partita.cli.backfill_view import (
    backfill_facts,
    backfills_table,
    follow_backfill,
    plan_lines,
)
from partita.cli.console import make_console
from partita.cli.params import ISO_DATETIME, conf_option
from partita.cli.store import metadata_store
from partita.cli.trigger import load_dag
from partita.definitions.asset_backfill_job import job_for_assets
from partita.definitions.asset_key import AssetKey
from partita.definitions.asset_selection import AssetSelection
from partita.definitions.dag import DAG
from partita.definitions.partition_range import split_partition_range
from partita.definitions.timezones import make_aware
from partita.engine.prepare import check_conf, resolve_params
from partita.engine.run_config import resolve_run_config
from partita.exceptions import DefinitionError, PartitaError
from partita.scheduler.asset_backfills import create_asset_backfill
from partita.scheduler.backfill_plan import (
    BackfillOptions,
    BackfillPlan,
    cancel_backfill,
    create_backfill,
)
from partita.schemas import BackfillModel
from partita.settings import load_settings
from partita.storage.backfills import BackfillStatus, Reprocess
from partita.storage.base import Storage


@click.group()
def backfill() -> None:
    """Run a DAG over a range of past dates; list, follow or cancel backfills."""


def range_bounds(dag: DAG, first: datetime, last: datetime) -> tuple[datetime, datetime]:
    """``--from``/``--to`` as aware UTC times (naive ones in the DAG's zone); checked in order."""
    start = make_aware(first, dag.timezone).astimezone(UTC)
    end = make_aware(last, dag.timezone).astimezone(UTC)
    if start > end:
        raise click.BadParameter(
            f"--from {first.isoformat()} is after --to {last.isoformat()}; swap them",
            param_hint="'--from'",
        )
    return start, end


def _asset_backfill_job(
    path: str | None, selection: str, partitions: str | None
) -> tuple[DAG, list[AssetKey]]:
    """The partitioned-asset job of ``--assets`` (loaded from PATH), and the keys selected."""
    if partitions is None:
        raise click.UsageError("--assets needs --partitions FIRST...LAST (the keys to backfill)")
    split_partition_range(partitions)  # a malformed range is named first
    if path is None:
        raise click.UsageError("--assets needs PATH, the file, folder or module of the assets")
    definitions = definitions_of(path)
    graph = definitions.asset_graph
    keys = sorted(AssetSelection.coerce(selection).resolve(graph), key=lambda k: k.path)
    if not keys:
        raise PartitaError(f"--assets {selection!r} selects no asset of {path}")
    unpartitioned = [
        k for k in keys if getattr(graph.definition(k), "partitions_def", None) is None
    ]
    if unpartitioned:
        named = ", ".join(k.to_user_string() for k in unpartitioned[:10])
        raise PartitaError(
            f"--assets {selection!r}: partitioned backfills need partitioned assets "
            f"(@asset(partitions_def=...)), and {named} have no partitions definition; "
            "backfill a scheduled DAG over dates instead: "
            "'partita backfill create [PATH] DAG_ID --from DATE --to DATE'"
        )
    try:
        return job_for_assets(definitions.dags, keys), keys
    except DefinitionError as exc:
        raise PartitaError(f"--assets {selection!r}: {exc}") from None


@backfill.command("create")
@click.argument("args", nargs=-1, metavar="[PATH] DAG_ID")
@click.option(
    "--from",
    "first",
    type=ISO_DATETIME,
    default=None,
    help="First logical date (inclusive; a date alone: its midnight in the DAG's zone).",
)
@click.option(
    "--to",
    "last",
    type=ISO_DATETIME,
    default=None,
    help="Last logical date (inclusive; a date alone: its midnight in the DAG's zone).",
)
@click.option(
    "--max-active-runs",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Runs of this backfill queued or running at once (default: the DAG's).",
)
@click.option(
    "--reprocess",
    type=click.Choice([r.value for r in Reprocess]),
    default=Reprocess.NONE.value,
    show_default=True,
    help="Existing runs in the range: keep them (none), run the failed ones again "
    "(failed) or run every ended one again (all).",
)
@click.option("--dry-run", is_flag=True, help="Print the runs it would make; store nothing.")
@click.option(
    "--wait", is_flag=True, help="Follow the backfill to its end (exit 1 if a run fails)."
)
@click.option(
    "--assets",
    default=None,
    metavar="SELECTION",
    help="Backfill partitioned assets instead of a DAG (with --partitions).",
)
@click.option(
    "--partitions",
    default=None,
    metavar="FIRST...LAST",
    help="With --assets: the partition keys to backfill.",
)
@conf_option("Run conf of every run, as a JSON object; it overrides DAG params.")
@click.pass_context
def create(
    ctx: click.Context, args: tuple[str, ...], first: datetime | None, last: datetime | None,
    max_active_runs: int | None, reprocess: str, dry_run: bool, wait: bool,
    assets: str | None, partitions: str | None, conf: dict[str, Any] | None,
) -> None:  # fmt: skip
    """Backfill DAG_ID over --from..--to (or partitioned --assets); a scheduler runs it.

    The DAG is loaded from PATH (a file, folder or module), or without PATH
    from the file the DAG registry names for it. Its runs are the DAG's
    schedule in the range, both ends included; a logical date that already
    has a run gets no second one (--reprocess runs existing ones again).
    With --assets (PATH required) each partition key from FIRST to LAST gets
    one run materializing the selected assets.
    """
    if assets is not None:
        if len(args) > 1:
            raise click.UsageError("with --assets, give at most PATH (no DAG_ID)")
        if first is not None or last is not None:
            raise click.UsageError("--from/--to go with DAG_ID; with --assets use --partitions")
        job, keys = _asset_backfill_job(args[0] if args else None, assets, partitions)
        assert partitions is not None  # checked above
        options = BackfillOptions(Reprocess(reprocess), max_active_runs, conf, dry_run)
        _create_and_follow(ctx, options, wait, lambda storage: create_asset_backfill(
            storage, job, keys, partitions, options, datetime.now(UTC)
        ))  # fmt: skip
        return
    if partitions is not None:
        raise click.UsageError("--partitions goes with --assets SELECTION")
    if not 1 <= len(args) <= 2:
        raise click.UsageError(f"expected [PATH] DAG_ID, got {len(args)} arguments")
    if first is None or last is None:
        raise click.UsageError("give the range with --from DATE and --to DATE (both inclusive)")
    path, dag_id = (None, args[0]) if len(args) == 1 else args
    settings = load_settings()
    with metadata_store(settings) as storage:
        dag = load_dag(storage, settings, path, dag_id)
        start, end = range_bounds(dag, first, last)
        checked = check_conf(dag, conf)
        resolve_params(dag, checked)  # a conf that breaks the DAG's params stops here
        resolve_run_config(dag, checked)
        options = BackfillOptions(Reprocess(reprocess), max_active_runs, checked, dry_run)
    _create_and_follow(ctx, options, wait, lambda storage: create_backfill(
        storage, dag, start, end, options, datetime.now(UTC)
    ))  # fmt: skip


def _create_and_follow(
    ctx: click.Context, options: BackfillOptions, wait: bool,
    plan_with: Callable[[Storage], BackfillPlan],
) -> None:  # fmt: skip
    """Plan (and store) the backfill, print it, and with ``--wait`` follow it to its end."""
    out = make_console()
    with metadata_store() as storage:
        plan = plan_with(storage)
        for line in plan_lines(plan, dry_run=options.dry_run):
            out.print(line)
        if options.dry_run or not wait:
            return
        ended = follow_backfill(storage, plan.backfill.backfill_id, out)
    if ended is not BackfillStatus.COMPLETED:
        ctx.exit(1)


@backfill.command("list")
@click.option("--dag", "dag_id", default=None, help="Only backfills of this DAG id.")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.value for s in BackfillStatus]),
    help="Only backfills in this status (repeat for several).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="How many backfills to show, newest first.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of backfills, only.")
def list_backfills(
    dag_id: str | None, statuses: tuple[str, ...], limit: int, as_json: bool
) -> None:
    """List backfills, newest first, with their progress."""
    with metadata_store() as storage:
        wanted = [BackfillStatus(s) for s in statuses] or None
        found = storage.backfills.list_backfills(dag_id=dag_id, statuses=wanted, limit=limit)
        progress = {b.backfill_id: storage.backfills.progress(b.backfill_id) for b in found}
    if as_json:
        models = [BackfillModel.from_record(b, progress[b.backfill_id]) for b in found]
        click.echo(json.dumps([m.model_dump(mode="json") for m in models], indent=2))
        return
    console = make_console()
    if not found:
        console.print(Text("No backfills yet; 'partita backfill create' makes one."))
        return
    console.print(backfills_table(found, progress))


@backfill.command("show")
@click.argument("backfill_id")
@click.option("--follow", is_flag=True, help="Follow its progress until it ends.")
@click.option("--json", "as_json", is_flag=True, help="Print the backfill as JSON, only.")
@click.pass_context
def show(ctx: click.Context, backfill_id: str, follow: bool, as_json: bool) -> None:
    """Show BACKFILL_ID: its DAG, range, options, status and progress."""
    console = make_console()
    with metadata_store() as storage:
        record = storage.backfills.get(backfill_id)
        progress = storage.backfills.progress(backfill_id)
        if as_json:
            click.echo(BackfillModel.from_record(record, progress).model_dump_json(indent=2))
            return
        console.print(backfill_facts(record, progress))
        if not follow or record.status.finished:
            return
        ended = follow_backfill(storage, backfill_id, console)
    if ended is not BackfillStatus.COMPLETED:
        ctx.exit(1)


@backfill.command("cancel")
@click.argument("backfill_id")
def cancel(backfill_id: str) -> None:
    """Cancel BACKFILL_ID: no more of its runs are queued; its queued and running ones stop."""
    with metadata_store() as storage:
        stopped = cancel_backfill(storage, backfill_id, datetime.now(UTC))
        progress = storage.backfills.progress(backfill_id)
    done = progress.total - progress.pending
    click.echo(
        f"Backfill {backfill_id} cancelled: {done} of {progress.total} runs had been queued "
        f"({progress.skipped} kept as they were), {len(stopped)} queued or running ones cancelled."
    )


__all__ = ["backfill", "range_bounds"]
