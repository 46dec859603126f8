"""Sensors and schedules asking for partitions, and ``SensorResult`` (Dagster's whole-tick result).

Driven by the scheduler's ``SensorDaemon`` / ``ScheduleDefinitionTicker`` on memory and SQLite;
a requested run is then run by a ``RunDriver`` to see the key reach ``context.partition_key``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from partita import (
    DAG,
    AddDynamicPartitionsRequest,
    DefaultScheduleStatus,
    DeleteDynamicPartitionsRequest,
    DynamicPartitionsDefinition,
    RunRequest,
    ScheduleDefinition,
    SensorResult,
    SkipReason,
    StaticPartitionsDefinition,
    build_sensor_context,
    schedule,
    sensor,
    task,
)
from partita.definitions.sensors import SensorDefinition
from partita.engine.driver import RunDriver
from partita.exceptions import DefinitionError
from partita.executors.in_process import InProcessExecutor
from partita.scheduler.schedule_ticks import ScheduleDefinitionTicker
from partita.scheduler.sensors import SensorDaemon
from partita.storage.base import Storage
from partita.storage.instigators import InstigatorKind, TickStatus
from partita.storage.sql import SqlStorage

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SEEN: list[str | None] = []
REGIONS = StaticPartitionsDefinition(["north", "south", "east"])
FILES = DynamicPartitionsDefinition(name="files")

with DAG("regions", schedule=None, partitions_def=REGIONS) as BY_REGION:

    @task
    def note_region() -> None:
        from partita import get_current_context

        SEEN.append(get_current_context()["partition_key"])

    note_region()

with DAG("files", schedule=None, partitions_def=FILES) as BY_FILE:

    @task
    def note_file() -> None:
        pass

    note_file()

with DAG("plain", schedule=None) as PLAIN:

    @task
    def nothing() -> None:
        pass

    nothing()

DAGS = {"regions": BY_REGION, "files": BY_FILE, "plain": PLAIN}


def tick(storage: Storage, one: SensorDefinition, now: datetime = T0) -> Any:
    daemon = SensorDaemon(storage, lambda: {one.name: one}, DAGS.get)
    [recorded] = daemon.run_once(now) + daemon.wait()
    daemon.close()
    return recorded


# -- RunRequest(partition_key=...) ------------------------------------------------------------


def test_a_sensors_partition_key_lands_on_the_run_and_in_the_task_context(
    storage: Storage,
) -> None:
    @sensor(job=BY_REGION)
    def per_region() -> Any:
        return [RunRequest(run_key="s", partition_key="south")]

    recorded = tick(storage, per_region)
    assert recorded.status is TickStatus.REQUESTED
    run = storage.runs.get_run(recorded.run_ids[0])
    assert run.partition_key == "south"
    SEEN.clear()
    RunDriver.for_run(BY_REGION, InProcessExecutor(), storage, run).run()
    assert SEEN == ["south"]


def test_a_partition_key_outside_the_definition_fails_the_tick_naming_the_nearest(
    storage: Storage,
) -> None:
    @sensor(job=BY_REGION)
    def typo() -> Any:
        return RunRequest(run_key="k", partition_key="nort")

    @sensor(job=PLAIN)
    def unpartitioned() -> Any:
        return RunRequest(partition_key="north")

    @sensor(job=BY_REGION)
    def keyless() -> Any:
        return RunRequest(run_key="x")

    failed = tick(storage, typo)
    assert failed.status is TickStatus.FAILED
    assert "'nort'" in failed.error and "'north'" in failed.error
    assert "is not partitioned" in tick(storage, unpartitioned).error
    assert "give the partition to run" in tick(storage, keyless).error
    assert storage.runs.list_runs() == []
    assert storage.instigators.used_run_keys("typo", ["k"]) == set()


def test_a_schedules_partition_key_is_checked_and_lands_on_the_run(storage: Storage) -> None:
    @schedule(cron_schedule="0 * * * *", job=BY_REGION,
              default_status=DefaultScheduleStatus.RUNNING)  # fmt: skip
    def hourly(context: Any) -> Any:
        hour = context.scheduled_execution_time.hour
        return RunRequest(partition_key="east" if hour % 2 else "west")

    ticker = ScheduleDefinitionTicker(storage, lambda: {"hourly": hourly}, DAGS.get)
    ticker.run_once(T0)  # 12:00 asks for "west"
    ticker.run_once(T0 + timedelta(hours=1))  # 13:00 asks for "east"
    east, west = storage.instigators.list_ticks(InstigatorKind.SCHEDULE, "hourly")
    assert west.status is TickStatus.FAILED and "'west'" in (west.error or "")
    assert "nearest valid keys: east" in (west.error or "")
    assert east.status is TickStatus.REQUESTED
    assert storage.runs.get_run(east.run_ids[0]).partition_key == "east"
    assert len(storage.runs.list_runs()) == 1
    assert isinstance(hourly, ScheduleDefinition)


# -- SensorResult -------------------------------------------------------------------------------


def test_a_sensor_result_adds_dynamic_partitions_then_requests_runs_of_them(
    storage: Storage,
) -> None:
    @sensor(job=BY_FILE)
    def new_files(context: Any) -> Any:
        seen = set((context.cursor or "").split(",")) - {""}
        found = ["a.csv", "b.csv"]
        new = [f for f in found if f not in seen]
        return SensorResult(
            run_requests=[RunRequest(run_key=f, partition_key=f) for f in new],
            cursor=",".join(sorted(seen | set(new))),
            dynamic_partitions_requests=[FILES.build_add_request(new)],
        )

    first = tick(storage, new_files)
    assert first.status is TickStatus.REQUESTED and first.cursor == "a.csv,b.csv"
    assert storage.partitions.get_dynamic_partitions("files") == ["a.csv", "b.csv"]
    keys = sorted(storage.runs.get_run(r).partition_key or "" for r in first.run_ids)
    assert keys == ["a.csv", "b.csv"]
    again = tick(storage, new_files, T0 + timedelta(seconds=31))
    assert again.status is TickStatus.SKIPPED and storage.runs.count_runs("files") == 2


def test_a_sensor_result_skips_with_its_reason_and_deletes_partitions(storage: Storage) -> None:
    storage.partitions.add_partitions("files", ["old.csv", "keep.csv"])

    @sensor(job=BY_FILE)
    def sweeper() -> Any:
        return SensorResult(
            skip_reason=SkipReason("nothing new"), cursor="swept",
            dynamic_partitions_requests=[DeleteDynamicPartitionsRequest("files", ("old.csv",))],
        )  # fmt: skip

    skipped = tick(storage, sweeper)
    assert (skipped.status, skipped.skip_reason, skipped.cursor) == (
        TickStatus.SKIPPED, "nothing new", "swept",
    )  # fmt: skip
    assert storage.partitions.get_dynamic_partitions("files") == ["keep.csv"]


def test_what_a_sensor_result_cannot_hold_fails_the_tick_saying_so(storage: Storage) -> None:
    @sensor(job=BY_FILE)
    def both() -> Any:
        return SensorResult(run_requests=[RunRequest()], skip_reason="no")

    @sensor(job=BY_FILE)
    def events() -> Any:
        return SensorResult(asset_events=["materialized"])

    @sensor(job=BY_FILE)
    def two_cursors(context: Any) -> Any:
        context.update_cursor("a")
        return SensorResult(cursor="b")

    @sensor(job=BY_FILE)
    def mixed() -> Any:
        yield RunRequest(partition_key="x")
        yield SensorResult()

    assert "not both" in tick(storage, both).error
    assert "asset_events=...) is not supported" in tick(storage, events).error
    assert "set the cursor one way only" in tick(storage, two_cursors).error
    assert "return one SensorResult" in tick(storage, mixed).error
    assert storage.runs.list_runs() == []


def test_a_sensor_result_can_be_checked_by_calling_the_sensor_directly() -> None:
    @sensor(job=BY_FILE)
    def direct(context: Any) -> Any:
        return SensorResult(
            [RunRequest(partition_key="z.csv")], cursor="1",
            dynamic_partitions_requests=[AddDynamicPartitionsRequest("files", ("z.csv",))],
        )  # fmt: skip

    evaluation = direct.evaluate(build_sensor_context())
    assert evaluation.cursor == "1" and evaluation.run_requests[0].partition_key == "z.csv"
    assert evaluation.dynamic_partitions_requests == (
        AddDynamicPartitionsRequest("files", ("z.csv",)),
    )
    with pytest.raises(DefinitionError, match="holds a str"):
        SensorResult(dynamic_partitions_requests=["z.csv"])  # type: ignore[list-item]


# -- user code reads the scheduler's store ----------------------------------------------------


def test_sensors_and_schedules_read_variables_from_the_schedulers_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from partita import Variable
    from partita.storage.secrets import VariableRecord

    home = tmp_path / "home"
    monkeypatch.setenv("PARTITA_HOME", str(home))
    monkeypatch.setenv("PARTITA_DATABASE_URL", f"sqlite:///{tmp_path / 'settings.db'}")
    with (
        SqlStorage(f"sqlite:///{tmp_path / 'settings.db'}", tmp_path / "s1") as other,
        SqlStorage(f"sqlite:///{tmp_path / 'scheduler.db'}", tmp_path / "s2") as own,
    ):
        other.variables.set_variable(VariableRecord("where", "the settings' database"))
        own.variables.set_variable(VariableRecord("where", "the scheduler's database"))

        @sensor(job=PLAIN)
        def reads() -> Any:
            return SkipReason(Variable.get("where"))

        @schedule(cron_schedule="0 * * * *", job=PLAIN,
                  default_status=DefaultScheduleStatus.RUNNING)  # fmt: skip
        def also_reads(context: Any) -> Any:
            return SkipReason(Variable.get("where"))

        assert tick(own, reads).skip_reason == "the scheduler's database"
        ScheduleDefinitionTicker(own, lambda: {"also_reads": also_reads}, DAGS.get).run_once(T0)
        [scheduled] = own.instigators.list_ticks(InstigatorKind.SCHEDULE, "also_reads")
        assert scheduled.skip_reason == "the scheduler's database"
