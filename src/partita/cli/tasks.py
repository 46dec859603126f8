"""``partita tasks output``: print what a task instance of a recorded run returned or pushed.

(And ``partita tasks render``: a task's template fields rendered without a run.)

The design decision: the value is loaded through the store's ``OutputStore``,
as ``RunResult.output`` loads it, and printed with Rich's pretty printer
within limits (items per collection, characters per string, lines), saying
when it was shortened and how to see it all (``--full``); ``--json`` prints
the whole value as JSON for other programs, or refuses with a one-line error
when the value is not JSON. The ``tasks`` group is where commands acting on
one task instance live.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click
from rich.pretty import pretty_repr
from rich.text import Text

from partita.cli.console import make_console, ti_label
from partita.cli.control import clear, mark
from partita.cli.locate import find_dag
from partita.cli.params import conf_option, logical_date_option
from partita.cli.store import find_task_instance, metadata_store
from partita.definitions.xcom_arg import RETURN_KEY
from partita.engine.render_preview import render_preview
from partita.engine.secrets import register_known_secrets
from partita.exceptions import PartitaError
from partita.masking import MASKER
from partita.storage.base import Storage
from partita.storage.records import OutputRecord, TaskInstanceRecord

#: Limits of the printed value unless ``--full``.
MAX_ITEMS = 50
MAX_STRING = 1000
MAX_LINES = 200


@click.group()
def tasks() -> None:
    """Inspect, clear or mark the task instances of recorded runs."""


tasks.add_command(clear)
tasks.add_command(mark)


@tasks.command("render")
@click.argument("path")
@click.argument("dag_id")
@click.argument("task_id")
@logical_date_option()
@conf_option("Run conf for the rendering (a JSON object), as 'partita run --conf'.")
def render(
    path: str, dag_id: str, task_id: str, logical_date: datetime | None, conf: dict[str, Any] | None
) -> None:
    """Print the template fields of TASK_ID rendered for a manual run (secrets masked)."""
    dag = find_dag(path, dag_id)
    with metadata_store() as storage:
        register_known_secrets(storage)  # a template may spell out a stored secret
    fields = render_preview(dag, task_id, logical_date=logical_date, conf=conf)
    if not fields:
        click.echo(f"task {task_id!r} ({type(dag.task_dict[task_id]).__name__}) has no "
                   "template fields")  # fmt: skip
    for name, text in fields.items():
        click.echo(f"# {name}")
        click.echo(text)


@tasks.command("output")
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
    "--key", default=RETURN_KEY, show_default=True, help="Which output (an XCom key it pushed)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the whole value as JSON.")
@click.option("--full", is_flag=True, help="Print the whole value, however long.")
def output(run_id: str, task_id: str, map_index: int, key: str, as_json: bool, full: bool) -> None:
    """Print the output of TASK_ID in RUN_ID (its return value, or --key K)."""
    with metadata_store() as storage:
        ti = find_task_instance(storage, run_id, task_id, map_index)
        record = _output_record(storage, ti, key)
        value = _load(storage, record, ti)
        register_known_secrets(storage)  # an output may hold a password: print it as ***
    if as_json:
        click.echo(MASKER.mask(_as_json(value, ti, key)))
        return
    console = make_console()
    header = Text(f"{ti_label(ti)} of run {run_id}, output {key!r}: ", style="bold")
    header.append(f"{type(value).__name__}, {_size(record)}")
    console.print(header)
    whole = pretty_repr(value)
    text = whole if full else pretty_repr(value, max_length=MAX_ITEMS, max_string=MAX_STRING)
    lines = text.splitlines()
    shortened = not full and (len(lines) > MAX_LINES or text != whole)
    console.print(Text(MASKER.mask(text if full else "\n".join(lines[:MAX_LINES]))))
    if shortened:
        click.echo(
            f"(shortened to {MAX_ITEMS} items per collection, {MAX_STRING:,} characters per "
            f"string and {MAX_LINES} lines; add --full to print it all, or --json)",
            err=True,
        )


def _output_record(storage: Storage, ti: TaskInstanceRecord, key: str) -> OutputRecord:
    record = storage.outputs.get_record(ti.run_id, ti.task_id, ti.map_index, key)
    if record is not None:
        return record
    keys = sorted(
        r.key
        for r in storage.outputs.list_records(ti.run_id)
        if r.task_id == ti.task_id and r.map_index == ti.map_index
    )
    where = f"task {ti_label(ti)!r} of run {ti.run_id!r}"
    if keys:
        raise PartitaError(
            f"{where} stored no output {key!r}; its outputs are: {', '.join(keys)} (use --key K)"
        )
    if ti.state != "success":
        raise PartitaError(
            f"{where} ended {ti.state} and stored no output; 'partita runs show {ti.run_id}' "
            "says why"
        )
    raise PartitaError(
        f"{where} stored no output: it returned None, or handed its value to an IO manager "
        f"(an asset: 'partita runs show {ti.run_id}' says where it is stored)"
    )


def _load(storage: Storage, record: OutputRecord, ti: TaskInstanceRecord) -> Any:
    try:
        return storage.outputs.load(record)
    except (ModuleNotFoundError, AttributeError, ImportError) as exc:
        raise PartitaError(
            f"output {record.key!r} of task {ti_label(ti)!r} holds an object whose class cannot "
            f"be imported here ({type(exc).__name__}: {exc}); run the command from the "
            "project's folder or add it to PYTHONPATH"
        ) from exc


def _as_json(value: Any, ti: TaskInstanceRecord, key: str) -> str:
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PartitaError(
            f"output {key!r} of task {ti_label(ti)!r} holds a value of type "
            f"{type(value).__name__}, which JSON cannot hold ({exc}); omit --json to see it printed"
        ) from None


def _size(record: OutputRecord) -> str:
    where = "in the metadata database" if record.payload is not None else f"at {record.location}"
    return f"{record.size:,} bytes stored {where}" if record.size else f"stored {where}"


__all__ = ["output", "tasks"]
