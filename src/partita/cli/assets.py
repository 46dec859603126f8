"""``partita assets list [PATH]`` and ``partita assets materialize PATH``: the asset catalog.

``list`` with a PATH shows every asset that PATH defines with its last
materialization, its checks (passed, failed, not run) and whether it is
stale (never materialized, code version changed, an upstream's data version
changed, an upstream stale); without one, every asset the
catalog has a record of. ``materialize`` runs a selection of PATH's assets
in this process (as ``partita run`` runs a DAG) and records the run and its
materializations in the metadata database.

The design decision: both read the same catalog (the metadata DB named by
the settings), so what one process materialized, any later process lists.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from partita.cli.console import format_time, make_console
from partita.cli.params import conf_option, logical_date_option
from partita.cli.run import run_and_report
from partita.cli.store import metadata_store
from partita.dag_index import DagIndex
from partita.definitions.asset_key import AssetKey
from partita.definitions.definitions import Definitions
from partita.discovery import load_checked
from partita.engine.asset_status import AssetStatus, CheckStatus, asset_statuses
from partita.settings import load_settings
from partita.storage.records import AssetCheckEvaluationRecord, AssetMaterializationRecord


@click.group()
def assets() -> None:
    """List assets with their last materialization and staleness, or materialize some."""


@assets.command("list")
@click.argument("path", required=False)
def list_assets(path: str | None) -> None:
    """List the assets of PATH (a .py file, folder or module) and whether each is stale.

    Without PATH: every asset the catalog has a materialization of.
    """
    console = make_console()
    if path is None:
        with metadata_store() as storage:
            latest = storage.assets.latest_materializations()
            checks = storage.assets.latest_check_evaluations()
        if not latest:
            console.print(Text("No asset has been materialized yet."))
            return
        console.print(_catalog_table([latest[k] for k in sorted(latest)], checks))
        return
    definitions = definitions_of(path)
    with metadata_store() as storage:
        statuses = asset_statuses(definitions.asset_graph, storage.assets)
    console.print(_status_table(statuses))
    stale = sum(1 for s in statuses if s.stale)
    console.print(Text(f"{len(statuses)} assets, {stale} stale", style="dim"))


@assets.command("materialize")
@click.argument("path")
@click.option(
    "--select",
    "selection",
    default=None,
    help="Which assets: 'a', 'a*' (and downstream), '*a' (and upstream), '+a', 'a+', "
    "'group:name', 'tag:k=v', unions with commas. Default: all.",
)
@conf_option('Run config as a JSON object, e.g. \'{"tasks": {"a": {"config": {"n": 1}}}}\'.')
@logical_date_option()
@click.pass_context
def materialize_assets(
    ctx: click.Context,
    path: str,
    selection: str | None,
    conf: dict[str, Any] | None,
    logical_date: datetime | None,
) -> None:
    """Materialize the selected assets of PATH now, in this process, recorded in the catalog.

    Exits 0 when every selected asset was materialized and 1 otherwise.
    """
    dag = definitions_of(path).materialize_dag(selection)
    run_and_report(ctx, dag, conf, logical_date)


def definitions_of(path: str) -> Definitions:
    """Every asset of ``path``, its files checked by the importer process before they load here."""
    settings = load_settings()
    loaded = load_checked(
        path,
        import_timeout=settings.import_timeout,
        index=DagIndex.load(settings.dag_index_file),
    )
    for dag in loaded.dags.values():
        dag.use_default_timezone(settings.default_timezone)
    return loaded.merged_definitions(path)


def _catalog_table(
    records: list[AssetMaterializationRecord],
    checks: dict[tuple[AssetKey, str], AssetCheckEvaluationRecord],
) -> Table:
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    for name in ("asset", "last materialized", "run", "data version", "code version", "checks"):
        table.add_column(name, overflow="fold")
    for record in records:
        evaluated = [
            CheckStatus(name, False, evaluation, record.run_id)
            for (key, name), evaluation in sorted(checks.items(), key=lambda item: item[0][1])
            if key == record.asset_key
        ]
        table.add_row(
            Text(record.asset_key.to_user_string()),
            format_time(record.timestamp),
            Text(record.run_id),
            Text(record.data_version or "-"),
            Text(record.code_version or "-"),
            _checks_text(evaluated),
        )
    return table


def _checks_text(checks: list[CheckStatus]) -> Text:
    """``name: passed, other: failed`` (failed in red, not run dimmed); ``-`` without checks.

    A check not run on the last materialization shows its earlier result too.
    """
    if not checks:
        return Text("-")
    styles = {"passed": "green", "failed": "red", "not run": "dim"}
    text = Text()
    for index, check in enumerate(checks):
        if index:
            text.append(", ")
        text.append(f"{check.name}: {check.state}", style=styles[check.state])
        if check.latest is not None and not check.current:
            text.append(f" (earlier: {'passed' if check.latest.passed else 'failed'})")
    return text


def _status_table(statuses: list[AssetStatus]) -> Table:
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    columns = ("asset", "group", "last materialized", "run", "data version", "checks", "status")
    for name in columns:
        table.add_column(name, overflow="fold")
    for status in statuses:
        latest = status.latest
        state = (
            Text("stale: " + "; ".join(status.stale_reasons), style="yellow")
            if status.stale
            else Text("fresh", style="green")
        )
        table.add_row(
            Text(status.key.to_user_string()),
            Text(status.group),
            format_time(latest.timestamp) if latest else "-",
            Text(latest.run_id if latest else "-"),
            Text((latest.data_version if latest else None) or "-"),
            _checks_text(status.checks),
            state,
        )
    return table


__all__ = ["assets"]
