"""``SensorDaemon`` one pass at a time: ticks, run keys across restarts, failures, time limits,
start/stop, run status and asset sensors; and the ticks of Dagster-style schedules."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from partita import (
    DAG,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    EmptyOperator,
    RunRequest,
    ScheduleDefinition,
    SkipReason,
    Variable,
    asset_sensor,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)
from partita.definitions.asset_key import AssetKey
from partita.definitions.sensors import SensorDefinition
from partita.definitions.states import RunState
from partita.masking import MASKER
from partita.scheduler.schedule_ticks import ScheduleDefinitionTicker
from partita.scheduler.sensors import SensorDaemon, SensorThreads
from partita.storage.base import Storage
from partita.storage.instigators import InstigatorKind, InstigatorStatus, TickStatus
from partita.storage.memory import MemoryStorage
from partita.storage.records import AssetMaterializationRecord, DagRunRecord, WriteBatch

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SENSOR = InstigatorKind.SENSOR

with DAG("target", schedule=None) as TARGET:
    EmptyOperator(task_id="noop")


def daemon_for(storage: Storage, *sensors: SensorDefinition, **options: Any) -> SensorDaemon:
    found = {s.name: s for s in sensors}
    return SensorDaemon(storage, lambda: found, {"target": TARGET}.get, **options)


def tick_once(daemon: SensorDaemon, now: datetime) -> list[Any]:
    return daemon.run_once(now) + daemon.wait()


def files_sensor(folder: Path) -> SensorDefinition:
    @sensor(job=TARGET, minimum_interval_seconds=30)
    def files(context: Any) -> Any:
        for path in sorted(folder.iterdir()):
            yield RunRequest(run_key=f"{path.name}:{path.stat().st_mtime_ns}")

    return files


def test_run_keys_make_one_run_per_file_across_a_restart(storage: Storage, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.csv").write_text("a")
    watcher = files_sensor(folder)
    [first] = tick_once(daemon_for(storage, watcher), T0)
    assert first.status is TickStatus.REQUESTED and len(first.run_ids) == 1
    (folder / "b.csv").write_text("b")
    restarted = daemon_for(storage, watcher)  # a new scheduler process: nothing in memory
    assert tick_once(restarted, T0 + timedelta(seconds=10)) == []  # keeps its 30 s rhythm
    [second] = tick_once(restarted, T0 + timedelta(seconds=31))
    assert second.status is TickStatus.REQUESTED and len(second.run_ids) == 1
    [third] = tick_once(restarted, T0 + timedelta(seconds=62))
    assert third.status is TickStatus.SKIPPED and "already used" in (third.skip_reason or "")
    runs = storage.runs.list_runs("target")
    assert len(runs) == 2 and {r.run_type for r in runs} == {"sensor"}
    assert {r.run_id for r in runs} == {first.run_ids[0], second.run_ids[0]}


def test_the_cursor_persists_between_evaluations(storage: Storage) -> None:
    seen: list[str | None] = []

    @sensor(job=TARGET, minimum_interval_seconds=1)
    def counting(context: Any) -> Any:
        seen.append(context.cursor)
        context.update_cursor(str(int(context.cursor or 0) + 1))
        return SkipReason("counting")

    for second in range(3):
        tick_once(daemon_for(storage, counting), T0 + timedelta(seconds=2 * second))
    assert seen == [None, "1", "2"]
    ticks = storage.instigators.list_ticks(SENSOR, "counting")
    assert (ticks[0].status, ticks[0].skip_reason, ticks[0].cursor) == (
        TickStatus.SKIPPED,
        "counting",
        "3",
    )


def test_a_sensor_that_raises_fails_its_tick_and_is_evaluated_again(storage: Storage) -> None:
    calls = []

    @sensor(job=TARGET, minimum_interval_seconds=1)
    def flaky(context: Any) -> Any:
        calls.append(context.cursor)
        context.update_cursor("moved")
        raise ValueError("the bucket is unreachable")

    daemon = daemon_for(storage, flaky)
    [failed] = tick_once(daemon, T0)
    assert failed.status is TickStatus.FAILED
    assert failed.error == "sensor 'flaky' raised ValueError: the bucket is unreachable"
    [again] = tick_once(daemon, T0 + timedelta(seconds=2))
    assert again.status is TickStatus.FAILED and calls == [None, None]  # cursor not moved


def test_a_sensor_returning_something_else_fails_saying_what(storage: Storage) -> None:
    @sensor(job=TARGET)
    def wrong() -> Any:
        return {"not": "a request"}

    [failed] = tick_once(daemon_for(storage, wrong), T0)
    assert failed.status is TickStatus.FAILED
    assert "returned a dict ({'not': 'a request'})" in (failed.error or "")
    assert "RunRequest" in (failed.error or "")


def test_bad_run_config_fails_the_tick_and_queues_nothing(storage: Storage) -> None:
    @sensor(job=TARGET)
    def bad_config() -> Any:
        return RunRequest(run_key="k", run_config={"tasks": {"missing": {"config": {}}}})

    [failed] = tick_once(daemon_for(storage, bad_config), T0)
    assert failed.status is TickStatus.FAILED and "missing" in (failed.error or "")
    assert storage.runs.list_runs() == []
    assert storage.instigators.used_run_keys("bad_config", ["k"]) == set()


def test_a_sensor_past_its_time_limit_fails_and_the_loop_goes_on(tmp_path: Path) -> None:
    storage = MemoryStorage()
    release = threading.Event()

    @sensor(job=TARGET, minimum_interval_seconds=1)
    def stuck() -> Any:
        release.wait(30)
        return RunRequest(run_key="late")

    @sensor(job=TARGET, minimum_interval_seconds=1)
    def quick() -> Any:
        return SkipReason("fine")

    daemon = daemon_for(storage, stuck, quick, evaluation_timeout=0.05)
    daemon.run_once(T0)
    release_after_timeout: list[Any] = []
    for _ in range(3000):  # the limit is checked each pass; no timing asserted
        passed = daemon.run_once(T0 + timedelta(seconds=1))
        release_after_timeout = [t for t in passed if t.name == "stuck"]
        if release_after_timeout:
            break
        time.sleep(0.01)
    [timed_out] = release_after_timeout
    assert timed_out.status is TickStatus.FAILED
    assert "took longer than 0.05 s" in (timed_out.error or "")
    assert storage.instigators.list_ticks(SENSOR, "quick")  # evaluated meanwhile
    release.set()
    daemon.wait()
    assert storage.runs.list_runs() == []  # the late result is dropped
    daemon.close()


def test_stopped_sensors_are_not_evaluated_until_started(storage: Storage) -> None:
    @sensor(job=TARGET, minimum_interval_seconds=1, default_status=DefaultSensorStatus.STOPPED)
    def waiting() -> Any:
        return RunRequest(run_key="one")

    @sensor(job=TARGET, minimum_interval_seconds=1)
    def undeclared() -> Any:
        return SkipReason("ran")

    daemon = daemon_for(storage, waiting, undeclared, stopped_by_default=True)
    assert tick_once(daemon, T0) == []
    storage.instigators.set_status(SENSOR, "waiting", InstigatorStatus.RUNNING, T0)
    [tick] = tick_once(daemon, T0 + timedelta(seconds=10))
    assert tick.name == "waiting" and tick.status is TickStatus.REQUESTED
    storage.instigators.set_status(SENSOR, "waiting", InstigatorStatus.STOPPED, T0)
    assert tick_once(daemon, T0 + timedelta(seconds=20)) == []


def test_a_sensor_whose_job_is_not_loaded_fails_its_tick(storage: Storage) -> None:
    @sensor(job="elsewhere")
    def orphan() -> Any:
        return RunRequest()

    [failed] = tick_once(daemon_for(storage, orphan), T0)
    assert "its job 'elsewhere' is not loaded" in (failed.error or "")


def ended(run_id: str, dag_id: str, state: RunState, minute: int) -> DagRunRecord:
    run = DagRunRecord(run_id, dag_id, "", RunState.QUEUED, queued_at=T0)
    return run.ended(state, datetime.now(UTC) + timedelta(minutes=minute))


def test_a_run_failure_sensor_reacts_once_to_each_failed_run(storage: Storage) -> None:
    @run_failure_sensor(monitored_jobs=["etl"], request_job=TARGET, minimum_interval_seconds=1)
    def on_failure(context: Any) -> Any:
        return RunRequest(run_key=context.dag_run.run_id, run_config={})

    daemon = daemon_for(storage, on_failure)
    [first] = tick_once(daemon, T0)  # from now on
    assert first.status is TickStatus.SKIPPED and "first evaluation" in (first.skip_reason or "")
    storage.write(
        WriteBatch(
            runs=[
                ended("bad", "etl", RunState.FAILED, 1),
                ended("ok", "etl", RunState.SUCCESS, 1),
                ended("other", "x", RunState.FAILED, 2),
            ]
        )
    )
    [reacted] = tick_once(daemon, T0 + timedelta(seconds=2))
    assert reacted.status is TickStatus.REQUESTED and reacted.run_keys == ["bad"]
    [quiet] = tick_once(daemon, T0 + timedelta(seconds=4))
    assert quiet.status is TickStatus.SKIPPED


def test_a_run_status_sensor_sees_successes() -> None:
    storage = MemoryStorage()
    seen = []

    @run_status_sensor(run_status="success", minimum_interval_seconds=1)
    def on_success(context: Any) -> None:
        seen.append(context.dag_run.run_id)

    daemon = daemon_for(storage, on_success)
    tick_once(daemon, T0)
    storage.write(WriteBatch(runs=[ended("ok", "etl", RunState.SUCCESS, 1)]))
    tick_once(daemon, T0 + timedelta(seconds=2))
    assert seen == ["ok"]


def test_an_asset_sensor_fires_on_each_new_materialization(storage: Storage) -> None:
    key = AssetKey(["raw", "orders"])

    @asset_sensor(asset_key=key, job=TARGET, minimum_interval_seconds=1)
    def orders_updated(context: Any, event: Any) -> Any:
        return RunRequest(run_key=f"orders-{event.id}")

    daemon = daemon_for(storage, orders_updated)
    [none_yet] = tick_once(daemon, T0)
    assert none_yet.status is TickStatus.SKIPPED

    def materialize(run_id: str) -> None:
        run = DagRunRecord(run_id, "assets", "", RunState.SUCCESS, queued_at=T0)
        record = AssetMaterializationRecord(key, run_id, "raw__orders", T0)
        storage.write(WriteBatch(runs=[run], materializations=[record]))

    materialize("m1")
    [fired] = tick_once(daemon, T0 + timedelta(seconds=2))
    assert fired.status is TickStatus.REQUESTED
    [quiet] = tick_once(daemon, T0 + timedelta(seconds=4))
    assert quiet.status is TickStatus.SKIPPED
    materialize("m2")
    [again] = tick_once(daemon, T0 + timedelta(seconds=6))
    assert again.status is TickStatus.REQUESTED and again.run_keys != fired.run_keys


# --- Dagster-style schedules: stored status and ticks -----------------------------------


def test_schedule_ticks_are_recorded_and_follow_start_and_stop(storage: Storage) -> None:
    hourly = ScheduleDefinition(
        "hourly",
        job=TARGET,
        cron_schedule="0 * * * *",
        default_status=DefaultScheduleStatus.STOPPED,
    )
    ticker = ScheduleDefinitionTicker(storage, lambda: {"hourly": hourly}, {"target": TARGET}.get)
    kind = InstigatorKind.SCHEDULE
    assert ticker.run_once(T0) == {}
    assert ticker.run_once(T0 + timedelta(hours=1)) == {}  # stopped by default
    storage.instigators.set_status(kind, "hourly", InstigatorStatus.RUNNING, T0)
    assert ticker.run_once(T0 + timedelta(hours=2)) == {"hourly": 1}
    [tick] = storage.instigators.list_ticks(kind, "hourly")
    assert tick.status is TickStatus.REQUESTED and tick.timestamp == T0 + timedelta(hours=2)
    assert storage.runs.get_run(tick.run_ids[0]).run_type == "scheduled"
    storage.instigators.set_status(kind, "hourly", InstigatorStatus.STOPPED, T0)
    assert ticker.run_once(T0 + timedelta(hours=3)) == {}
    assert len(storage.instigators.list_ticks(kind, "hourly")) == 1


def test_schedule_skips_and_failures_are_ticks_too(storage: Storage) -> None:
    def body(context: Any) -> Any:
        hour = context.scheduled_execution_time.hour
        if hour % 2:
            return SkipReason("odd hour")
        raise RuntimeError("no data")

    odd_even = ScheduleDefinition(
        "odd_even", job=TARGET, cron_schedule="0 * * * *", execution_fn=body,
        default_status=DefaultScheduleStatus.RUNNING,
    )  # fmt: skip
    ticker = ScheduleDefinitionTicker(
        storage, lambda: {"odd_even": odd_even}, {"target": TARGET}.get
    )
    ticker.run_once(T0)
    ticker.run_once(T0 + timedelta(hours=2))
    ticks = storage.instigators.list_ticks(InstigatorKind.SCHEDULE, "odd_even")
    assert [t.status for t in ticks] == [TickStatus.FAILED, TickStatus.SKIPPED, TickStatus.FAILED]
    assert ticks[1].skip_reason == "odd hour" and "RuntimeError: no data" in (ticks[0].error or "")


def test_sensor_threads_never_keep_a_stopped_scheduler_alive() -> None:
    threads = SensorThreads(2)
    release = threading.Event()
    hung = threads.submit(lambda _: release.wait(30), None)
    threads.close()
    ours = [t for t in threading.enumerate() if t.name.startswith("partita-sensor-")]
    assert ours and all(t.daemon for t in ours)  # the interpreter exits without them
    release.set()
    assert hung.result(timeout=30) is True


# --- secrets (h-conn) in ticks --------------------------------------------------------


@pytest.fixture
def api_token(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A secret variable (``PARTITA_VAR_API_TOKEN``); the masker forgets it afterwards."""
    token = "tok-4f9a1c2e7b"
    monkeypatch.setenv("PARTITA_VAR_API_TOKEN", token)
    yield token
    MASKER.clear()


def test_a_secret_a_sensor_read_is_masked_in_its_failed_tick(
    storage: Storage, api_token: str
) -> None:
    @sensor(job=TARGET, minimum_interval_seconds=1)
    def leaky(context: Any) -> Any:
        raise ValueError(f"refused with {Variable.get('api_token')}")

    [failed] = tick_once(daemon_for(storage, leaky), T0)
    [stored] = storage.instigators.list_ticks(SENSOR, "leaky")
    assert failed.error == stored.error == "sensor 'leaky' raised ValueError: refused with ***"


def test_a_secret_a_schedule_read_is_masked_in_its_failed_tick(
    storage: Storage, api_token: str
) -> None:
    def body(context: Any) -> Any:
        raise RuntimeError(f"refused with {Variable.get('api_token')}")

    leaky = ScheduleDefinition(
        "leaky", job=TARGET, cron_schedule="0 * * * *", execution_fn=body,
        default_status=DefaultScheduleStatus.RUNNING,
    )  # fmt: skip
    ScheduleDefinitionTicker(storage, lambda: {"leaky": leaky}, {"target": TARGET}.get).run_once(T0)
    [failed] = storage.instigators.list_ticks(InstigatorKind.SCHEDULE, "leaky")
    assert "refused with ***" in (failed.error or "") and api_token not in (failed.error or "")


def test_two_schedulers_evaluate_a_sensor_without_run_keys_once_per_interval(
    storage: Storage,
) -> None:
    """A sensor that asks for a run at every evaluation (no run key): two schedulers on one
    store make one run per interval, not one each."""
    calls: list[str] = []

    @sensor(job=TARGET, minimum_interval_seconds=30)
    def every_time(context: Any) -> Any:
        calls.append(context.cursor or "")
        context.update_cursor(str(len(calls)))
        return RunRequest()

    first, second = daemon_for(storage, every_time), daemon_for(storage, every_time)
    for step in range(4):
        now = T0 + timedelta(seconds=30 * step)
        tick_once(first, now)
        tick_once(second, now + timedelta(seconds=1))
    assert calls == ["", "1", "2", "3"]  # once per interval, each from the last cursor
    assert len(storage.runs.list_runs("target")) == 4


# --- run tags (schedules' tags=, RunRequest(tags=)) land on the runs --------------------


def test_schedule_and_sensor_tags_land_on_their_runs(storage: Storage) -> None:
    def body(context: Any) -> Any:
        return RunRequest(run_key="k", tags={"source": "request"})

    tagged = ScheduleDefinition(
        "tagged", job=TARGET, cron_schedule="0 * * * *", execution_fn=body,
        default_status=DefaultScheduleStatus.RUNNING, tags={"team": "data"},
    )  # fmt: skip
    ticker = ScheduleDefinitionTicker(storage, lambda: {"tagged": tagged}, {"target": TARGET}.get)
    ticker.run_once(T0)
    assert ticker.run_once(T0 + timedelta(hours=1)) == {"tagged": 1}
    ticks = storage.instigators.list_ticks(InstigatorKind.SCHEDULE, "tagged")
    run_ids = [run_id for tick in ticks for run_id in tick.run_ids]
    assert run_ids
    for run_id in run_ids:  # the schedule's tags, and the request's
        assert storage.runs.get_run(run_id).tags == {"team": "data", "source": "request"}

    @sensor(job=TARGET, minimum_interval_seconds=30)
    def labelled(context: Any) -> Any:
        return RunRequest(run_key="one", tags={"origin": "sensor"})

    tick_once(daemon_for(storage, labelled), T0)
    [tick] = storage.instigators.list_ticks(SENSOR, "labelled")
    assert tick.status is TickStatus.REQUESTED, tick.error
    assert storage.runs.get_run(tick.run_ids[0]).tags == {"origin": "sensor"}
    assert [r.run_id for r in storage.runs.list_runs(tags={"origin": "sensor"})] == tick.run_ids
