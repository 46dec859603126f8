"""The driver and rescheduled tries: same try, first poke kept, log numbering, resume.

The sensor records what the engine tells it at each poke (its try, how many
times it was rescheduled, when its try's first poke began), so the tests see
exactly what a sensor's timeout and backoff would count from.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from partita import DAG, BaseSensorOperator, RunState, TaskState
from partita.definitions.context import Context
from partita.engine.driver import RunDriver
from partita.executors.in_process import InProcessExecutor
from partita.storage.memory import MemoryStorage
from partita.storage.records import DagRunRecord, EventKind

T0 = datetime(2025, 1, 1, tzinfo=UTC)


class Recording(BaseSensorOperator):
    """Done once ``ready`` holds something; notes each poke's view of its try."""

    def __init__(self, *, seen: list[tuple[int, int, Any]], ready: list[bool], **kw: Any) -> None:
        super().__init__(**kw)
        self.seen = seen
        self.ready = ready

    def poke(self, context: Context) -> bool:
        ti = context["ti"]
        self.seen.append((ti.try_number, ti.task_reschedule_count, ti.first_reschedule_date))
        print(f"poke {len(self.seen)}")
        return bool(self.ready)


def sensor_dag(seen: list[Any], ready: list[bool]) -> DAG:
    with DAG("sensing", schedule=None, start_date=T0) as dag:
        Recording(task_id="wait", seen=seen, ready=ready, mode="reschedule", poke_interval=0.01)
    return dag


def queued_run() -> DagRunRecord:
    return DagRunRecord("scheduled__1", "sensing", "", RunState.RUNNING, "scheduled", T0, T0, T0)


def first_poke_start(storage: MemoryStorage) -> datetime:
    events = storage.events.read_events("scheduled__1", kinds=[EventKind.TASK_STATE])
    return next(e.timestamp for e in events if e.payload["state"] == "running")


def test_each_poke_sees_the_same_try_its_count_and_its_first_start() -> None:
    seen: list[Any] = []
    ready: list[bool] = []
    storage = MemoryStorage()
    driver = RunDriver.for_run(sensor_dag(seen, ready), InProcessExecutor(), storage, queued_run())
    driver.begin()
    while len(seen) < 3:
        driver.step(timeout=None)
    ready.append(True)
    while not driver.step(timeout=None):
        pass
    assert driver.end().state is RunState.SUCCESS
    first = first_poke_start(storage)
    assert seen[0] == (1, 0, None)
    assert seen[1:] == [(1, n, first) for n in range(1, len(seen))]


def test_a_resumed_run_goes_on_with_the_waiting_try() -> None:
    seen: list[Any] = []
    ready: list[bool] = []
    storage = MemoryStorage()
    first = RunDriver.for_run(
        sensor_dag(seen, ready), InProcessExecutor(), storage, queued_run(), flush_interval=0
    )
    first.begin()
    while len(seen) < 2:
        first.step(timeout=None)
    assert first.recorder is not None
    first.recorder.sync()  # the driver "dies" with the sensor waiting for its next poke
    (ti,) = storage.runs.get_task_instances("scheduled__1")
    assert (ti.state, ti.try_number) == (TaskState.UP_FOR_RESCHEDULE, 1)
    assert ti.retry_at is not None
    lines_before = storage.logs.read_lines("scheduled__1", "wait", -1, 1)
    started = first_poke_start(storage)

    ready.append(True)
    run = storage.runs.get_run("scheduled__1")
    second = RunDriver.for_run(sensor_dag(seen, ready), InProcessExecutor(), storage, run)
    second.begin(resume=True)
    while not second.step(timeout=None):
        pass
    assert second.end().state is RunState.SUCCESS
    assert seen[-1] == (1, 2, started)  # same try, both reschedules counted, first start kept
    (ti,) = storage.runs.get_task_instances("scheduled__1")
    assert (ti.state, ti.try_number) == (TaskState.SUCCESS, 1)
    lines = storage.logs.read_lines("scheduled__1", "wait", -1, 1)
    assert [line.seq for line in lines] == list(range(len(lines)))
    assert len(lines) > len(lines_before)
    assert [line.message for line in lines if line.message.startswith("poke ")] == [
        "poke 1", "poke 2", "poke 3",
    ]  # fmt: skip
