"""``partita sensors ...`` and ``partita schedules ...``: list, start, stop, ticks, preview.

The design decision: ``preview`` evaluates the sensor in this process with
its stored cursor and the same reads the scheduler gives it, and writes
nothing (no run, no tick, no cursor, no run key): it only says what the
sensor would request, and which of those run keys were already used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import click
from rich.text import Text

from partita.cli.console import make_console
from partita.cli.instigators import (
    LoadedCode,
    json_option,
    load_code,
    path_argument,
    print_listing,
    print_ticks,
    schedule_model,
    sensor_model,
    set_status,
    where,
)
from partita.cli.store import metadata_store
from partita.definitions.partitions import AddDynamicPartitionsRequest
from partita.definitions.sensors import SensorDefinition, SensorEvaluation, build_sensor_context
from partita.scheduler.sensors import StorageSensorReads
from partita.schemas import TickModel
from partita.settings import Settings, load_settings
from partita.storage.base import Storage
from partita.storage.instigators import InstigatorKind, InstigatorStatus

SENSOR = InstigatorKind.SENSOR
SCHEDULE = InstigatorKind.SCHEDULE
_limit_option = click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Ticks to show."
)


@click.group()
def sensors() -> None:
    """List sensors, start or stop one, show its ticks, or preview what it would request."""


@click.group()
def schedules() -> None:
    """List Dagster-style schedules, start or stop one, or show its ticks."""


def _add_instigator_commands(group: click.Group, kind: InstigatorKind, helps: list[str]) -> None:
    """Give ``group`` the list, start, stop and ticks commands of ``kind`` (helps in that order)."""
    list_help, start_help, stop_help, ticks_help = helps

    @group.command("list", help=list_help)
    @path_argument
    @json_option
    def list_command(path: str | None, as_json: bool) -> None:
        _list(kind, path, as_json)

    @group.command("start", help=start_help)
    @click.argument("name")
    @path_argument
    def start_command(name: str, path: str | None) -> None:
        _set_status(kind, name, path, InstigatorStatus.RUNNING)

    @group.command("stop", help=stop_help)
    @click.argument("name")
    @path_argument
    def stop_command(name: str, path: str | None) -> None:
        _set_status(kind, name, path, InstigatorStatus.STOPPED)

    @group.command("ticks", help=ticks_help)
    @click.argument("name")
    @_limit_option
    @json_option
    def ticks_command(name: str, limit: int, as_json: bool) -> None:
        _show_ticks(kind, name, limit, as_json)


_add_instigator_commands(
    sensors,
    SENSOR,
    [
        "List the sensors of PATH (else of partita.yaml's code_locations) with their state.",
        "Start sensor NAME: the scheduler evaluates it from its next interval on.",
        "Stop sensor NAME: the scheduler no longer evaluates it (its cursor is kept).",
        "Show the latest evaluations (ticks) of sensor NAME, newest first.",
    ],
)
_add_instigator_commands(
    schedules,
    SCHEDULE,
    [
        "List the schedules of PATH (else of partita.yaml's code_locations) with their state.",
        "Start schedule NAME: the scheduler ticks it from its next fire time on.",
        "Stop schedule NAME: its fire times pass without runs until it is started.",
        "Show the latest ticks of schedule NAME, newest first.",
    ],
)


@sensors.command("preview")
@click.argument("name")
@path_argument
@click.option("--cursor", default=None, help="Evaluate from this cursor, not the stored one.")
@json_option
def preview_sensor(name: str, path: str | None, cursor: str | None, as_json: bool) -> None:
    """Evaluate sensor NAME once and print what it would request; creates nothing."""
    settings = load_settings()
    sensor = _find_sensor(name, load_code(path, settings))
    with metadata_store(settings) as storage:
        state = storage.instigators.get_state(SENSOR, name)
        before = cursor if cursor is not None else (state.cursor if state else None)
        context = build_sensor_context(
            before, sensor_name=name, instance=StorageSensorReads(storage)
        )
        evaluation = sensor.evaluate(context)
        report = _preview_report(sensor, evaluation, before, storage)
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    _print_preview(report)


@sensors.command("cursor")
@click.argument("name")
@click.option("--set", "value", default=None, help="The cursor the next evaluation gets.")
@click.option("--delete", is_flag=True, help="Clear the cursor (the sensor starts afresh).")
def sensor_cursor(name: str, value: str | None, delete: bool) -> None:
    """Show sensor NAME's stored cursor, or set (--set VALUE) or clear (--delete) it."""
    if value is not None and delete:
        raise click.UsageError("give --set VALUE or --delete, not both")
    with metadata_store() as storage:
        state = storage.instigators.get_state(SENSOR, name)
        if value is None and not delete:
            click.echo(state.cursor if state and state.cursor is not None else "(no cursor)")
            return
        storage.instigators.set_cursor(SENSOR, name, value, datetime.now(UTC))
    click.echo(f"Sensor {name!r}: cursor {'cleared' if delete else 'set'}.")


def _list(kind: InstigatorKind, path: str | None, as_json: bool) -> None:
    settings = load_settings()
    loaded = load_code(path, settings)
    defined: Mapping[str, Any] = loaded.sensors if kind is SENSOR else loaded.schedules
    with metadata_store(settings) as storage:
        states = {s.name: s for s in storage.instigators.list_states(kind)}
        models = [
            sensor_model(n, defined.get(n), states.get(n), storage, settings)
            if kind is SENSOR
            else schedule_model(n, defined.get(n), states.get(n), storage)
            for n in sorted(set(defined) | set(states))
        ]
    print_listing(models, as_json, f"{kind}s")


def _set_status(
    kind: InstigatorKind, name: str, path: str | None, status: InstigatorStatus
) -> None:
    settings = load_settings()
    loaded = load_code(path, settings)
    defined: Mapping[str, Any] = loaded.sensors if kind is SENSOR else loaded.schedules
    set_status(kind, name, set(defined), status, settings, loaded)


def _show_ticks(kind: InstigatorKind, name: str, limit: int, as_json: bool) -> None:
    settings: Settings = load_settings()
    with metadata_store(settings) as storage:
        ticks = storage.instigators.list_ticks(kind, name, limit=limit)
        known = storage.instigators.get_state(kind, name) is not None
    if not ticks and not known and not as_json:
        click.echo(f"No ticks of {kind} {name!r} recorded.")
        return
    print_ticks([TickModel.from_record(t) for t in ticks], as_json)


def _find_sensor(name: str, loaded: LoadedCode) -> SensorDefinition:
    sensor = loaded.sensors.get(name)
    if sensor is None:
        known = ", ".join(sorted(loaded.sensors)) or "none"
        raise click.ClickException(f"no sensor {name!r} in {where(loaded)}; it has: {known}")
    return sensor


def _preview_report(
    sensor: SensorDefinition, evaluation: SensorEvaluation, before: str | None, storage: Storage
) -> dict[str, Any]:
    requests = evaluation.run_requests
    keys = [r.run_key for r in requests if r.run_key is not None]
    used = storage.instigators.used_run_keys(sensor.name, keys) if keys else set()
    return {
        "sensor": sensor.name,
        "job": sensor.job_name,
        "cursor_before": before,
        "cursor_after": evaluation.cursor,
        "skip_reason": None if requests else (evaluation.skip_message or "nothing requested"),
        "run_requests": [
            {
                "run_key": r.run_key,
                "run_config": dict(r.run_config),
                "tags": dict(r.tags),
                "partition_key": r.partition_key,
                "already_used": r.run_key in used,
            }
            for r in requests
        ],
        "dynamic_partitions_requests": [
            {
                "action": "add" if isinstance(d, AddDynamicPartitionsRequest) else "delete",
                "partitions_def_name": d.partitions_def_name,
                "partition_keys": list(d.partition_keys),
            }
            for d in evaluation.dynamic_partitions_requests
        ],
    }


def _print_preview(report: dict[str, Any]) -> None:
    out = make_console()
    requests = report["run_requests"]
    if not requests:
        out.print(Text(f"Sensor {report['sensor']!r} would skip: {report['skip_reason']}"))
    else:
        new = sum(not r["already_used"] for r in requests)
        out.print(
            Text(f"Sensor {report['sensor']!r} would request {new} run(s) of {report['job']}:")
        )
    for r in requests:
        mark = " (run key already used: no run)" if r["already_used"] else ""
        config = json.dumps(r["run_config"], default=str)
        partition = f" partition_key={r['partition_key']!r}" if r["partition_key"] else ""
        out.print(Text(f"  run_key={r['run_key']!r}{partition} run_config={config}{mark}"))
    for d in report["dynamic_partitions_requests"]:
        keys = ", ".join(d["partition_keys"])
        out.print(Text(f"  would {d['action']} partitions of {d['partitions_def_name']!r}: {keys}"))
    if report["cursor_after"] != report["cursor_before"]:
        out.print(Text(f"Cursor would become: {report['cursor_after']!r}"))
    out.print(Text("Nothing was created (preview).", style="dim"))


__all__ = ["schedules", "sensors"]
