"""The scheduler's services, called one pass at a time (``run_once``) on a memory store."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from partita.definitions.states import RunState, TaskState
from partita.exceptions import ConfigurationError
from partita.executors.in_process import InProcessExecutor
from partita.scheduler.clock import FastClock, parse_clock
from partita.scheduler.dag_files import DagFileProcessor
from partita.scheduler.loop import Scheduler, SchedulerOptions
from partita.scheduler.schedule_ticks import ScheduleDefinitionTicker
from partita.scheduler.starter import runs_to_start
from partita.scheduler.ticker import ScheduleTicker, scheduled_run_id
from partita.storage.memory import MemoryStorage
from partita.storage.records import DagRunRecord, EventKind

SLACK_DAG = """
from datetime import datetime
from partita import DAG, PythonOperator, FailTask

def _fail():
    raise FailTask("Raise Exception.")

default_args = {"owner": "choonb", "depends_on_past": False,
                "start_date": datetime(2024, 1, 1), "end_date": datetime(2025, 1, 1)}
with DAG(dag_id="dag_with_slack", default_args=default_args, schedule_interval="0 12 * * * ",
         tags=["slack"], catchup=True) as dag:
    PythonOperator(task_id="raise_exception_and_send_slack_notification", python_callable=_fail)
"""

PAUSED_DAG = """
from datetime import datetime
from partita import DAG, EmptyOperator

with DAG("paused_daily", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=True,
         is_paused_upon_creation=True) as dag:
    EmptyOperator(task_id="noop")
"""

SLOW_DAG = """
import time
from datetime import datetime, timedelta
from partita import DAG, PythonOperator

with DAG("slow", schedule=None, start_date=datetime(2024, 1, 1),
         dagrun_timeout=timedelta(seconds=0.2)) as dag:
    naps = [PythonOperator(task_id=f"nap{i}", python_callable=lambda: time.sleep(0.1))
            for i in range(5)]
    for first, second in zip(naps, naps[1:]):
        first >> second
"""


def files_for(tmp_path: Path, source: str, storage: MemoryStorage) -> DagFileProcessor:
    path = tmp_path / "dag_file.py"
    path.write_text(source)
    return DagFileProcessor(
        [str(path)],
        storage.registry,
        import_timeout=10,
        default_timezone="UTC",
        paused_at_creation=False,
    )


def test_the_slack_dag_catchup_queues_exactly_366_runs(tmp_path: Path) -> None:
    storage = MemoryStorage()
    files = files_for(tmp_path, SLACK_DAG, storage)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    files.run_once(now)
    ticker = ScheduleTicker(storage, files.get_dag)
    total = 0
    while queued := ticker.run_once(now).queued:
        total += queued["dag_with_slack"]
    runs = storage.runs.list_runs("dag_with_slack", limit=1000)
    assert total == len(runs) == 366  # every noon of 2024 (a leap year), as Airflow creates
    dates = sorted(r.logical_date for r in runs if r.logical_date is not None)
    assert dates[0] == datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert dates[-1] == datetime(2024, 12, 31, 12, tzinfo=UTC)  # 2025-01-01 noon > end_date
    assert {r.run_type for r in runs} == {"scheduled"} and {r.state for r in runs} == {
        RunState.QUEUED
    }
    first = min(runs, key=lambda r: r.logical_date or now)
    noon = datetime(2024, 1, 1, 12, tzinfo=UTC)  # a cron string: the instant, as in Airflow 3
    assert (first.data_interval_start, first.data_interval_end) == (noon, noon)
    assert storage.registry.get_dag("dag_with_slack").next_run is None  # type: ignore[union-attr]


def test_a_tick_that_repeats_after_a_crash_queues_no_run_twice(tmp_path: Path) -> None:
    storage = MemoryStorage()
    files = files_for(tmp_path, SLACK_DAG, storage)
    now = datetime(2024, 1, 5, 13, tzinfo=UTC)
    files.run_once(now)
    due = storage.registry.due_dags(now, 10)[0]
    assert due.next_run is not None
    # the runs were queued, then the scheduler died before moving the next run
    first = ScheduleTicker._run(files.dags["dag_with_slack"], due.next_run, now)
    storage.queue.enqueue([first])
    ScheduleTicker(storage, files.get_dag).run_once(now)
    ids = [r.run_id for r in storage.runs.list_runs("dag_with_slack")]
    assert len(ids) == len(set(ids)) == 5  # Jan 1 to 5 at noon
    assert scheduled_run_id("dag_with_slack", due.next_run.logical_date) in ids


def test_a_paused_dag_creates_no_runs(tmp_path: Path) -> None:
    storage = MemoryStorage()
    files = files_for(tmp_path, PAUSED_DAG, storage)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    files.run_once(now)
    assert ScheduleTicker(storage, files.get_dag).run_once(now).queued == {}
    assert storage.runs.list_runs("paused_daily") == []
    storage.registry.set_paused("paused_daily", False)
    assert ScheduleTicker(storage, files.get_dag).run_once(now).queued["paused_daily"] > 0


def run(run_id: str, dag_id: str, minute: int) -> DagRunRecord:
    when = datetime(2025, 1, 1, 0, minute, tzinfo=UTC)
    return DagRunRecord(run_id, dag_id, "", RunState.QUEUED, queued_at=when)


def test_runs_to_start_honours_free_slots_and_max_active_runs() -> None:
    queued = [run("a1", "a", 0), run("a2", "a", 1), run("b1", "b", 2), run("x1", "x", 3)]
    chosen = runs_to_start(queued, {"a": 1}, free_slots=5, max_active_runs={"a": 2, "b": 1})
    assert [r.run_id for r in chosen] == ["a1", "b1"]  # a2 over a's limit, x not loaded
    chosen = runs_to_start(queued, {}, free_slots=1, max_active_runs={"a": 2, "b": 1})
    assert [r.run_id for r in chosen] == ["a1"]
    assert runs_to_start(queued, {}, free_slots=0, max_active_runs={"a": 9}) == []


def test_a_changed_dag_file_is_reloaded(tmp_path: Path) -> None:
    storage = MemoryStorage()
    files = files_for(tmp_path, PAUSED_DAG, storage)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert files.run_once(now) == [str(tmp_path / "dag_file.py")]
    assert files.run_once(now) == []  # nothing changed
    (tmp_path / "dag_file.py").write_text(PAUSED_DAG.replace("paused_daily", "renamed_daily"))
    assert files.run_once(now) == [str(tmp_path / "dag_file.py")]
    assert sorted(files.dags) == ["renamed_daily"]
    assert [d.dag_id for d in storage.registry.list_dags()] == ["renamed_daily"]


def scheduler_for(
    tmp_path: Path, source: str, storage: MemoryStorage, start: datetime
) -> Scheduler:
    options = SchedulerOptions(max_concurrent_runs=4, heartbeat_interval=0, parse_interval=0)
    return Scheduler(
        storage,
        files_for(tmp_path, source, storage),
        InProcessExecutor,
        options=options,
        clock=FastClock(start, 1.0),
    )


def test_the_scheduler_runs_queued_runs_within_its_limits(tmp_path: Path) -> None:
    storage = MemoryStorage()
    scheduler = scheduler_for(tmp_path, SLACK_DAG, storage, datetime(2024, 1, 11, tzinfo=UTC))
    scheduler.run_once()
    states = [r.state for r in storage.runs.list_runs(limit=100)]
    assert states.count(RunState.QUEUED) == 6  # 4 of 10 started: max_concurrent_runs
    for _ in range(200):
        scheduler.run_once()
        if all(r.state.finished for r in storage.runs.list_runs(limit=100)):
            break
    runs = storage.runs.list_runs("dag_with_slack", limit=100)
    assert len(runs) == 10  # Jan 1 to 10 at noon are due on Jan 11 at midnight
    assert {r.state for r in runs} == {RunState.FAILED}  # the task raises FailTask
    assert storage.queue.list_schedulers()[0].scheduler_id == scheduler.scheduler_id
    scheduler.stop()
    assert storage.queue.list_schedulers() == []


def test_dagrun_timeout_fails_a_run_that_runs_too_long(tmp_path: Path) -> None:
    storage = MemoryStorage()
    scheduler = scheduler_for(tmp_path, SLOW_DAG, storage, datetime(2024, 1, 1, tzinfo=UTC))
    scheduler.run_once()
    storage.queue.enqueue([run("manual__1", "slow", 0)])
    for _ in range(100):
        scheduler.run_once()
        if storage.runs.get_run("manual__1").state.finished:
            break
    assert storage.runs.get_run("manual__1").state is RunState.FAILED
    states = [ti.state for ti in storage.runs.get_task_instances("manual__1")]
    assert TaskState.CANCELLED in states and TaskState.RUNNING not in states
    events = storage.events.read_events("manual__1", kinds=[EventKind.RUN_STATE])
    assert "dagrun_timeout" in events[-1].payload["message"]


def test_the_runs_of_a_dead_scheduler_are_resumed(tmp_path: Path) -> None:
    storage = MemoryStorage()
    scheduler = scheduler_for(tmp_path, SLACK_DAG, storage, datetime(2024, 1, 3, tzinfo=UTC))
    scheduler.files.run_once(datetime(2024, 1, 3, tzinfo=UTC))
    storage.queue.enqueue([run("manual__1", "dag_with_slack", 0)])
    with storage.queue.claim_queued_runs("dead-scheduler", 1) as claim:
        claim.start(claim.queued[0], datetime.now(UTC))
    scheduler.run_once()  # the first pass adopts: the dead scheduler has no heartbeat
    assert (
        "manual__1" in scheduler.supervisor.active
        or storage.runs.get_run("manual__1").state.finished
    )
    for _ in range(50):
        scheduler.run_once()
    assert storage.runs.get_run("manual__1").state is RunState.FAILED  # the task fails
    assert storage.queue.claimed_runs("dead-scheduler") == []


def test_the_scheduler_clock_setting() -> None:
    clock = parse_clock("2024-01-01T00:00:00+00:00:3600")
    assert isinstance(clock, FastClock) and clock.speed == 3600
    assert clock.start == datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(ConfigurationError, match="PARTITA_SCHEDULER_CLOCK"):
        parse_clock("yesterday")


T_MIN = datetime.min.replace(tzinfo=UTC)
PAST_DAG = """
from datetime import datetime
from partita import DAG, PythonOperator

def work(logical_date, **_):
    if logical_date.day == 1:
        raise ValueError("the first day fails")

with DAG("past", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=True,
         max_active_runs=3) as dag:
    PythonOperator(task_id="work", python_callable=work, depends_on_past=True)
    PythonOperator(task_id="free", python_callable=lambda: None)
"""


def test_depends_on_past_holds_a_task_whose_previous_run_failed(tmp_path: Path) -> None:
    storage = MemoryStorage()
    scheduler = scheduler_for(tmp_path, PAST_DAG, storage, datetime(2024, 1, 3, 1, tzinfo=UTC))

    def free_done() -> bool:
        tis = [
            ti
            for r in storage.runs.list_runs("past")
            for ti in storage.runs.get_task_instances(r.run_id)
        ]
        return (
            len([ti for ti in tis if ti.task_id == "free" and ti.state is TaskState.SUCCESS]) == 3
        )

    deadline = time.monotonic() + 10
    while not free_done() and time.monotonic() < deadline:  # changes are written in batches
        scheduler.run_once()
    for _ in range(10):
        scheduler.run_once()
    runs = sorted(storage.runs.list_runs("past"), key=lambda r: r.logical_date or T_MIN)
    assert [r.logical_date.day for r in runs if r.logical_date] == [1, 2, 3]
    states = [
        {ti.task_id: ti.state for ti in storage.runs.get_task_instances(r.run_id)} for r in runs
    ]
    assert states[0] == {"work": TaskState.FAILED, "free": TaskState.SUCCESS}
    for later, run in zip(states[1:], runs[1:], strict=True):
        assert later["free"] is TaskState.SUCCESS
        assert later["work"] in (TaskState.NONE, TaskState.SCHEDULED)  # held: the day before
        assert run.state is RunState.RUNNING
    scheduler.stop()


def test_runs_to_start_honours_per_tag_run_limits() -> None:
    queued = [run("a1", "a", 0), run("b1", "b", 1), run("c1", "c", 2), run("a2", "a", 3)]
    tags = {"a": ["warehouse"], "b": ["warehouse", "nightly"], "c": ["nightly"]}
    limits = {"a": 9, "b": 9, "c": 9}
    chosen = runs_to_start(
        queued,
        {"c": 1},
        free_slots=9,
        max_active_runs=limits,
        tags=tags,
        tag_limits={"warehouse": 2, "nightly": 1},
    )
    # c already runs: nightly is full, so b1 and c1 wait; warehouse takes a1 and a2
    assert [r.run_id for r in chosen] == ["a1", "a2"]


SCHEDULES = """
from datetime import datetime
from partita import (DAG, DefaultScheduleStatus, Definitions, EmptyOperator, RunRequest,
                     ScheduleDefinition, SkipReason, schedule)

with DAG("job_dag", schedule=None, start_date=datetime(2024, 1, 1)) as job_dag:
    EmptyOperator(task_id="noop")

hourly = ScheduleDefinition(job=job_dag, cron_schedule="0 * * * *",
                            run_config={"source": "hourly"},
                            default_status=DefaultScheduleStatus.RUNNING)

@schedule(cron_schedule="30 * * * *", job=job_dag, default_status=DefaultScheduleStatus.RUNNING)
def regions(context):
    if context.scheduled_execution_time.hour == 3:
        return SkipReason("not at three")
    return [RunRequest(run_key=r, run_config={"region": r}) for r in ("eu", "us")]

stopped = ScheduleDefinition(name="stopped", job=job_dag, cron_schedule="* * * * *")

defs = Definitions(dags=[job_dag], schedules=[hourly, regions, stopped])
"""


def test_running_dagster_schedules_queue_their_run_requests_once(tmp_path: Path) -> None:

    storage = MemoryStorage()
    files = files_for(tmp_path, SCHEDULES, storage)
    t0 = datetime(2024, 1, 1, 1, 45, tzinfo=UTC)
    files.run_once(t0)
    ticker = ScheduleDefinitionTicker(storage, lambda: files.schedules, files.get_dag)
    assert ticker.run_once(t0) == {}  # ticks start from when the schedule is first seen
    assert ticker.run_once(t0 + timedelta(hours=2)) == {"job_dag_schedule": 2, "regions": 2}
    again = ScheduleDefinitionTicker(storage, lambda: files.schedules, files.get_dag)
    again.run_once(t0)  # a restart within the same ticks queues nothing twice
    again.run_once(t0 + timedelta(hours=2))
    runs = storage.runs.list_runs("job_dag", limit=100)
    confs = sorted(
        (r.logical_date.hour, r.logical_date.minute, tuple(r.conf.items()))
        for r in runs
        if r.logical_date is not None
    )
    assert confs == [
        (2, 0, (("source", "hourly"),)),
        (2, 30, (("region", "eu"),)),
        (2, 30, (("region", "us"),)),
        (3, 0, (("source", "hourly"),)),
    ]  # 03:30 skipped; the stopped schedule never ticks
    assert {r.run_type for r in runs} == {"scheduled"}


def test_a_run_taken_over_by_another_scheduler_is_dropped_unrecorded(tmp_path: Path) -> None:
    storage = MemoryStorage()
    scheduler = scheduler_for(tmp_path, SLOW_DAG, storage, datetime(2024, 1, 1, tzinfo=UTC))
    scheduler.run_once()
    storage.queue.enqueue([run("manual__1", "slow", 0)])
    scheduler.run_once()
    assert "manual__1" in scheduler.supervisor.active
    storage.queue.adopt_orphaned_runs("other", live={"other"})  # it thought us dead
    assert scheduler.supervisor.drop_lost(
        set(storage.queue.claimed_runs(scheduler.scheduler_id))
    ) == ["manual__1"]
    assert storage.runs.get_run("manual__1").state is RunState.RUNNING  # left to the other one
    assert storage.queue.claimed_runs("other") == ["manual__1"]


def test_a_dag_known_only_to_the_registry_is_loaded_from_its_file(tmp_path: Path) -> None:
    storage = MemoryStorage()
    elsewhere = files_for(tmp_path, PAUSED_DAG, storage)  # records paused_daily's file
    elsewhere.run_once(datetime(2026, 1, 1, tzinfo=UTC))
    files = DagFileProcessor(
        [], storage.registry, import_timeout=10, default_timezone="UTC", paused_at_creation=False
    )
    dag = files.get_dag("paused_daily")
    assert dag is not None and dag.dag_id == "paused_daily"
    assert files.get_dag("no_such_dag") is None
