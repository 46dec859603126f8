"""``partita assets list [PATH]``, ``materialize PATH`` and ``partitions [PATH] KEY``: the catalog.

``list`` with a PATH shows every asset that PATH defines with its last
materialization, its checks (passed, failed, not run) and whether it is
stale (never materialized, code version changed, an upstream's data version
changed, an upstream stale); without one, every asset the
catalog has a record of. ``materialize`` runs a selection of PATH's assets
in this process (as ``partita run`` runs a DAG) and records the run and its
materializations in the metadata database. ``partitions`` counts the
partitions of a partitioned asset by status, in ranges of keys.

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
from partita.engine.partition_status import summarize_partitions
from partita.settings import load_settings
from partita.storage.records import (
    AssetCheckEvaluationRecord,
    AssetMaterializationRecord,
    AssetPartitionStatus,
)


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
@click.option(
    "--partition",
    "partition_key",
    default=None,
    help="The partition of partitioned assets to materialize, e.g. 2024-01-31.",
)
@click.pass_context
def materialize_assets(
    ctx: click.Context,
    path: str,
    selection: str | None,
    conf: dict[str, Any] | None,
    logical_date: datetime | None,
    partition_key: str | None,
) -> None:
    """Materialize the selected assets of PATH now, in this process, recorded in the catalog.

    Exits 0 when every selected asset was materialized and 1 otherwise; 2
    (running nothing) when --partition is not one of the assets' partitions.
    """
    dag = definitions_of(path).materialize_dag(selection)
    run_and_report(ctx, dag, conf, logical_date, partition_key=partition_key)


@assets.command("partitions")
@click.argument("args", nargs=-1, required=True, metavar="[PATH] ASSET_KEY")
def asset_partitions(args: tuple[str, ...]) -> None:
    """Show how many partitions of ASSET_KEY are materialized, failed or missing, as key ranges.

    With PATH (where the asset is defined) every partition of its definition
    is counted, so missing ones show; without it, only the partitions that ran.
    """
    if len(args) > 2:
        raise click.UsageError(f"expected [PATH] ASSET_KEY, got {len(args)} arguments")
    path, text = (None, args[0]) if len(args) == 1 else args
    key = AssetKey.from_user_string(text)
    keys = None if path is None else _partition_keys(definitions_of(path), key)
    with metadata_store() as storage:
        statuses = storage.assets.partition_statuses(key)
        summary = summarize_partitions(keys, statuses)
    console = make_console()
    if keys is None and not statuses:
        raise click.ClickException(
            f"no partition of asset {text!r} has run; give PATH (where the asset is defined) to "
            "list its missing partitions"
        )
    console.print(Text(f"Asset {key.to_user_string()}: {summary.total} partitions"))
    for status in AssetPartitionStatus:
        if status is AssetPartitionStatus.MISSING and keys is None:
            continue
        ranges = summary.ranges.get(status, [])
        shown = ", ".join(str(r) for r in ranges[:_SHOWN_RANGES])
        if len(ranges) > _SHOWN_RANGES:
            shown += f", and {len(ranges) - _SHOWN_RANGES} more ranges"
        line = Text(f"  {status.value:<13}", style=_STATUS_STYLES[status])
        line.append(f"{summary.counts.get(status, 0):>6}  {shown}")
        console.print(line)


_SHOWN_RANGES = 5
_STATUS_STYLES = {
    AssetPartitionStatus.MATERIALIZED: "green",
    AssetPartitionStatus.FAILED: "red",
    AssetPartitionStatus.MISSING: "yellow",
}


def _partition_keys(definitions: Definitions, key: AssetKey) -> list[str]:
    """Every partition key of asset ``key`` as its definition in ``definitions`` has them."""
    graph = definitions.asset_graph
    definition = graph.by_key.get(key)
    if definition is None:
        raise click.ClickException(graph.unknown_key_message(key))
    if definition.partitions_def is None:
        raise click.ClickException(
            f"asset {key.to_user_string()!r} is not partitioned; 'partita assets list' shows "
            "its last materialization"
        )
    with metadata_store() as storage:
        return definition.partitions_def.get_partition_keys(
            dynamic_partitions_store=storage.partitions
        )


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
