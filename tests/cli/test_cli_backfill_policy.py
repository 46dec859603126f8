"""Backfills of assets with a BackfillPolicy through the real scheduler (subprocess, SQLite):
one run over a range (``single_run``), runs of N partitions (``multi_run``), the default of
one run per partition, and what is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import Invoke
from test_cli_backfill import backfill_id_of, schedulers, store
from test_cli_scheduler import Processes, runs_in, stop, wait_for

from partita.definitions.asset_key import AssetKey
from partita.definitions.states import RunState
from partita.storage.backfills import BackfillStatus
from partita.storage.base import Storage
from partita.storage.records import AssetPartitionStatus

__all__ = ["schedulers", "store"]  # fixtures used here

RANGED_ASSETS = """
from partita import (BackfillPolicy, DailyPartitionsDefinition, Definitions,
                     FilesystemIOManager, asset)

DAILY = DailyPartitionsDefinition(start_date="2024-01-01", timezone="UTC")

def mark(*words):
    with open({markers!r}, "a") as f:
        f.write(" ".join(map(str, words)) + "\\n")

@asset(partitions_def=DAILY, backfill_policy=BackfillPolicy.single_run())
def raw(context):
    span, window = context.partition_key_range, context.partition_time_window
    mark("raw", f"{{span.start}}...{{span.end}}", len(context.partition_keys),
         window.start.date(), window.end.date(), context.partition_key)
    return {{key: key.replace("-", "") for key in context.partition_keys}}

@asset(partitions_def=DAILY, backfill_policy=BackfillPolicy.single_run())
def clean(context, raw):
    mark("clean", ",".join(sorted(raw)) == ",".join(context.partition_keys))
    return {{key: value + "!" for key, value in raw.items()}}

@asset(partitions_def=DAILY, backfill_policy=BackfillPolicy.multi_run(max_partitions_per_run=2))
def chunked(context):
    mark("chunked", ",".join(context.partition_keys))
    return {{key: 1 for key in context.partition_keys}}

@asset(partitions_def=DAILY)
def per_day(context, clean):
    mark("per_day", context.partition_key, clean)

@asset(partitions_def=DAILY, backfill_policy=BackfillPolicy.single_run())
def flat(context):
    return [1, 2]

defs = Definitions(
    assets=[raw, clean, chunked, per_day, flat],
    resources={{"io_manager": FilesystemIOManager(base_dir={values!r})}},
)
"""
JOB = "__asset_job_assets_0__"


def _marks(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _create(invoke: Invoke, path: Path, assets: str, partitions: str, *more: str) -> str:
    made = invoke("backfill", "create", str(path), "--assets", assets, "--partitions", partitions,
                  *more)  # fmt: skip
    assert made.exit_code == 0, made.output
    return backfill_id_of(made.output)


@pytest.mark.slow
def test_backfill_policies_make_one_run_per_range_or_per_chunk_through_the_scheduler(
    tmp_path: Path, schedulers: Processes, store: Storage, invoke: Invoke
) -> None:
    markers = tmp_path / "marks.txt"
    path = tmp_path / "assets.py"
    path.write_text(RANGED_ASSETS.format(markers=str(markers), values=str(tmp_path / "values")))
    dry = invoke("backfill", "create", str(path), "--assets", "raw, clean",
                 "--partitions", "2024-01-01...2024-01-05", "--dry-run")  # fmt: skip
    assert dry.exit_code == 0, dry.output
    assert "would cover 1 runs of ranges of partitions of clean, raw (1 new runs" in dry.output
    assert "2024-01-01...2024-01-05  create" in dry.output
    mixed = invoke("backfill", "create", str(path), "--assets", "raw, chunked",
                   "--partitions", "2024-01-01...2024-01-05")  # fmt: skip
    assert mixed.exit_code == 2 and "different backfill policies" in mixed.stderr

    single = _create(invoke, path, "raw, clean", "2024-01-01...2024-01-05")
    chunks = _create(invoke, path, "chunked", "2024-01-01...2024-01-05")
    scheduler = schedulers.start("scheduler", str(path))
    for backfill_id in (single, chunks):
        wait_for(lambda b=backfill_id: store.backfills.get(b).status is not BackfillStatus.RUNNING,
                 120, f"backfill {backfill_id}")  # fmt: skip
        assert store.backfills.get(backfill_id).status is BackfillStatus.COMPLETED
    marks = _marks(markers)
    # one run over the range: the whole range, its keys and its window, no single key
    assert [m for m in marks if m.startswith("raw")] == [
        "raw 2024-01-01...2024-01-05 5 2024-01-01 2024-01-06 None"
    ]
    assert [m for m in marks if m.startswith("clean")] == ["clean True"]
    assert sorted(m for m in marks if m.startswith("chunked")) == [
        "chunked 2024-01-01,2024-01-02", "chunked 2024-01-03,2024-01-04", "chunked 2024-01-05",
    ]  # fmt: skip
    runs = {r.partition_key: r for r in runs_in(store, JOB)}
    assert sorted(runs) == [
        "2024-01-01...2024-01-02", "2024-01-01...2024-01-05", "2024-01-03...2024-01-04",
        "2024-01-05",
    ]  # fmt: skip
    assert {r.state for r in runs.values()} == {RunState.SUCCESS}
    statuses = store.assets.partition_statuses(AssetKey("clean"))  # each partition recorded
    assert sorted(statuses) == [f"2024-01-0{d}" for d in range(1, 6)]
    assert {s.run_id for s in statuses.values()} == {runs["2024-01-01...2024-01-05"].run_id}

    # the default stays one run per partition, reading what the range run stored per key
    per_day = _create(invoke, path, "per_day", "2024-01-02...2024-01-03")
    # a value that is not one per partition fails the run, every partition recorded failed
    flat = _create(invoke, path, "flat", "2024-01-06...2024-01-07")
    for backfill_id in (per_day, flat):
        wait_for(lambda b=backfill_id: store.backfills.get(b).status is not BackfillStatus.RUNNING,
                 120, f"backfill {backfill_id}")  # fmt: skip
    assert store.backfills.get(per_day).status is BackfillStatus.COMPLETED
    assert sorted(m for m in _marks(markers) if m.startswith("per_day")) == [
        "per_day 2024-01-02 20240102!", "per_day 2024-01-03 20240103!",
    ]  # fmt: skip
    assert store.backfills.get(flat).status is BackfillStatus.FAILED
    failed = store.assets.partition_statuses(AssetKey("flat"))
    assert {k: s.status for k, s in failed.items()} == {
        "2024-01-06": AssetPartitionStatus.FAILED, "2024-01-07": AssetPartitionStatus.FAILED,
    }  # fmt: skip

    again = invoke("backfill", "create", str(path), "--assets", "raw, clean",
                   "--partitions", "2024-01-01...2024-01-05", "--dry-run")  # fmt: skip
    assert "0 new runs, 0 to run again, 1 kept as they were" in again.output
    shown = json.loads(invoke("backfill", "show", single, "--json").output)
    assert shown["partitions"] == "2024-01-01...2024-01-05"
    code, _, _ = stop(scheduler)
    assert code == 0
