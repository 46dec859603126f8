"""Automation conditions through scheduler passes on a memory store, and their pure semantics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from partita.definitions.automation_condition import (
    AssetFacts,
    AutomationCondition,
    UpstreamFacts,
)
from partita.definitions.automation_job import AUTOMATION_SELECTION_KEY
from partita.definitions.states import RunState, TaskState
from partita.exceptions import DefinitionError
from partita.executors.in_process import InProcessExecutor
from partita.scheduler.automation import AUTOMATION_RUN_TYPE
from partita.scheduler.clock import FastClock
from partita.scheduler.dag_files import DagFileProcessor
from partita.scheduler.loop import Scheduler, SchedulerOptions
from partita.storage.memory import MemoryStorage
from partita.storage.records import DagRunRecord

T0 = datetime(2025, 1, 1, 12, 30, tzinfo=UTC)
#: The automation job of the file assets.py.
AUTOMATION_DAG_ID = "__automation_assets__"

ASSETS = """
from partita import AutomationCondition, Definitions, FilesystemIOManager, asset, define_asset_job

@asset
def raw():
    return [1, 2, 3]

@asset(automation_condition=AutomationCondition.eager())
def cleaned(raw):
    return [n * 10 for n in raw]

@asset(automation_condition=AutomationCondition.eager())
def summary(cleaned):
    return sum(cleaned)

@asset(automation_condition=AutomationCondition.on_missing())
def lookup():
    return {"a": 1}

defs = Definitions(
    assets=[raw, cleaned, summary, lookup],
    jobs=[define_asset_job("load_raw", selection="raw")],
    resources={"io_manager": FilesystemIOManager(base_dir={values!r})},
)
"""


def _scheduler(tmp_path: Path, storage: MemoryStorage, source: str = ASSETS) -> Scheduler:
    path = tmp_path / "assets.py"
    path.write_text(source.replace("{values!r}", repr(str(tmp_path / "values"))))
    files = DagFileProcessor(
        [str(path)], storage.registry, import_timeout=10, default_timezone="UTC",
        paused_at_creation=True,  # the automation job is on unless paused by hand
    )  # fmt: skip
    options = SchedulerOptions(heartbeat_interval=0, parse_interval=0, automation_interval=0)
    clock = FastClock(datetime(2025, 1, 1, tzinfo=UTC), 1.0)
    return Scheduler(storage, files, InProcessExecutor, options=options, clock=clock)


def _settle(scheduler: Scheduler) -> None:
    idle = 0
    for _ in range(300):
        scheduler.run_once()
        busy = scheduler.storage.runs.list_runs(states=[RunState.QUEUED, RunState.RUNNING])
        idle = 0 if busy or scheduler.supervisor.active else idle + 1
        if idle == 3:
            return
    raise AssertionError("runs did not finish")


def _automation_runs(storage: MemoryStorage) -> list[DagRunRecord]:
    runs = storage.runs.list_runs(AUTOMATION_DAG_ID, limit=100)
    return sorted(runs, key=lambda r: (r.queued_at, r.run_id))


def test_an_updated_upstream_brings_its_eager_downstreams_up_to_date_in_one_run(
    tmp_path: Path,
) -> None:
    storage = MemoryStorage()
    scheduler = _scheduler(tmp_path, storage)
    _settle(scheduler)
    # lookup is missing with nothing upstream: requested once; cleaned waits for raw
    [first] = _automation_runs(storage)
    assert (first.run_type, first.state) == (AUTOMATION_RUN_TYPE, RunState.SUCCESS)
    assert first.conf[AUTOMATION_SELECTION_KEY] == ["lookup"]
    states = {ti.task_id: ti.state for ti in storage.runs.get_task_instances(first.run_id)}
    assert states == {"lookup": TaskState.SUCCESS, "cleaned": TaskState.SKIPPED,
                      "summary": TaskState.SKIPPED}  # fmt: skip

    now = datetime.now(UTC)
    storage.queue.enqueue([DagRunRecord("raw1", "load_raw", "", RunState.QUEUED, queued_at=now)])
    _settle(scheduler)
    runs = _automation_runs(storage)
    assert len(runs) == 2
    second = runs[-1]
    assert (second.state, second.conf[AUTOMATION_SELECTION_KEY]) == (
        RunState.SUCCESS, ["cleaned", "summary"],
    )  # fmt: skip
    latest = storage.assets.latest_materializations()
    assert {k.to_user_string(): m.run_id for k, m in latest.items()} == {
        "raw": "raw1", "lookup": first.run_id, "cleaned": second.run_id,
        "summary": second.run_id,
    }  # fmt: skip
    _settle(scheduler)  # nothing changed: nothing more is requested
    assert len(_automation_runs(storage)) == 2

    storage.queue.enqueue([DagRunRecord("raw2", "load_raw", "", RunState.QUEUED, queued_at=now)])
    _settle(scheduler)
    assert [r.conf[AUTOMATION_SELECTION_KEY] for r in _automation_runs(storage)][-1] == [
        "cleaned", "summary",
    ]  # fmt: skip
    assert len(_automation_runs(storage)) == 3


def test_a_paused_automation_job_requests_nothing(tmp_path: Path) -> None:
    storage = MemoryStorage()
    scheduler = _scheduler(tmp_path, storage)
    scheduler.files.run_once(datetime.now(UTC))
    storage.registry.set_paused(AUTOMATION_DAG_ID, True)
    _settle(scheduler)
    assert _automation_runs(storage) == []


# --- the conditions, pure ---------------------------------------------------------------------

EAGER = AutomationCondition.eager()
ON_MISSING = AutomationCondition.on_missing()
HOURLY = AutomationCondition.on_cron("0 * * * *")


def facts(**changes: object) -> AssetFacts:
    values: dict[str, object] = {"now": T0, "handled_at": T0 - timedelta(days=1)}
    values.update(changes)
    return AssetFacts(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (facts(missing=True), True),  # newly missing
        (facts(missing=True, ever_requested=True), False),  # requested once already
        (facts(upstream=[UpstreamFacts(updated_since_handled=True)]), True),
        (facts(upstream=[UpstreamFacts(will_be_requested=True)]), True),
        (facts(upstream=[UpstreamFacts()]), False),  # nothing new
        (facts(upstream=[UpstreamFacts(updated_since_handled=True), UpstreamFacts(missing=True)]),
         False),  # an upstream missing
        (facts(missing=True, upstream=[UpstreamFacts(missing=True, will_be_requested=True)]),
         True),  # missing, but requested in the same run
        (facts(upstream=[UpstreamFacts(updated_since_handled=True, in_progress=True)]), False),
        (facts(in_progress=True, upstream=[UpstreamFacts(updated_since_handled=True)]), False),
    ],
)  # fmt: skip
def test_eager(case: AssetFacts, expected: bool) -> None:
    assert EAGER.evaluate(case) is expected


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (facts(missing=True), True),
        (facts(missing=True, ever_requested=True), False),
        (facts(missing=True, upstream=[UpstreamFacts(missing=True)]), False),
        (facts(missing=True, in_progress=True), False),
        (facts(upstream=[UpstreamFacts(updated_since_handled=True)]), False),  # not missing
    ],
)
def test_on_missing(case: AssetFacts, expected: bool) -> None:
    assert ON_MISSING.evaluate(case) is expected


def test_on_cron_fires_once_per_tick_once_every_upstream_updated_since_it() -> None:
    tick = datetime(2025, 1, 1, 12, tzinfo=UTC)
    fresh, stale = UpstreamFacts(updated_at=tick), UpstreamFacts(updated_at=tick - timedelta(1))
    assert HOURLY.evaluate(facts(upstream=[fresh]))
    assert HOURLY.evaluate(facts())  # no upstream: at the tick
    assert not HOURLY.evaluate(facts(upstream=[fresh, stale]))  # waits for the stale one
    assert HOURLY.evaluate(facts(upstream=[stale.__class__(will_be_requested=True)]))
    assert not HOURLY.evaluate(facts(upstream=[fresh], handled_at=tick))  # handled since
    assert not HOURLY.evaluate(facts(handled_at=tick + timedelta(minutes=5)))


def test_bad_automation_conditions_are_refused_with_what_to_write() -> None:
    with pytest.raises(DefinitionError, match=r"on_cron\('61 \* \* \* \*', 'UTC'\)"):
        AutomationCondition.on_cron("61 * * * *")
    with pytest.raises(DefinitionError, match="Nowhere/City"):
        AutomationCondition.on_cron("0 * * * *", "Nowhere/City")
    from partita import asset

    with pytest.raises(DefinitionError, match=r"AutomationCondition.eager\(\)"):

        @asset(automation_condition="eager")  # type: ignore[arg-type]
        def a() -> int:
            return 1


def test_the_automation_job_holds_the_automated_assets_and_survives_a_merge() -> None:
    from partita import Definitions, asset

    @asset
    def source() -> int:
        return 1

    @asset(automation_condition=EAGER)
    def derived(source: int) -> int:
        return source + 1

    @asset(automation_condition=ON_MISSING)
    def other() -> int:
        return 2

    job = Definitions(assets=[source, derived]).get_dag("__automation_test_automation__")
    assert sorted(job.task_dict) == ["derived"] and job.is_paused_upon_creation is False
    assert Definitions(assets=[source]).dags == []  # no conditions: no automation job
    merged = Definitions.merge(Definitions(assets=[source, derived]), Definitions(assets=[other]))
    assert sorted(merged.get_dag("__automation_test_automation__").task_dict) == [
        "derived", "other",
    ]  # fmt: skip


PARTITIONED_ASSETS = """
from partita import (AutomationCondition, Definitions, FilesystemIOManager,
                     StaticPartitionsDefinition, asset, define_asset_job)

REGIONS = StaticPartitionsDefinition(["north", "south", "west"])

@asset(partitions_def=REGIONS)
def raw(context):
    return context.partition_key

@asset(partitions_def=REGIONS, automation_condition=AutomationCondition.eager())
def cleaned(context, raw):
    assert raw == context.partition_key
    return raw.upper()

defs = Definitions(
    assets=[raw, cleaned],
    jobs=[define_asset_job("load_raw", selection="raw", partitions_def=REGIONS)],
    resources={"io_manager": FilesystemIOManager(base_dir={values!r})},
)
"""


def test_eager_on_a_partitioned_asset_materializes_only_the_updated_partition(
    tmp_path: Path,
) -> None:
    from partita.definitions.asset_backfill_job import ASSET_SELECTION_KEY
    from partita.definitions.asset_key import AssetKey

    storage = MemoryStorage()
    scheduler = _scheduler(tmp_path, storage, PARTITIONED_ASSETS)
    _settle(scheduler)
    assert storage.runs.list_runs("__asset_job_assets_0__") == []  # west (the latest) waits for raw
    assert AUTOMATION_DAG_ID not in scheduler.files.dags  # no unpartitioned automated asset

    def load_raw(partition: str) -> None:
        now = datetime.now(UTC)
        run_id = f"raw-{partition}-{len(storage.runs.list_runs('load_raw'))}"
        run = DagRunRecord(run_id, "load_raw", "", RunState.QUEUED, queued_at=now,
                           partition_key=partition)  # fmt: skip
        storage.queue.enqueue([run])
        _settle(scheduler)

    def cleaned() -> list[str]:
        done = storage.assets.list_materializations(AssetKey("cleaned"), limit=50)
        return sorted(m.partition_key or "" for m in done)

    load_raw("north")
    [run] = storage.runs.list_runs("__asset_job_assets_0__")
    assert (run.run_type, run.partition_key, run.state) == (
        AUTOMATION_RUN_TYPE, "north", RunState.SUCCESS,
    )  # fmt: skip
    assert run.conf[ASSET_SELECTION_KEY] == ["cleaned"]
    states = {ti.task_id: ti.state for ti in storage.runs.get_task_instances(run.run_id)}
    assert states == {"raw": TaskState.SKIPPED, "cleaned": TaskState.SUCCESS}
    assert cleaned() == ["north"]
    _settle(scheduler)  # nothing new: nothing requested
    assert len(storage.runs.list_runs("__asset_job_assets_0__")) == 1
    load_raw("south")
    assert cleaned() == ["north", "south"]  # only the partition whose upstream was updated
    load_raw("north")  # north again: north again, and only north
    assert cleaned() == ["north", "north", "south"]
    assert len(storage.runs.list_runs("__asset_job_assets_0__")) == 3
