"""``BaseSensorOperator``: the poke loop, both modes, timeout, soft_fail and backoff.

The runs are real (``dag.test()`` or the driver on a SQLite store); the
sensors' conditions are counters or flags, so every wait is a few tenths of
a second and no assertion depends on how fast the machine is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from partita import (
    DAG,
    BaseSensorOperator,
    PokeReturnValue,
    PythonOperator,
    RunState,
    TaskState,
    task,
)
from partita.definitions.context import Context
from partita.exceptions import DefinitionError, FailTask
from partita.storage.records import EventKind
from partita.storage.sql import SqlStorage
from partita.testing import run_task

START = datetime(2024, 1, 1, tzinfo=UTC)


class CountingSensor(BaseSensorOperator):
    """Done on its ``done_at``-th poke (never, with None); counts its pokes."""

    def __init__(self, *, done_at: int | None, value: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.done_at = done_at
        self.value = value
        self.pokes = 0

    def poke(self, context: Context) -> bool | PokeReturnValue:
        self.pokes += 1
        done = self.done_at is not None and self.pokes >= self.done_at
        return PokeReturnValue(done, self.value) if self.value is not None else done


def sensor_dag(**sensor_args: Any) -> tuple[DAG, CountingSensor]:
    with DAG("sensing", schedule=None, start_date=START) as dag:
        sensor = CountingSensor(task_id="wait", **sensor_args)
        sensor >> PythonOperator(task_id="after", python_callable=lambda: "ran")
    return dag, sensor


def task_events(result: Any, task_id: str) -> list[tuple[int, str]]:
    events = result._storage.events.read_events(
        result.run_id, task_id=task_id, kinds=[EventKind.TASK_STATE]
    )
    return [(e.try_number, e.payload["state"]) for e in events]


# --- poke mode ---------------------------------------------------------------------------


def test_poke_mode_pokes_in_one_try_until_done_and_returns_the_poke_value() -> None:
    dag, sensor = sensor_dag(done_at=3, value={"rows": 7}, poke_interval=0.05)
    result = dag.test(verbose=False)
    assert result.state is RunState.SUCCESS and sensor.pokes == 3
    assert result.output("wait") == {"rows": 7}
    assert task_events(result, "wait") == [(1, "running"), (1, "success")]  # no reschedule
    assert "condition met on poke 3" in result.logs("wait")


def test_a_sensor_that_is_done_with_a_bool_stores_no_output() -> None:
    dag, _ = sensor_dag(done_at=1, poke_interval=0)
    result = dag.test(verbose=False)
    assert result.state is RunState.SUCCESS
    assert result.output("wait") is None


def test_poke_mode_timeout_fails_without_retrying_and_fails_downstream() -> None:
    dag, sensor = sensor_dag(done_at=None, poke_interval=0.05, timeout=0.2, retries=3)
    result = dag.test(verbose=False)
    assert result.state is RunState.FAILED
    assert result.task_states == {"wait": TaskState.FAILED, "after": TaskState.UPSTREAM_FAILED}
    assert [s for _, s in task_events(result, "wait")] == ["running", "failed"]  # no retry
    error = result.error("wait") or ""
    assert "SensorTimeout" in error and "sensor 'wait' timed out" in error
    assert "soft_fail=True" in error
    assert sensor.pokes >= 2


def test_soft_fail_skips_the_sensor_and_its_downstream_on_timeout() -> None:
    dag, _ = sensor_dag(done_at=None, poke_interval=0.05, timeout=0.1, soft_fail=True)
    result = dag.test(verbose=False)
    assert result.state is RunState.SUCCESS
    assert result.task_states == {"wait": TaskState.SKIPPED, "after": TaskState.SKIPPED}
    assert "timed out" in result.logs("wait")


def test_soft_fail_does_not_hide_an_error_raised_by_the_poke() -> None:
    class Broken(BaseSensorOperator):
        def poke(self, context: Context) -> bool:
            raise ValueError("cannot reach the bucket")

    with DAG("broken", schedule=None, start_date=START) as dag:
        Broken(task_id="wait", soft_fail=True, poke_interval=0)
    result = dag.test(verbose=False)
    assert result.task_states == {"wait": TaskState.FAILED}
    assert "cannot reach the bucket" in (result.error("wait") or "")


def test_a_fail_task_from_the_poke_fails_at_once_or_skips_with_soft_fail() -> None:
    class GaveUp(BaseSensorOperator):
        def poke(self, context: Context) -> bool:
            raise FailTask("the upstream system says the file will never come")

    for soft, expected in ((False, TaskState.FAILED), (True, TaskState.SKIPPED)):
        with DAG("gave_up", schedule=None, start_date=START) as dag:
            GaveUp(task_id="wait", soft_fail=soft, retries=2, poke_interval=0)
        result = dag.test(verbose=False)
        assert result.task_states == {"wait": expected}
        assert [ti.try_number for ti in result.task_instances] == [1]  # no retry either way
    assert "will never come (soft_fail: skipped instead of failed)" in result.logs("wait")


def test_execution_timeout_in_poke_mode_is_retried_unlike_the_sensor_timeout() -> None:
    dag, _ = sensor_dag(
        done_at=None, poke_interval=0.05, timeout=60, execution_timeout=0.2,
        retries=1, retry_delay=0,
    )  # fmt: skip
    result = dag.test(verbose=False)
    assert result.task_states["wait"] is TaskState.FAILED
    states = task_events(result, "wait")
    assert (1, "up_for_retry") in states and (2, "failed") in states
    assert "TaskTimeoutError" in (result.error("wait") or "")


# --- reschedule mode -----------------------------------------------------------------------


def test_reschedule_mode_gives_the_slot_back_between_pokes_in_the_same_try() -> None:
    dag, sensor = sensor_dag(done_at=3, value="ready", poke_interval=0.05, mode="reschedule")
    result = dag.test(verbose=False)
    assert result.state is RunState.SUCCESS and sensor.pokes == 3
    assert result.output("wait") == "ready"
    assert task_events(result, "wait") == [
        (1, "running"), (1, "up_for_reschedule"),
        (1, "running"), (1, "up_for_reschedule"),
        (1, "running"), (1, "success"),
    ]  # fmt: skip
    (wait,) = [ti for ti in result.task_instances if ti.task_id == "wait"]
    assert wait.try_number == 1


def test_reschedule_waits_until_the_reschedule_date() -> None:
    dag, _ = sensor_dag(done_at=2, poke_interval=0.3, mode="reschedule")
    result = dag.test(verbose=False)
    events = result._storage.events.read_events(
        result.run_id, task_id="wait", kinds=[EventKind.TASK_STATE]
    )
    starts = [e.timestamp for e in events if e.payload["state"] == "running"]
    assert len(starts) == 2 and starts[1] - starts[0] >= timedelta(seconds=0.3)


def test_reschedule_mode_timeout_counts_from_the_first_poke_and_fails() -> None:
    dag, sensor = sensor_dag(done_at=None, poke_interval=0.05, timeout=0.3, mode="reschedule")
    result = dag.test(verbose=False)
    assert result.task_states == {"wait": TaskState.FAILED, "after": TaskState.UPSTREAM_FAILED}
    assert sensor.pokes >= 3  # several pokes, one try: the timeout spans them
    assert {t for t, _ in task_events(result, "wait")} == {1}
    assert "timed out" in (result.error("wait") or "")


def test_reschedule_mode_timeout_with_soft_fail_skips() -> None:
    dag, _ = sensor_dag(
        done_at=None, poke_interval=0.05, timeout=0.2, mode="reschedule", soft_fail=True
    )
    result = dag.test(verbose=False)
    assert result.state is RunState.SUCCESS
    assert result.task_states == {"wait": TaskState.SKIPPED, "after": TaskState.SKIPPED}


def test_the_log_of_a_rescheduled_try_goes_on_across_its_pokes(tmp_path: Path) -> None:
    class Talkative(BaseSensorOperator):
        def poke(self, context: Context) -> bool:
            ti = context["ti"]
            print(f"poke after {ti.task_reschedule_count} reschedules")
            return bool(ti.task_reschedule_count == 2)

    with DAG("talk", schedule=None, start_date=START) as dag:
        Talkative(task_id="wait", poke_interval=0.01, mode="reschedule")
    with SqlStorage(f"sqlite:///{tmp_path / 'p.db'}", tmp_path / "out") as storage:
        result = dag.test(storage=storage, verbose=False)
        assert result.state is RunState.SUCCESS
        lines = storage.logs.read_lines(result.run_id, "wait", -1, 1)
        assert [line.seq for line in lines] == list(range(len(lines)))  # one numbering
        pokes = [line.message for line in lines if line.message.startswith("poke after")]
        assert pokes == [f"poke after {n} reschedules" for n in range(3)]
        assert storage.logs.log_tries(result.run_id, "wait") == [1]


def test_task_sensor_decorator_in_reschedule_mode_passes_its_value_on() -> None:
    polls: list[int] = []

    with DAG("decorated", schedule=None, start_date=START) as dag:

        @task.sensor(poke_interval=0.02, mode="reschedule", timeout=30)
        def files_ready(expected: int) -> PokeReturnValue:
            polls.append(1)
            return PokeReturnValue(len(polls) >= expected, xcom_value=["a.csv", "b.csv"])

        @task
        def load(files: list[str]) -> int:
            return len(files)

        load(files_ready(2))
    result = dag.test(verbose=False)
    assert result.state is RunState.SUCCESS and len(polls) == 2
    assert result.output("load") == 2
    assert result.output("files_ready") == ["a.csv", "b.csv"]


def test_run_task_shows_a_reschedule_sensor_up_for_reschedule() -> None:
    _, sensor = sensor_dag(done_at=None, poke_interval=5, mode="reschedule")
    outcome = run_task(sensor)
    assert outcome.state is TaskState.UP_FOR_RESCHEDULE


# --- backoff and bad arguments ---------------------------------------------------------------


class FakeTi:
    dag_id, run_id, map_index, try_number = "d", "r", -1, 1


def test_exponential_backoff_doubles_with_jitter_and_stops_at_max_wait() -> None:
    _, sensor = sensor_dag(done_at=None, poke_interval=1, exponential_backoff=True, max_wait=20)
    context = Context(ti=FakeTi())
    waits = [sensor.next_poke_interval(context, n) for n in range(1, 8)]
    for n, wait in enumerate(waits[:4], start=1):
        assert 2 ** (n - 1) * 0.5 <= wait < 2 ** (n - 1)
    assert waits[-1] == 20 and max(waits) == 20
    assert waits == [sensor.next_poke_interval(context, n) for n in range(1, 8)]  # stable
    _, plain = sensor_dag(done_at=None, poke_interval=3)
    assert plain.next_poke_interval(context, 5) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"mode": "sleep"}, "mode must be 'poke'"),
        ({"poke_interval": -1}, "poke_interval must be a timedelta or seconds >= 0"),
        ({"timeout": "soon"}, "timeout must be a timedelta or seconds >= 0"),
        ({"max_wait": -5}, "max_wait must be a timedelta or seconds >= 0"),
        ({"poke_every": 5}, "unknown argument(s) poke_every"),
    ],
)
def test_bad_sensor_arguments_are_refused_naming_the_task(
    args: dict[str, Any], message: str
) -> None:
    with pytest.raises(DefinitionError) as caught:
        sensor_dag(done_at=1, **args)
    assert message in str(caught.value)
    assert "wait" in str(caught.value)


def test_timedelta_arguments_are_taken_as_seconds() -> None:
    _, sensor = sensor_dag(
        done_at=1, poke_interval=timedelta(minutes=2), timeout=timedelta(hours=1), max_wait=90
    )
    assert (sensor.poke_interval, sensor.timeout, sensor.max_wait) == (120.0, 3600.0, 90.0)
    assert sensor.mode == "poke" and not sensor.reschedule
