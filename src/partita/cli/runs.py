"""``partita runs list`` and ``partita runs show``: read recorded runs (``cli.logs``: their logs).

The design decision: everything shown comes from the store's records and
event log (run and task state, ``task_error`` payloads with their failure
metadata and full traceback); nothing is parsed out of text logs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from textwrap import indent

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from partita.cli.console import (
    branch_notes,
    format_duration,
    format_time,
    make_console,
    state_text,
    task_table,
    ti_label,
)
from partita.cli.control import cancel, retry
from partita.cli.params import tag_option
from partita.cli.store import metadata_store
from partita.definitions.metadata import display_metadata_value
from partita.definitions.states import RunState, TaskState
from partita.engine.asset_lineage import UPSTREAM_VERSIONS_KEY
from partita.engine.secrets import mask_events, register_known_secrets
from partita.scheduler.ownership import orphan_notes
from partita.settings import Settings, load_settings
from partita.storage.records import (
    AssetCheckEvaluationRecord,
    AssetMaterializationRecord,
    DagRunRecord,
    EventKind,
    EventRecord,
    TaskInstanceRecord,
)
from partita.storage.sql.engine import mask_url

#: ``runs show`` prints at most this many characters of a run's conf (``--conf-full``: all).
CONF_SHOWN_CHARS = 500


@click.group()
def runs() -> None:
    """List recorded runs, show one, retry or cancel one."""


runs.add_command(cancel)
runs.add_command(retry)


@runs.command("list")
@click.option("--dag", "dag_id", default=None, help="Only runs of this DAG id.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="How many runs to show, newest first.",
)
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice([s.value for s in RunState]),
    help="Only runs in this state (repeat for several).",
)
@tag_option("Only runs with this tag, KEY=VALUE (repeat: runs with all of them).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of runs, nothing else.")
def list_runs(
    dag_id: str | None, limit: int, states: tuple[str, ...], tags: dict[str, str], as_json: bool
) -> None:
    """List recorded runs, newest first."""
    settings = load_settings()
    with metadata_store(settings) as storage:
        wanted = [RunState(s) for s in states] or None
        records = storage.runs.list_runs(dag_id, states=wanted, limit=limit, tags=tags or None)
        notes = orphan_notes(storage, records)
    if as_json:
        from partita.schemas import DagRunModel  # pydantic: only when JSON is asked for

        models = [DagRunModel.from_record(r, notes.get(r.run_id)).as_json() for r in records]
        click.echo(json.dumps(models, indent=2, ensure_ascii=False))
        return
    console = make_console()
    if not records:
        console.print(Text(_no_runs_message(settings, dag_id)))
        return
    console.print(_runs_table(records, notes))
    for run_id, note in notes.items():
        console.print(Text(f"{run_id}: running, but {note}.", style="yellow"))


@runs.command("show")
@click.argument("run_id")
@click.option(
    "--instances", is_flag=True, help="One row per instance of a mapped task, not one per task."
)
@click.option(
    "--conf-full",
    is_flag=True,
    help=f"Print the run's whole conf (as JSON, after the facts); without it a conf longer "
    f"than {CONF_SHOWN_CHARS} characters is cut short.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object: the run's fields and its task_instances, nothing else.",
)
def show_run(run_id: str, instances: bool, conf_full: bool, as_json: bool) -> None:
    """Show RUN_ID: its facts, its tasks, and why failed tasks failed."""
    if as_json:
        click.echo(run_json(run_id))
        return
    with metadata_store() as storage:
        run = storage.runs.get_run(run_id)
        tis = storage.runs.get_task_instances(run_id)
        events = storage.events.read_events(
            run_id,
            kinds=[
                EventKind.RUN_STATE,
                EventKind.TASK_STATE,
                EventKind.TASK_ERROR,
                EventKind.CALLBACK_ERROR,
            ],
        )
        materializations = storage.assets.list_materializations(run_id=run_id, limit=1000)
        checks = storage.assets.list_check_evaluations(run_id=run_id, limit=1000)
        orphaned = orphan_notes(storage, [run]).get(run_id)
        register_known_secrets(storage)  # errors may hold a stored secret the task got elsewhere
    events = mask_events(events)
    console = make_console()
    conf_text = json.dumps(run.conf, default=str, ensure_ascii=False) if run.conf else "{}"
    console.print(_facts(run, conf_text, conf_full))
    if conf_full:
        console.file.flush()
        click.echo(conf_text)  # not through Rich: a 10 MB conf would take it half a minute
    for event in events:
        if event.kind is EventKind.RUN_STATE and event.payload.get("message"):
            line = Text("note: ", style="bold")
            line.append(f"{event.payload.get('state')}: {event.payload['message']}")
            console.print(line)
    if orphaned:
        console.print(Text(f"note: running, but {orphaned}.", style="yellow"))
    console.print()
    console.print(task_table(tis, branch_notes(events), expand_mapped=instances))
    _print_failures(console, tis, events)
    _print_materializations(console, materializations)
    _print_checks(console, checks)


# -- helpers -----------------------------------------------------------------------------
def run_json(run_id: str) -> str:
    """``runs show --json``: the run and its task instances, one JSON object."""
    from partita.schemas import DagRunDetailModel  # pydantic: only when JSON is asked for

    with metadata_store() as storage:
        run = storage.runs.get_run(run_id)
        tis = storage.runs.get_task_instances(run_id)
        errors = storage.events.read_events(run_id, kinds=[EventKind.TASK_ERROR])
        note = orphan_notes(storage, [run]).get(run_id)
        register_known_secrets(storage)
    model = DagRunDetailModel.from_records(run, tis, mask_events(errors), note)
    return json.dumps(model.as_json(), indent=2, ensure_ascii=False)


def _no_runs_message(settings: Settings, dag_id: str | None) -> str:
    """Nothing found: say which database was read, so a wrong home is easy to spot."""
    what = f"No runs of DAG {dag_id!r}" if dag_id else "No runs"
    return (
        f"{what} recorded yet in {mask_url(settings.database_url)} (home {settings.home}).\n"
        "Runs recorded elsewhere? Set PARTITA_HOME to that folder, or PARTITA_DATABASE_URL."
    )


def _runs_table(records: Iterable[DagRunRecord], notes: dict[str, str]) -> Table:
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("run_id", overflow="fold")
    table.add_column("dag_id", overflow="fold")
    table.add_column("state")
    table.add_column("type")
    table.add_column("started (UTC)")
    table.add_column("duration", justify="right")
    for run in records:
        table.add_row(
            Text(run.run_id),
            Text(run.dag_id),
            state_text(run.state) + (" (scheduler gone)" if run.run_id in notes else ""),
            run.run_type,
            format_time(run.start_date),
            format_duration(_run_duration(run)),
        )
    return table


def _run_duration(run: DagRunRecord) -> float | None:
    if run.start_date is None or run.end_date is None:
        return None
    return (run.end_date - run.start_date).total_seconds()


def conf_summary(run_id: str, conf_text: str) -> str:
    """The conf's JSON as ``runs show`` shows it: whole when short, else its start and size."""
    if len(conf_text) <= CONF_SHOWN_CHARS:
        return conf_text
    size = len(conf_text.encode("utf-8"))
    return (
        f"{conf_text[:CONF_SHOWN_CHARS]}... ({_format_size(size)} in all; "
        f"'partita runs show {run_id} --conf-full' prints it whole)"
    )


def _format_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


def _facts(run: DagRunRecord, conf_text: str, conf_full: bool) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    interval = f"{format_time(run.data_interval_start)} to {format_time(run.data_interval_end)}"
    host = f"{run.hostname or '-'} (pid {run.pid})" if run.pid is not None else run.hostname or "-"
    rows: list[tuple[str, Text | str]] = [
        ("run", Text(run.run_id)),
        ("dag", Text(f"{run.dag_id} (version {run.dag_version})")),
        ("state", state_text(run.state)),
        ("type", run.run_type),
        ("logical date", format_time(run.logical_date)),
        ("data interval", interval),
        (
            "conf",
            Text(
                f"{_format_size(len(conf_text.encode('utf-8')))}, printed below"
                if conf_full and len(conf_text) > CONF_SHOWN_CHARS
                else conf_summary(run.run_id, conf_text)
            ),
        ),
        ("started", format_time(run.start_date)),
        ("ended", format_time(run.end_date)),
        ("duration", format_duration(_run_duration(run))),
        ("host", Text(host)),
    ]
    if run.partition_key is not None:
        rows.insert(4, ("partition", Text(run.partition_key)))
    if run.tags:
        rows.insert(4, ("tags", Text(", ".join(f"{k}={v}" for k, v in sorted(run.tags.items())))))
    for name, value in rows:
        grid.add_row(name, value)
    return grid


def _print_failures(
    console: Console, tis: list[TaskInstanceRecord], events: list[EventRecord]
) -> None:
    errors: dict[tuple[str, int], EventRecord] = {}
    for event in events:
        if event.kind is EventKind.TASK_ERROR and event.task_id is not None:
            errors[(event.task_id, event.map_index)] = event  # the last try's error wins
    failed = [
        ti for ti in tis if (ti.task_id, ti.map_index) in errors and ti.state is TaskState.FAILED
    ]
    if failed:
        console.print(Text("\nFailed tasks:", style="bold red"))
    for ti in failed:
        event = errors[(ti.task_id, ti.map_index)]
        line = Text(f"  {ti_label(ti)} (try {event.try_number}): ", style="bold")
        line.append(str(event.payload.get("error") or "failed"))
        console.print(line)
        metadata = event.payload.get("metadata") or {}
        for key, value in metadata.items():
            console.print(Text(f"      {key}: {display_metadata_value(value)}"))
        traceback = str(event.payload.get("traceback") or "").rstrip()
        if traceback:
            console.print(Text(indent(traceback, "      "), style="dim"))
    callback_errors = [e for e in events if e.kind is EventKind.CALLBACK_ERROR]
    if callback_errors:
        console.print(Text("\nCallback errors:", style="bold yellow"))
    for event in callback_errors:
        first = str(event.payload.get("message") or event.payload.get("error") or "")
        console.print(Text(f"  {first.splitlines()[0] if first else '(no message)'}"))


def _print_materializations(
    console: Console, materializations: list[AssetMaterializationRecord]
) -> None:
    if not materializations:
        return
    console.print(Text("\nMaterialized assets:", style="bold green"))
    for m in reversed(materializations):
        line = Text(f"  {m.asset_key.to_user_string()}", style="bold")
        line.append(f" (task {m.task_id}, data version {m.data_version or '-'})")
        console.print(line)
        if m.location:
            console.print(Text(f"      stored at {m.location}"))
        consumed = m.metadata.get(UPSTREAM_VERSIONS_KEY)
        if isinstance(consumed, dict) and consumed:
            versions = ", ".join(f"{k} {v or '-'}" for k, v in consumed.items())
            console.print(Text(f"      upstream data versions: {versions}"))
        for key, value in m.metadata.items():
            if key != UPSTREAM_VERSIONS_KEY:
                console.print(Text(f"      {key}: {display_metadata_value(value)}"))


def _print_checks(console: Console, checks: list[AssetCheckEvaluationRecord]) -> None:
    if not checks:
        return
    console.print(Text("\nAsset checks:", style="bold"))
    for check in reversed(checks):
        line = Text(f"  {check.asset_key.to_user_string()}: {check.check_name} ")
        if check.passed:
            line.append("passed", style="green")
        else:
            line.append(f"failed ({check.severity})", style="red")
        console.print(line)
        if check.description:
            console.print(Text(f"      {check.description}"))
        for key, value in check.metadata.items():
            console.print(Text(f"      {key}: {display_metadata_value(value)}"))


__all__ = ["runs"]
