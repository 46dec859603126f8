"""What ``partita sensors`` and ``partita schedules`` share: loading, listing, start and stop.

The design decision: the commands read sensors and schedules from the code
(PATH, else ``code_locations:`` of partita.yaml) and their state from the
metadata database, and show both together; with no code to read, they show
what is stored. Start and stop only write the stored status, so they work
whether or not a scheduler runs (it reads the status before each evaluation).
A name found neither in the code nor in the store is refused, naming those known.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import click
from rich.table import Table
from rich.text import Text

from partita.cli.console import format_time, make_console
from partita.cli.store import metadata_store
from partita.definitions.schedules import ScheduleDefinition
from partita.definitions.sensors import SensorDefinition
from partita.discovery import display_path
from partita.loader import load_dags
from partita.schemas import InstigatorModel, TickModel
from partita.settings import Settings
from partita.storage.base import Storage
from partita.storage.instigators import InstigatorKind, InstigatorState, InstigatorStatus

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (an array, or one object), nothing else."
)
path_argument = click.argument("path", required=False)


@dataclass
class LoadedCode:
    """The sensors and schedules of the code locations read (empty when none were given)."""

    sensors: dict[str, SensorDefinition] = field(default_factory=dict)
    schedules: dict[str, ScheduleDefinition] = field(default_factory=dict)
    locations: list[str] = field(default_factory=list)


def load_code(path: str | None, settings: Settings) -> LoadedCode:
    """Load PATH, else the configured code locations; a warning line per file that failed."""
    loaded = LoadedCode(locations=[path] if path else list(settings.code_locations))
    err = make_console(stderr=True)
    for location in loaded.locations:
        result = load_dags(
            location,
            import_timeout=settings.import_timeout,
            default_timezone=settings.default_timezone,
        )
        loaded.sensors.update((s.name, s) for s in result.sensors)
        loaded.schedules.update((s.name, s) for s in result.schedules)
        for source, error in result.errors.items():
            first = error.splitlines()[0] if error else "failed"
            err.print(Text(f"Warning: {display_path(source)} failed to import: {first}"))
    return loaded


def where(loaded: LoadedCode) -> str:
    """How messages name what was read."""
    if not loaded.locations:
        return "the metadata database (give PATH, or code_locations: in partita.yaml)"
    return ", ".join(loaded.locations)


def sensor_model(
    name: str,
    sensor: SensorDefinition | None,
    state: InstigatorState | None,
    storage: Storage,
    settings: Settings,
) -> InstigatorModel:
    """The listing of one sensor: its definition (when loaded) and its stored state."""
    stopped = settings.sensors_default_status == "stopped"
    running = sensor.is_running_by_default(stopped) if sensor is not None else not stopped
    return _model(
        InstigatorKind.SENSOR, name, state, storage, running,
        type=sensor.sensor_type if sensor else "sensor",
        job=sensor.job_name if sensor else None,
        interval=f"{sensor.minimum_interval_seconds:g}s" if sensor else "-",
        loaded=sensor is not None,
    )  # fmt: skip


def schedule_model(
    name: str, schedule: ScheduleDefinition | None, state: InstigatorState | None, storage: Storage
) -> InstigatorModel:
    """The listing of one schedule: its definition (when loaded) and its stored state."""
    running = schedule.is_running_by_default if schedule is not None else False
    interval = "-"
    if schedule is not None:
        interval = f"{schedule.cron_schedule} ({schedule.execution_timezone})"
    return _model(
        InstigatorKind.SCHEDULE, name, state, storage, running, type="cron",
        job=schedule.job_name if schedule else None, interval=interval,
        loaded=schedule is not None,
    )  # fmt: skip


def _model(
    kind: InstigatorKind,
    name: str,
    state: InstigatorState | None,
    storage: Storage,
    running_by_default: bool,
    **fields: object,
) -> InstigatorModel:
    state = state or InstigatorState(kind, name)
    ticks = storage.instigators.list_ticks(kind, name, limit=1)
    return InstigatorModel.model_validate(
        {
            "name": name,
            "kind": kind,
            "status": state.resolved_status(running_by_default),
            "status_set_by_hand": state.status is not None,
            "cursor": state.cursor,
            "last_tick": TickModel.from_record(ticks[0]) if ticks else None,
            **fields,
        }
    )


def print_listing(models: Sequence[InstigatorModel], as_json: bool, what: str) -> None:
    """A table (or a JSON array) of sensors or schedules."""
    if as_json:
        click.echo(json.dumps([m.model_dump(mode="json") for m in models], indent=2))
        return
    if not models:
        click.echo(f"No {what} found.")
        return
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    for column in ("name", "type", "job", "status", "every", "last tick (UTC)", "last result"):
        table.add_column(column, overflow="fold")
    for m in models:
        tick = m.last_tick
        table.add_row(
            Text(m.name + ("" if m.loaded else " (not loaded)")), m.type, Text(m.job or "-"),
            m.status.value + (" (set)" if m.status_set_by_hand else ""), Text(m.interval),
            format_time(tick.timestamp if tick else None), Text(tick_summary(tick)),
        )  # fmt: skip
    make_console().print(table)


def tick_summary(tick: TickModel | None) -> str:
    """One line saying what a tick came to."""
    if tick is None:
        return "-"
    if tick.status == "requested":
        return f"requested {len(tick.run_ids)} run(s)"
    if tick.status == "failed":
        return f"failed: {tick.error}"
    return f"skipped: {tick.skip_reason}" if tick.skip_reason else "skipped"


def print_ticks(ticks: Sequence[TickModel], as_json: bool) -> None:
    """A table (or a JSON array) of ticks, newest first."""
    if as_json:
        click.echo(json.dumps([t.model_dump(mode="json") for t in ticks], indent=2))
        return
    table = Table("time (UTC)", "status", "runs", "detail", show_edge=False, pad_edge=False)
    for tick in ticks:
        detail = tick.error or tick.skip_reason or ", ".join(tick.run_keys) or ""
        table.add_row(
            format_time(tick.timestamp), tick.status.value, Text(", ".join(tick.run_ids) or "-"),
            Text(detail),
        )  # fmt: skip
    make_console().print(table)


def set_status(
    kind: InstigatorKind,
    name: str,
    known_in_code: set[str],
    status: InstigatorStatus,
    settings: Settings,
    loaded: LoadedCode,
) -> None:
    """Start or stop ``name``: refused when neither the code nor the store knows it."""
    with metadata_store(settings) as storage:
        stored = {s.name for s in storage.instigators.list_states(kind)}
        if name not in known_in_code and name not in stored:
            known = ", ".join(sorted(known_in_code | stored)) or "none"
            raise click.ClickException(
                f"no {kind} {name!r} in {where(loaded)}; known {kind}s: {known}"
            )
        storage.instigators.set_status(kind, name, status, datetime.now(UTC))
    verb = "started" if status is InstigatorStatus.RUNNING else "stopped"
    click.echo(f"{kind.value.capitalize()} {name!r} {verb}.")


__all__ = [
    "LoadedCode",
    "json_option",
    "load_code",
    "path_argument",
    "print_listing",
    "print_ticks",
    "schedule_model",
    "sensor_model",
    "set_status",
    "tick_summary",
    "where",
]
