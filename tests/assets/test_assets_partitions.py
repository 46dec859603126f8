"""Partitioned assets and DAGs: one run per key, stored per partition, read through mappings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from partita import (
    DAG,
    AllPartitionMapping,
    AssetIn,
    Context,
    DailyPartitionsDefinition,
    Definitions,
    DynamicPartitionsDefinition,
    FilesystemIOManager,
    InMemoryIOManager,
    MultiPartitionsDefinition,
    PartitionKeyError,
    PythonOperator,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    asset,
    define_asset_job,
    materialize,
    run_dag,
    task,
)
from partita.exceptions import DefinitionError, RunConfigError
from partita.storage.memory import MemoryStorage
from partita.storage.records import AssetPartitionStatus

DAYS = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")
REGIONS = StaticPartitionsDefinition(["eu", "us"])
seen: list[dict[str, Any]] = []


@asset(partitions_def=DAYS)
def events(context: Context) -> list[str]:
    window = context.partition_time_window
    seen.append({"key": context.partition_key, "start": window.start, "end": window.end})
    if context.partition_key == "2024-01-05":
        raise ValueError("the feed of 2024-01-05 is broken")
    return [f"event of {context.partition_key}"]


@asset(
    partitions_def=DAYS,
    ins={"events": AssetIn(partition_mapping=TimeWindowPartitionMapping(start_offset=-1))},
)
def two_days(events: dict[str, list[str]]) -> list[str]:
    return sorted(e for day in events.values() for e in day)


@asset
def all_events(events: dict[str, list[str]]) -> int:
    return len(events)


def run(assets: list[Any], key: str | None, storage: MemoryStorage, io: Any, **kw: Any) -> Any:
    return materialize(
        assets, partition_key=key, storage=storage, resources={"io_manager": io}, **kw
    )


def test_each_partition_is_its_own_run_with_its_key_and_window() -> None:
    seen.clear()
    storage, io = MemoryStorage(), InMemoryIOManager()
    result = run([events], "2024-01-02", storage, io)
    assert result.success and result.output("events") == ["event of 2024-01-02"]
    assert storage.runs.get_run(result.run_id).partition_key == "2024-01-02"
    assert seen[0]["key"] == "2024-01-02"
    assert (seen[0]["start"].day, seen[0]["end"].day) == (2, 3)
    (record,) = result.materializations
    assert record.partition_key == "2024-01-02"
    assert ("events", "2024-01-02") in io.values


def test_a_mapping_loads_the_mapped_partitions_as_a_dict() -> None:
    storage, io = MemoryStorage(), InMemoryIOManager()
    for day in ("2024-01-01", "2024-01-02"):
        assert run([events], day, storage, io).success
    result = run([events, two_days], "2024-01-02", storage, io, selection=["two_days"])
    assert result.output("two_days") == ["event of 2024-01-01", "event of 2024-01-02"]


def test_an_unpartitioned_asset_reads_every_partition_through_all_mapping() -> None:
    storage, io = MemoryStorage(), InMemoryIOManager()
    for day in DAYS.get_partition_keys():
        if day != "2024-01-05":
            run([events], day, storage, io)
    failed = run([events, all_events], None, storage, io, selection=["all_events"])
    assert not failed.success  # 2024-01-05 was never materialized
    io.values[("events", "2024-01-05")] = []
    assert (
        run([events, all_events], None, storage, io, selection=["all_events"]).output("all_events")
        == 7
    )


def test_the_catalog_keeps_status_per_partition() -> None:
    storage, io = MemoryStorage(), InMemoryIOManager()
    run([events], "2024-01-04", storage, io)
    failed = run([events], "2024-01-05", storage, io)
    assert not failed.success
    statuses = storage.assets.partition_statuses(events.key)
    assert {k: s.status for k, s in statuses.items()} == {
        "2024-01-04": AssetPartitionStatus.MATERIALIZED,
        "2024-01-05": AssetPartitionStatus.FAILED,
    }
    assert statuses["2024-01-05"].run_id == failed.run_id


def test_a_key_outside_the_definition_is_refused_before_the_run() -> None:
    storage = MemoryStorage()
    with pytest.raises(PartitionKeyError) as refused:
        materialize([events], partition_key="2024-01-09", storage=storage)
    message = str(refused.value)
    assert message.startswith("materialize([events]): partition key '2024-01-09'")
    assert "nearest valid keys: 2024-01-06, 2024-01-07" in message
    assert storage.runs.list_runs() == []
    with pytest.raises(
        PartitionKeyError, match=r"is partitioned .* e.g. partition_key='2024-01-07'"
    ):
        materialize([events])
    with pytest.raises(RunConfigError, match="is not partitioned, so it takes no partition key"):
        materialize([all_events, events], selection=["all_events"], partition_key="2024-01-01")


def test_the_filesystem_io_manager_writes_a_file_per_partition(tmp_path: Path) -> None:
    io = FilesystemIOManager(base_dir=str(tmp_path))
    storage = MemoryStorage()
    for day in ("2024-01-01", "2024-01-02"):
        run([events], day, storage, io)
    assert sorted(p.name for p in (tmp_path / "events").iterdir()) == [
        "2024-01-01.pkl", "2024-01-02.pkl",
    ]  # fmt: skip
    result = run([events, two_days], "2024-01-02", storage, io, selection=["two_days"])
    assert result.output("two_days") == ["event of 2024-01-01", "event of 2024-01-02"]


def test_static_and_multi_partitions_with_a_static_mapping() -> None:
    @asset(partitions_def=REGIONS)
    def sales(context: Context) -> str:
        return f"sales {context.partition_key}"

    continents = StaticPartitionsDefinition(["europe", "america"])
    mapping = StaticPartitionMapping({"eu": "europe", "us": "america"})

    @asset(partitions_def=continents, ins={"sales": AssetIn(partition_mapping=mapping)})
    def continent(sales: str) -> str:
        return sales.upper()

    storage, io = MemoryStorage(), InMemoryIOManager()
    run([sales], "us", storage, io)
    assert (
        run([sales, continent], "america", storage, io, selection=["continent"]).output("continent")
        == "SALES US"
    )

    grid = MultiPartitionsDefinition({"region": REGIONS, "day": DAYS})

    @asset(partitions_def=grid)
    def cell(context: Context) -> tuple[str, int]:
        return context.partition_key, context.partition_time_window.start.day

    result = run([cell], "2024-01-03|eu", storage, io)
    assert result.output("cell") == ("2024-01-03|eu", 3)


def test_dynamic_partitions_added_from_a_task_through_the_instance() -> None:
    files = DynamicPartitionsDefinition(name="files")

    @asset
    def discover(context: Context) -> list[str]:
        return context.instance.add_dynamic_partitions("files", ["a.csv", "b.csv"])

    @asset(partitions_def=files)
    def rows(context: Context) -> str:
        return context.partition_key

    storage = MemoryStorage()
    with pytest.raises(PartitionKeyError, match="which has no partitions yet"):
        materialize([rows], partition_key="a.csv", storage=storage)
    assert materialize([discover], storage=storage).output("discover") == ["a.csv", "b.csv"]
    assert materialize([rows], partition_key="b.csv", storage=storage).output("rows") == "b.csv"


def test_a_job_of_assets_with_different_partitions_is_refused() -> None:
    @asset(partitions_def=REGIONS)
    def by_region() -> int:
        return 1

    with pytest.raises(DefinitionError, match="its partitioned assets have different partitions"):
        Definitions(assets=[events, by_region], jobs=[define_asset_job("both")])
    job = Definitions(assets=[events], jobs=[define_asset_job("daily")]).get_dag("daily")
    assert job.partitions_def == DAYS


def test_a_partitioned_dag_gives_its_tasks_the_key() -> None:
    got: list[Any] = []
    with DAG("regional", partitions_def=REGIONS) as dag:
        PythonOperator(task_id="t", python_callable=lambda partition_key: got.append(partition_key))
    assert dag.test(partition_key="eu", verbose=False).success
    assert run_dag(dag, partition_key="us").success
    assert got == ["eu", "us"]
    with pytest.raises(PartitionKeyError, match="nearest valid keys: eu"):
        run_dag(dag, partition_key="EU")


def test_allpartitionmapping_is_accepted_explicitly() -> None:
    @asset(ins={"events": AssetIn(partition_mapping=AllPartitionMapping())})
    def total(events: dict[str, Any]) -> int:
        return len(events)

    assert isinstance(total.inputs["events"].partition_mapping, AllPartitionMapping)
    with pytest.raises(DefinitionError, match="partition_mapping must be a PartitionMapping"):

        @asset(ins={"events": AssetIn(partition_mapping="identity")})  # type: ignore[arg-type]
        def bad(events: Any) -> None: ...


def test_taskflow_tasks_take_the_partition_key_and_window_as_parameters() -> None:
    @task
    def report(partition_key: str, partition_time_window: Any) -> str:
        return f"{partition_key} from {partition_time_window.start:%H:%M}"

    with DAG("daily_report", partitions_def=DAYS) as dag:
        report()
    result = dag.test(partition_key="2024-01-03", verbose=False)
    assert result.output("report") == "2024-01-03 from 00:00"
