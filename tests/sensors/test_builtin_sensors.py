"""The built-in sensors: PythonSensor, FileSensor, TimeDeltaSensor, DateTimeSensor and
ExternalTaskSensor, each in real runs (``dag.test()``; the external one on a shared store)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from partita import (
    DAG,
    DateTimeSensor,
    ExternalTaskSensor,
    FileSensor,
    PythonOperator,
    PythonSensor,
    RunState,
    TaskState,
    TimeDeltaSensor,
)
from partita.definitions.context import Context
from partita.exceptions import DefinitionError
from partita.storage.memory import MemoryStorage
from partita.testing import run_task

START = datetime(2024, 1, 1, tzinfo=UTC)
DAY = datetime(2024, 5, 1, tzinfo=UTC)


def one_sensor(sensor_class: type, **args: Any) -> DAG:
    with DAG("sensing", schedule=None, start_date=START) as dag:
        sensor_class(task_id="wait", **args)
    return dag


# --- PythonSensor ------------------------------------------------------------------------------


def test_python_sensor_pokes_its_callable_with_templated_arguments() -> None:
    seen: list[str] = []

    def arrived(day: str) -> bool:
        seen.append(day)
        return len(seen) == 2

    dag = one_sensor(
        PythonSensor, python_callable=arrived, op_args=["{{ ds }}"], poke_interval=0.01,
        mode="reschedule",
    )  # fmt: skip
    result = dag.test(logical_date=DAY, verbose=False)
    assert result.state is RunState.SUCCESS
    assert seen == ["2024-05-01", "2024-05-01"]


def test_python_sensor_takes_any_truthy_value_as_done() -> None:
    dag = one_sensor(PythonSensor, python_callable=lambda: "/data/file.csv", poke_interval=0)
    result = dag.test(verbose=False)
    assert result.state is RunState.SUCCESS and result.output("wait") is None


# --- FileSensor -----------------------------------------------------------------------------------


def test_file_sensor_waits_for_a_file_written_meanwhile(tmp_path: Path) -> None:
    target = tmp_path / "landing" / "orders.csv"
    dag = one_sensor(FileSensor, filepath=str(target), poke_interval=0.05, timeout=30)
    writer = threading.Timer(0.3, lambda: (target.parent.mkdir(), target.write_text("x")))
    writer.start()
    try:
        result = dag.test(verbose=False)
    finally:
        writer.join()
    assert result.state is RunState.SUCCESS
    assert f"found file {target}" in result.logs("wait")


def test_file_sensor_globs_and_renders_templates(tmp_path: Path) -> None:
    (tmp_path / "2024-05-01").mkdir()
    (tmp_path / "2024-05-01" / "part-0.csv").write_text("x")
    dag = one_sensor(FileSensor, filepath=str(tmp_path / "{{ ds }}" / "*.csv"), poke_interval=0)
    assert dag.test(logical_date=DAY, verbose=False).state is RunState.SUCCESS


def test_file_sensor_recursive_glob_and_directories(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (tmp_path / "empty").mkdir()
    (deep / "done.flag").write_text("")

    def pokes(path: str, recursive: bool = False) -> bool:
        with DAG("files", schedule=None, start_date=START):
            sensor = FileSensor(task_id="f", filepath=path, recursive=recursive)
        return bool(sensor.poke({"log": None}))  # type: ignore[arg-type]

    assert pokes(str(tmp_path / "**" / "done.flag"), recursive=True)
    assert not pokes(str(tmp_path / "**" / "done.flag"))  # ** is one level without recursive
    assert pokes(str(tmp_path / "a"))  # a directory with a file somewhere under it
    assert not pokes(str(tmp_path / "empty"))  # an empty directory is not the data
    assert not pokes(str(tmp_path / "missing.csv"))


def test_file_sensor_times_out_when_nothing_lands(tmp_path: Path) -> None:
    dag = one_sensor(
        FileSensor, filepath=str(tmp_path / "never.csv"), poke_interval=0.05, timeout=0.2,
        mode="reschedule",
    )  # fmt: skip
    result = dag.test(verbose=False)
    assert result.task_states == {"wait": TaskState.FAILED}


def test_a_mapped_file_sensor_reschedules_each_instance_on_its_own(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x")
    with DAG("mapped", schedule=None, start_date=START) as dag:
        FileSensor.partial(
            task_id="wait", mode="reschedule", poke_interval=0.05, timeout=30
        ).expand(filepath=[str(tmp_path / "a.csv"), str(tmp_path / "b.csv")])
    writer = threading.Timer(0.3, (tmp_path / "b.csv").write_text, args=("y",))
    writer.start()
    try:
        result = dag.test(verbose=False)
    finally:
        writer.join()
    assert result.state is RunState.SUCCESS
    events = result._storage.events.read_events(result.run_id, task_id="wait")
    rescheduled = {e.map_index for e in events if e.payload.get("state") == "up_for_reschedule"}
    assert rescheduled == {1}  # a.csv was there at once; only b.csv's instance waited
    assert [(ti.map_index, ti.try_number) for ti in result.task_instances] == [(0, 1), (1, 1)]


def test_file_sensor_refuses_a_connection_id() -> None:
    with pytest.raises(DefinitionError, match="fs_conn_id='my_bucket' names a connection"):
        one_sensor(FileSensor, filepath="x.csv", fs_conn_id="my_bucket")
    with pytest.raises(DefinitionError, match="filepath must be a non-empty path"):
        one_sensor(FileSensor, filepath="")
    one_sensor(FileSensor, filepath="x.csv", fs_conn_id="fs_default")  # the default is fine


# --- TimeDeltaSensor / DateTimeSensor -----------------------------------------------------------


def test_time_delta_sensor_waits_past_the_data_interval_end() -> None:
    past = one_sensor(TimeDeltaSensor, delta=timedelta(hours=1), poke_interval=0)
    assert past.test(logical_date=DAY, verbose=False).state is RunState.SUCCESS
    now = datetime.now(UTC)
    future = one_sensor(TimeDeltaSensor, delta=timedelta(days=1), timeout=0, soft_fail=True)
    result = future.test(logical_date=now, verbose=False)
    assert result.task_states == {"wait": TaskState.SKIPPED}  # a day to go: not yet


def test_date_time_sensor_waits_until_its_target_without_oversleeping() -> None:
    target = datetime.now(UTC) + timedelta(seconds=0.4)
    dag = one_sensor(DateTimeSensor, target_time=target, poke_interval=0.05, timeout=30)
    result = dag.test(verbose=False)
    assert result.state is RunState.SUCCESS
    (wait,) = result.task_instances
    assert wait.end_date is not None and wait.end_date >= target
    later = datetime.now(UTC) + timedelta(seconds=5)
    slow = one_sensor(DateTimeSensor, target_time=later, poke_interval=3600).task_dict["wait"]
    assert 0 < slow.next_poke_interval(Context(), 1) <= 5  # wakes at the target, not an hour on


def test_date_time_sensor_renders_a_template_and_takes_naive_times_as_utc() -> None:
    dag = one_sensor(DateTimeSensor, target_time="{{ data_interval_end }}", poke_interval=0)
    assert dag.test(logical_date=DAY, verbose=False).state is RunState.SUCCESS
    naive = one_sensor(DateTimeSensor, target_time=datetime(2000, 1, 1), poke_interval=0)
    assert naive.test(verbose=False).state is RunState.SUCCESS


def test_date_time_sensor_bad_target_fails_with_the_fix() -> None:
    dag = one_sensor(DateTimeSensor, target_time="next tuesday", poke_interval=0)
    result = dag.test(verbose=False)
    assert "'next tuesday' is not an ISO 8601 date" in (result.error("wait") or "")
    with pytest.raises(DefinitionError, match="target_time must be a datetime or an ISO 8601"):
        one_sensor(DateTimeSensor, target_time=5)
    with pytest.raises(DefinitionError, match="delta must be a timedelta"):
        one_sensor(TimeDeltaSensor, delta=60)


# --- ExternalTaskSensor -------------------------------------------------------------------------


def upstream_dag(fail: bool = False) -> DAG:
    def extract() -> None:
        if fail:
            raise ValueError("source down")

    with DAG("upstream", schedule="@daily", start_date=START) as dag:
        PythonOperator(task_id="extract", python_callable=extract)
        PythonOperator(task_id="other", python_callable=lambda: None)
    return dag


def waiting_dag(**args: Any) -> DAG:
    options: dict[str, Any] = {"poke_interval": 0.02, "timeout": 0.3, "mode": "reschedule"}
    options.update(args)
    with DAG("downstream", schedule="@daily", start_date=START) as dag:
        ExternalTaskSensor(task_id="wait", external_dag_id="upstream", **options)
    return dag


def test_external_task_sensor_sees_the_task_of_the_same_logical_date() -> None:
    storage = MemoryStorage()
    assert upstream_dag().test(logical_date=DAY, storage=storage, verbose=False).success
    ok = waiting_dag(external_task_id="extract").test(
        logical_date=DAY, storage=storage, verbose=False
    )
    assert ok.state is RunState.SUCCESS
    other_day = waiting_dag(external_task_id="extract").test(
        logical_date=DAY + timedelta(days=1), storage=storage, verbose=False
    )
    assert other_day.task_states == {"wait": TaskState.FAILED}  # no run that day: timed out
    assert "timed out" in (other_day.error("wait") or "")


def test_external_task_sensor_whole_run_and_several_tasks() -> None:
    storage = MemoryStorage()
    upstream_dag().test(logical_date=DAY, storage=storage, verbose=False)
    run_level = waiting_dag().test(logical_date=DAY, storage=storage, verbose=False)
    assert run_level.state is RunState.SUCCESS
    both = waiting_dag(external_task_ids=["extract", "other"]).test(
        logical_date=DAY, storage=storage, verbose=False
    )
    assert both.state is RunState.SUCCESS


def test_execution_delta_and_execution_date_fn_choose_the_dates() -> None:
    storage = MemoryStorage()
    upstream_dag().test(logical_date=DAY, storage=storage, verbose=False)
    later = DAY + timedelta(hours=6)
    by_delta = waiting_dag(external_task_id="extract", execution_delta=timedelta(hours=6))
    assert by_delta.test(logical_date=later, storage=storage, verbose=False).success
    seen: list[Any] = []

    def same_day(logical_date: datetime, ds: str) -> list[datetime]:
        seen.append(ds)
        return [logical_date.replace(hour=0)]

    by_fn = waiting_dag(external_task_id="extract", execution_date_fn=same_day)
    assert by_fn.test(logical_date=later, storage=storage, verbose=False).success
    assert seen and seen[0] == "2024-05-01"


def test_failed_states_fail_the_sensor_or_skip_it_with_soft_fail() -> None:
    storage = MemoryStorage()
    assert (
        not upstream_dag(fail=True).test(logical_date=DAY, storage=storage, verbose=False).success
    )
    failing = waiting_dag(
        external_task_id="extract", failed_states=["failed"], timeout=30, retries=2
    )
    result = failing.test(logical_date=DAY, storage=storage, verbose=False)
    assert result.task_states == {"wait": TaskState.FAILED}
    assert [ti.try_number for ti in result.task_instances] == [1]  # failed at once, no retry
    error = result.error("wait") or ""
    assert (
        "in DAG 'upstream', extract at 2024-05-01T00:00:00+00:00 ended in a failed state" in error
    )
    soft = waiting_dag(
        external_task_id="extract", failed_states=["failed"], soft_fail=True, timeout=30
    )
    assert soft.test(logical_date=DAY, storage=storage, verbose=False).task_states == {
        "wait": TaskState.SKIPPED
    }
    skipping = waiting_dag(external_task_id="extract", skipped_states=["failed"], timeout=30)
    skipped = skipping.test(logical_date=DAY, storage=storage, verbose=False)
    assert skipped.task_states == {"wait": TaskState.SKIPPED}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"external_task_id": "a", "external_task_ids": ["b"]}, "not both"),
        (
            {"execution_delta": timedelta(1), "execution_date_fn": lambda d: d},
            "give execution_delta or execution_date_fn, not both",
        ),
        ({"execution_delta": 3600}, "execution_delta must be a timedelta"),
        ({"execution_date_fn": "yesterday"}, "execution_date_fn must be callable"),
        ({"external_task_id": "a", "allowed_states": ["done"]}, "'done', not a state of tasks"),
        ({"allowed_states": ["up_for_retry"]}, "not a state of runs"),
        (
            {"external_task_id": "a", "failed_states": ["success"]},
            "success cannot be allowed and failed",
        ),
    ],
)
def test_external_task_sensor_bad_arguments(args: dict[str, Any], message: str) -> None:
    with pytest.raises(DefinitionError, match=message.replace("(", r"\(")):
        waiting_dag(**args)


def test_execution_date_fn_returning_nonsense_fails_the_poke() -> None:
    storage = MemoryStorage()
    dag = waiting_dag(external_task_id="extract", execution_date_fn=lambda d: "yesterday")
    result = dag.test(logical_date=DAY, storage=storage, verbose=False)
    assert "execution_date_fn returned 'yesterday'" in (result.error("wait") or "")


def test_external_task_sensor_run_alone_says_it_needs_the_store() -> None:
    dag = waiting_dag(external_task_id="extract")
    outcome = run_task(dag.task_dict["wait"])
    assert outcome.state is TaskState.FAILED
    assert "runs without the metadata store" in (outcome.error or "")


def test_external_task_sensor_watches_a_whole_task_group() -> None:
    from partita import EmptyOperator, TaskGroup

    with DAG("grouped", schedule=None) as parent:
        with TaskGroup("load"):
            EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
        EmptyOperator(task_id="outside")

    def waiting(group: str) -> DAG:
        with DAG("waits_for_group", schedule=None) as dag:
            ExternalTaskSensor(
                task_id="wait", external_dag_id="grouped", external_task_group_id=group,
                poke_interval=0.01, timeout=0.3,
            )  # fmt: skip
        return dag

    storage = MemoryStorage()
    assert parent.test(logical_date=DAY, storage=storage, verbose=False).success
    done = waiting("load").test(logical_date=DAY, storage=storage, verbose=False)
    assert done.task_states == {"wait": TaskState.SUCCESS}
    missing = waiting("nope").test(logical_date=DAY, storage=storage, verbose=False)
    assert missing.task_states == {"wait": TaskState.FAILED}  # no such group: timed out
    assert "task group 'nope'" in missing.logs("wait")
    with DAG("bad"), pytest.raises(DefinitionError, match="external_task_group_id must be"):
        ExternalTaskSensor(
            task_id="w", external_dag_id="x", external_task_id="t", external_task_group_id="g"
        )
