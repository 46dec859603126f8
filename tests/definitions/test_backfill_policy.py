"""BackfillPolicy: definitions, range keys, and a run of a range of partitions in process."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from partita import (
    BackfillPolicy,
    DailyPartitionsDefinition,
    FilesystemIOManager,
    StaticPartitionsDefinition,
    asset,
    materialize,
)
from partita.definitions.asset_backfill_job import backfill_policy_of
from partita.definitions.asset_graph import AssetGraph
from partita.definitions.asset_job import build_asset_dag
from partita.definitions.asset_key import AssetKey
from partita.definitions.partitions import PartitionKeyRange
from partita.engine.partition_context import partition_context, partition_keys_of_run
from partita.exceptions import DefinitionError, PartitionKeyError
from partita.scheduler.asset_backfills import run_ranges
from partita.storage.memory import MemoryStorage
from partita.storage.records import AssetPartitionStatus

DAILY = DailyPartitionsDefinition(start_date="2024-01-01", timezone="UTC")


def test_policies_compare_split_and_refuse_bad_sizes() -> None:
    assert BackfillPolicy.single_run().chunks(["a", "b", "c"]) == [["a", "b", "c"]]
    assert BackfillPolicy.multi_run(2).chunks(["a", "b", "c"]) == [["a", "b"], ["c"]]
    assert BackfillPolicy.multi_run(2) == BackfillPolicy.multi_run(max_partitions_per_run=2)
    assert BackfillPolicy.single_run().policy_type == "single_run"
    assert repr(BackfillPolicy.multi_run(3)) == "BackfillPolicy.multi_run(max_partitions_per_run=3)"
    with pytest.raises(DefinitionError, match="at least 1"):
        BackfillPolicy.multi_run(0)
    with pytest.raises(DefinitionError, match="needs partitions_def"):

        @asset(backfill_policy=BackfillPolicy.single_run())
        def unpartitioned() -> int:
            return 1

    with pytest.raises(DefinitionError, match=r"must be BackfillPolicy.single_run\(\)"):

        @asset(partitions_def=DAILY, backfill_policy="single")  # type: ignore[arg-type]
        def wrong() -> int:
            return 1


def test_run_ranges_split_a_range_and_span_the_windows() -> None:
    @asset(partitions_def=DAILY, backfill_policy=BackfillPolicy.multi_run(2))
    def daily(context: Any) -> None: ...

    @asset(partitions_def=DAILY)
    def plain(context: Any) -> None: ...

    dag = build_asset_dag("job", AssetGraph([daily, plain]), None, partitions_def=DAILY)
    keys = [f"2024-01-0{d}" for d in range(1, 6)]
    run_keys, windows = run_ranges(dag, BackfillPolicy.multi_run(2), keys, None)
    assert run_keys == ["2024-01-01...2024-01-02", "2024-01-03...2024-01-04", "2024-01-05"]
    assert [(w.start.day, w.end.day) for w in windows if w] == [(1, 3), (3, 5), (5, 6)]
    assert backfill_policy_of(dag, [AssetKey("daily")]) == BackfillPolicy.multi_run(2)
    with pytest.raises(DefinitionError, match="different backfill policies"):
        backfill_policy_of(dag, [AssetKey("daily"), AssetKey("plain")])


def test_a_range_key_gives_the_range_context_and_a_key_named_with_dots_stays_a_key() -> None:
    class Job:
        partitions_def = DAILY

    ranged = partition_context("2024-01-30...2024-02-02", Job(), None)
    assert ranged["partition_key"] is None and ranged["has_partition_key_range"]
    assert ranged["partition_key_range"] == PartitionKeyRange("2024-01-30", "2024-02-02")
    assert ranged["partition_keys"] == ["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"]
    window = ranged["partition_time_window"]
    assert (window.start, window.end) == (
        datetime(2024, 1, 30, tzinfo=UTC), datetime(2024, 2, 3, tzinfo=UTC),
    )  # fmt: skip
    single = partition_context("2024-01-30", Job(), None)
    assert single["partition_keys"] == ["2024-01-30"] and not single["has_partition_key_range"]

    class Dotted:
        partitions_def = StaticPartitionsDefinition(["a...b", "c"])

    assert partition_context("a...b", Dotted(), None)["partition_key"] == "a...b"
    assert partition_keys_of_run(Dotted.partitions_def, "a...b") == ["a...b"]


def _assets(tmp_path: Path) -> list[Any]:
    @asset(partitions_def=DAILY, backfill_policy=BackfillPolicy.single_run())
    def raw(context: Any) -> dict[str, str]:
        return {key: key.replace("-", "") for key in context.partition_keys}

    @asset(partitions_def=DAILY, backfill_policy=BackfillPolicy.single_run())
    def clean(context: Any, raw: dict[str, str]) -> dict[str, str]:
        assert sorted(raw) == context.partition_keys  # every upstream partition, by key
        return {key: value + "!" for key, value in raw.items()}

    @asset(partitions_def=DAILY, backfill_policy=BackfillPolicy.single_run())
    def flat(context: Any) -> list[int]:
        return [1, 2]

    @asset(partitions_def=DAILY)
    def per_day(context: Any, clean: str) -> str:  # one partition of what a range run stored
        return f"{context.partition_key}: {clean}"

    return [raw, clean, flat, per_day]


def test_a_range_run_stores_and_records_each_partition(tmp_path: Path) -> None:
    storage = MemoryStorage()
    io = FilesystemIOManager(base_dir=str(tmp_path))
    result = materialize(
        _assets(tmp_path), resources={"io_manager": io}, selection=["raw", "clean"],
        partition_key="2024-01-01...2024-01-03", storage=storage,
    )  # fmt: skip
    assert result.success
    assert (tmp_path / "clean" / "2024-01-02.pkl").exists()
    assert result.output("clean") == {
        "2024-01-01": "20240101!", "2024-01-02": "20240102!", "2024-01-03": "20240103!",
    }  # fmt: skip
    day = materialize(
        _assets(tmp_path), resources={"io_manager": io}, selection=["per_day"],
        partition_key="2024-01-02",
    )  # fmt: skip
    assert day.output("per_day") == "2024-01-02: 20240102!"
    statuses = storage.assets.partition_statuses(AssetKey("clean"))
    assert sorted(statuses) == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert {s.status for s in statuses.values()} == {AssetPartitionStatus.MATERIALIZED}


def test_a_range_run_refuses_a_value_that_is_not_one_per_partition(tmp_path: Path) -> None:
    storage = MemoryStorage()
    io = FilesystemIOManager(base_dir=str(tmp_path))
    result = materialize(
        _assets(tmp_path), resources={"io_manager": io}, selection=["flat"],
        partition_key="2024-01-01...2024-01-02", storage=storage,
    )  # fmt: skip
    assert not result.success
    assert "return {partition key: value} with one entry per key" in (result.error("flat") or "")
    statuses = storage.assets.partition_statuses(AssetKey("flat"))
    assert {k: s.status for k, s in statuses.items()} == {
        "2024-01-01": AssetPartitionStatus.FAILED, "2024-01-02": AssetPartitionStatus.FAILED,
    }  # fmt: skip
    with pytest.raises(PartitionKeyError, match="2024-13-01"):
        materialize(_assets(tmp_path), selection=["raw"], partition_key="2024-01-01...2024-13-01")
