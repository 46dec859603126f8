"""Asset-triggered DAGs (``schedule=[Asset(...)]``) through scheduler passes on a memory store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from partita.definitions.asset_events import TRIGGERING_EVENTS_KEY
from partita.definitions.asset_key import AssetKey
from partita.definitions.states import RunState
from partita.executors.in_process import InProcessExecutor
from partita.scheduler.asset_triggers import AssetTriggerService
from partita.scheduler.clock import FastClock
from partita.scheduler.dag_files import DagFileProcessor
from partita.scheduler.loop import Scheduler, SchedulerOptions
from partita.storage.memory import MemoryStorage
from partita.storage.records import AssetMaterializationRecord, DagRunRecord, WriteBatch

DAGS = """
from partita import DAG, Asset, task

orders = Asset("s3://bucket/orders")
customers = Asset("customers")
refunds = Asset("refunds", extra={"team": "billing"})

def producer(dag_id, *outlets):
    with DAG(dag_id, schedule=None) as dag:
        @task(outlets=list(outlets))
        def write(**context):
            for asset in outlets:
                context["outlet_events"][asset].extra["rows"] = 3
        write()
    return dag

producer("make_orders", orders)
producer("make_customers", customers)
producer("make_refunds", refunds)
producer("make_orders_and_customers", orders, customers)

with DAG("consumer", schedule=(orders & customers) | refunds) as consumer:
    @task
    def read(**context):
        events = context["triggering_asset_events"]
        return sorted((a.name, len(events[a])) for a in events)
    read()
"""


def _scheduler(tmp_path: Path, storage: MemoryStorage, source: str = DAGS) -> Scheduler:
    path = tmp_path / "dags.py"
    path.write_text(source)
    files = DagFileProcessor(
        [str(path)], storage.registry, import_timeout=10, default_timezone="UTC",
        paused_at_creation=False,
    )  # fmt: skip
    options = SchedulerOptions(heartbeat_interval=0, parse_interval=0, automation_interval=0)
    clock = FastClock(datetime(2025, 1, 1, tzinfo=UTC), 1.0)
    return Scheduler(storage, files, InProcessExecutor, options=options, clock=clock)


def _run(scheduler: Scheduler, storage: MemoryStorage, dag_id: str) -> None:
    """Queue a manual run of ``dag_id`` and drive passes until nothing runs."""
    now = datetime.now(UTC)
    run_id = f"manual__{dag_id}__{len(storage.runs.runs)}"
    storage.queue.enqueue([DagRunRecord(run_id, dag_id, "", RunState.QUEUED, queued_at=now)])
    _settle(scheduler)
    assert storage.runs.get_run(run_id).state is RunState.SUCCESS


def _settle(scheduler: Scheduler) -> None:
    """Passes until two in a row find nothing queued or running (a run ending may queue one)."""
    idle = 0
    for _ in range(200):
        scheduler.run_once()
        busy = scheduler.storage.runs.list_runs(states=[RunState.QUEUED, RunState.RUNNING])
        idle = 0 if busy or scheduler.supervisor.active else idle + 1
        if idle == 2:
            return
    raise AssertionError("runs did not finish")


def _consumer_runs(storage: MemoryStorage) -> list[DagRunRecord]:
    return sorted(storage.runs.list_runs("consumer"), key=lambda r: r.queued_at or r.run_id)


def test_a_condition_met_queues_one_run_carrying_every_pending_event(tmp_path: Path) -> None:
    storage = MemoryStorage()
    scheduler = _scheduler(tmp_path, storage)
    _settle(scheduler)  # first pass: the consumer's cursor starts at the newest event
    _run(scheduler, storage, "make_orders")
    _run(scheduler, storage, "make_orders")
    assert _consumer_runs(storage) == []  # orders alone: (orders & customers) | refunds is false
    _run(scheduler, storage, "make_customers")
    [run] = _consumer_runs(storage)
    assert (run.run_type, run.state) == ("asset_triggered", RunState.SUCCESS)
    events = run.conf[TRIGGERING_EVENTS_KEY]
    assert [(e["asset"], e["source_dag_id"], e["extra"]) for e in events] == [
        ("s3://bucket/orders", "make_orders", {"rows": 3}),
        ("s3://bucket/orders", "make_orders", {"rows": 3}),
        ("customers", "make_customers", {"rows": 3}),
    ]
    # the consumer saw the events in its context
    record = storage.outputs.get_record(run.run_id, "read", -1, "return_value")
    assert record is not None
    assert storage.outputs.load(record) == [("customers", 1), ("s3://bucket/orders", 2)]
    _run(scheduler, storage, "make_refunds")  # refunds alone is enough; old events are consumed
    assert len(_consumer_runs(storage)) == 2
    latest = _consumer_runs(storage)[-1].conf[TRIGGERING_EVENTS_KEY]
    assert [(e["asset"], e["extra"]) for e in latest] == [
        ("refunds", {"team": "billing", "rows": 3})
    ]


def test_events_before_the_dag_was_seen_or_while_paused_trigger_nothing(tmp_path: Path) -> None:
    storage = MemoryStorage()
    scheduler = _scheduler(tmp_path, storage)
    scheduler.files.run_once(datetime.now(UTC))
    trigger_service = scheduler.asset_triggers
    scheduler.asset_triggers = AssetTriggerService(storage, dict)  # blind until the events exist
    _run(scheduler, storage, "make_refunds")
    scheduler.asset_triggers = trigger_service
    _settle(scheduler)
    assert _consumer_runs(storage) == []
    storage.registry.set_paused("consumer", True)
    _run(scheduler, storage, "make_refunds")
    storage.registry.set_paused("consumer", False)
    _settle(scheduler)
    assert _consumer_runs(storage) == []
    _run(scheduler, storage, "make_orders_and_customers")  # one task, both assets
    assert len(_consumer_runs(storage)) == 1


def test_a_second_scheduler_reading_the_same_events_queues_no_second_run(tmp_path: Path) -> None:
    storage = MemoryStorage()
    scheduler = _scheduler(tmp_path, storage)
    _settle(scheduler)
    other = AssetTriggerService(storage, lambda: scheduler.files.dags)
    other.run_once(datetime.now(UTC))  # reads the cursor the first scheduler made
    cursor = storage.automation.get_cursor("dag:consumer")
    _run(scheduler, storage, "make_refunds")
    assert len(_consumer_runs(storage)) == 1
    # the other scheduler, deciding from the old reading, is refused by the cursor's version
    stale = storage.automation.advance(
        "dag:consumer", cursor.version if cursor else None, {"event_id": 99}, [], datetime.now(UTC)
    )
    assert not stale
    assert other.run_once(datetime.now(UTC)) == {}
    assert len(_consumer_runs(storage)) == 1


def test_events_wait_while_the_dag_is_at_max_active_runs_then_make_one_run(
    tmp_path: Path,
) -> None:
    storage = MemoryStorage()
    scheduler = _scheduler(tmp_path, storage)
    _settle(scheduler)
    consumer = scheduler.files.dags["consumer"]
    consumer.max_active_runs = 1
    now = datetime.now(UTC)
    blocker = DagRunRecord("blocker", "consumer", "", RunState.QUEUED, queued_at=now)
    storage.queue.enqueue([blocker])  # a queued run of the consumer holds its one slot
    service = AssetTriggerService(storage, lambda: scheduler.files.dags)
    for n in range(3):
        storage.write(_event_batch(f"e{n}", "refunds"))
        assert service.run_once(now) == {}
    storage.runs.runs["blocker"] = storage.runs.runs["blocker"].ended(RunState.SUCCESS, now)
    queued = service.run_once(now)  # no new event: the waiting ones make one run
    [run_id] = queued.values()
    assert len(storage.runs.get_run(run_id).conf[TRIGGERING_EVENTS_KEY]) == 3


def _event_batch(run_id: str, key: str) -> WriteBatch:
    now = datetime.now(UTC)
    run = DagRunRecord(run_id, "make_refunds", "", RunState.SUCCESS, queued_at=now)
    event = AssetMaterializationRecord(AssetKey(key), run_id, "write", now)
    return WriteBatch(runs=[run], materializations=[event])


ALIAS_DAGS = """
from partita import DAG, Asset, AssetAlias, task

with DAG("producer", schedule=None):
    @task(outlets=[AssetAlias("daily-exports")])
    def export(**context):
        target = Asset("s3://bucket/exports/2025-01-01")
        context["outlet_events"][AssetAlias("daily-exports")].add(target, extra={"rows": 7})
    export()

with DAG("direct", schedule=None):
    @task(outlets=[Asset("s3://bucket/exports/2025-01-01")])
    def write():
        pass
    write()

with DAG("on_alias", schedule=AssetAlias("daily-exports")):
    @task
    def read(**context):
        events = context["triggering_asset_events"]
        return [(a.name, [e.extra for e in events[a]]) for a in events]
    read()

with DAG("on_alias_or_other", schedule=AssetAlias("daily-exports") | Asset("other")):
    @task
    def noop():
        pass
    noop()
"""


def test_a_dag_scheduled_on_an_asset_alias_runs_on_events_added_through_it(
    tmp_path: Path,
) -> None:
    from partita import Asset, AssetAlias

    storage = MemoryStorage()
    scheduler = _scheduler(tmp_path, storage, ALIAS_DAGS)
    _settle(scheduler)
    _run(scheduler, storage, "direct")  # the asset's own event was not added through the alias
    assert storage.runs.list_runs("on_alias") == []
    _run(scheduler, storage, "producer")
    [run] = storage.runs.list_runs("on_alias")
    assert run.state is RunState.SUCCESS
    [event] = run.conf[TRIGGERING_EVENTS_KEY]
    assert (event["asset"], event["extra"], event["source_aliases"]) == (
        "s3://bucket/exports/2025-01-01", {"rows": 7}, ["daily-exports"],
    )  # fmt: skip
    record = storage.outputs.get_record(run.run_id, "read", -1, "return_value")
    assert record is not None
    assert storage.outputs.load(record) == [("s3://bucket/exports/2025-01-01", [{"rows": 7}])]
    assert len(storage.runs.list_runs("on_alias_or_other")) == 1
    # the catalog holds the event under the real asset's key
    latest = storage.assets.latest_materializations([Asset("s3://bucket/exports/2025-01-01").key])
    assert len(latest) == 1
    assert AssetAlias("daily-exports") != Asset("daily-exports")
