"""The steppable driver: ``begin``/``step``/``end``, a given data interval, and resuming a run."""

from __future__ import annotations

from datetime import UTC, datetime

from msgspec.structs import replace

from partita import DAG, PythonOperator, RunState, TaskState
from partita.engine.driver import RunDriver
from partita.executors.in_process import InProcessExecutor
from partita.storage.memory import MemoryStorage
from partita.storage.records import DagRunRecord, WriteBatch

T0 = datetime(2025, 1, 1, tzinfo=UTC)
T1 = datetime(2025, 1, 2, tzinfo=UTC)


def chain_dag(calls: list[str]) -> DAG:
    with DAG("chain") as dag:
        tasks = [
            PythonOperator(task_id=name, python_callable=lambda n=name: calls.append(n))
            for name in ("a", "b", "c")
        ]
        tasks[0] >> tasks[1] >> tasks[2]
    return dag


def queued_run() -> DagRunRecord:
    return DagRunRecord("scheduled__1", "chain", "", RunState.RUNNING, "scheduled", T0, T0, T1)


def test_stepping_a_run_to_its_end_records_it_with_the_given_interval() -> None:
    calls: list[str] = []
    storage = MemoryStorage()
    driver = RunDriver.for_run(chain_dag(calls), InProcessExecutor(), storage, queued_run())
    driver.begin()
    steps = 0
    while not driver.step(timeout=0):
        steps += 1
    result = driver.end()
    assert result.state is RunState.SUCCESS and calls == ["a", "b", "c"]
    run = storage.runs.get_run("scheduled__1")
    assert (run.run_type, run.data_interval_start, run.data_interval_end) == ("scheduled", T0, T1)
    assert run.pid is None  # a scheduler's run is not judged by a pid
    assert steps >= 1


def test_a_resumed_run_keeps_finished_instances_and_reruns_the_lost_one() -> None:
    calls: list[str] = []
    storage = MemoryStorage()
    first = RunDriver.for_run(
        chain_dag(calls), InProcessExecutor(), storage, queued_run(), flush_interval=0
    )
    first.begin()
    while "a" not in calls:
        first.step(timeout=0)
    assert first.recorder is not None
    first.recorder.sync()
    # the driver "dies" with b marked running: nothing more is recorded (its executor goes
    # too; left open, its signal handler's exit ran at garbage collection in any thread)
    first.executor.shutdown()
    b = next(ti for ti in storage.runs.get_task_instances("scheduled__1") if ti.task_id == "b")
    b = replace(b, state=TaskState.RUNNING, try_number=1)
    storage.write(WriteBatch(task_instances=[b]))
    calls.clear()
    run = storage.runs.get_run("scheduled__1")
    second = RunDriver.for_run(chain_dag(calls), InProcessExecutor(), storage, run)
    second.begin(resume=True)
    while not second.step(timeout=0):
        pass
    result = second.end()
    assert result.state is RunState.SUCCESS
    assert calls == ["b", "c"]  # a is not run again
    tries = {ti.task_id: ti.try_number for ti in storage.runs.get_task_instances("scheduled__1")}
    assert tries == {"a": 1, "b": 2, "c": 1}  # the lost attempt of b counts as a try


def test_aborting_a_stepped_run_records_it_failed_and_cancels_the_rest() -> None:
    calls: list[str] = []
    storage = MemoryStorage()
    driver = RunDriver.for_run(chain_dag(calls), InProcessExecutor(), storage, queued_run())
    driver.begin()
    driver.abort(KeyboardInterrupt("stop"))
    driver.abort(KeyboardInterrupt("again"))  # once only
    assert storage.runs.get_run("scheduled__1").state is RunState.FAILED
    states = {ti.task_id: ti.state for ti in storage.runs.get_task_instances("scheduled__1")}
    assert set(states.values()) == {TaskState.CANCELLED}


def branch_dag(calls: list[str]) -> DAG:
    with DAG("chain") as dag:
        choose = PythonOperator(task_id="choose", python_callable=lambda: calls.append("choose"))
        for name in ("left", "right"):
            choose >> PythonOperator(task_id=name, python_callable=lambda n=name: calls.append(n))
    return dag


def test_a_resumed_run_records_the_end_a_worker_reported_that_its_dead_driver_never_did() -> None:
    """A Celery worker wrote a branch's end (its row and ``task_reported`` event); the driver
    died before recording it: the resumed run takes the branch's choice from the report and
    records the end's event once."""
    import msgspec

    from partita.engine.work import TaskOutcome
    from partita.storage.records import EventKind, EventRecord, TaskInstanceRecord

    calls: list[str] = []
    storage = MemoryStorage()
    ended = TaskInstanceRecord(
        "scheduled__1", "choose", try_number=1, state=TaskState.SUCCESS, start_date=T0,
        end_date=T0, hostname="partita-default@elsewhere.1",
    )  # fmt: skip
    outcome = TaskOutcome(
        "choose", -1, 1, TaskState.SUCCESS, T0, T0, "partita-default@elsewhere.1",
        skip_downstream=["right"], followed_branches=["left"],
    )  # fmt: skip
    report = EventRecord(
        "scheduled__1", EventKind.TASK_REPORTED, T0, "choose", -1, 1, msgspec.to_builtins(outcome)
    )
    storage.write(WriteBatch(runs=[queued_run()], task_instances=[ended], events=[report]))
    driver = RunDriver.for_run(branch_dag(calls), InProcessExecutor(), storage, queued_run())
    driver.begin(resume=True)
    while not driver.step(timeout=0):
        pass
    assert driver.end().state is RunState.SUCCESS
    assert calls == ["left"]  # choose is not run again, and its choice holds
    states = {ti.task_id: ti.state for ti in storage.runs.get_task_instances("scheduled__1")}
    assert states == {"choose": TaskState.SUCCESS, "left": TaskState.SUCCESS,
                      "right": TaskState.SKIPPED}  # fmt: skip
    events = storage.events.read_events("scheduled__1", kinds=[EventKind.TASK_STATE])
    chosen = [e.payload for e in events if e.task_id == "choose"]
    assert chosen == [{"state": "success", "duration": 0.0, "skipped_downstream": ["right"],
                       "followed": ["left"]}]  # fmt: skip
