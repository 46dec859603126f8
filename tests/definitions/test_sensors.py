"""Sensors as definitions: calling them in unit tests, what they may return, and bad input."""

from __future__ import annotations

import re
from typing import Any

import pytest

from partita import (
    DAG,
    DefaultSensorStatus,
    Definitions,
    EmptyOperator,
    RunRequest,
    SensorEvaluationError,
    SkipReason,
    asset_sensor,
    build_sensor_context,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)
from partita.exceptions import DefinitionError

with DAG("target", schedule=None) as TARGET:
    EmptyOperator(task_id="noop")


@sensor(job=TARGET, minimum_interval_seconds=10)
def new_files(context: Any) -> Any:
    """Watches a listing kept in the cursor."""
    seen = set((context.cursor or "").split(",")) - {""}
    for name in ["a.csv", "b.csv"]:
        if name not in seen:
            yield RunRequest(run_key=name, run_config={"file": name})
    context.update_cursor("a.csv,b.csv")


def test_a_sensor_is_called_directly_with_a_built_context() -> None:
    context = build_sensor_context(cursor="a.csv")
    requests = list(new_files(context))
    assert [r.run_key for r in requests] == ["b.csv"]
    assert context.cursor == "a.csv,b.csv"


def test_evaluate_gives_requests_and_the_cursor_to_keep() -> None:
    evaluation = new_files.evaluate(build_sensor_context())
    assert [r.run_key for r in evaluation.run_requests] == ["a.csv", "b.csv"]
    assert evaluation.cursor == "a.csv,b.csv"
    assert new_files.job_name == "target" and new_files.minimum_interval_seconds == 10
    assert new_files.description == "Watches a listing kept in the cursor."
    again = new_files.evaluate(build_sensor_context(cursor=evaluation.cursor))
    assert again.run_requests == [] and again.skip_message is None


@pytest.mark.parametrize(
    ("returned", "skip"),
    [(SkipReason("nothing new"), "nothing new"), (None, None), ([], None)],
)
def test_skips(returned: Any, skip: str | None) -> None:
    @sensor(job=TARGET)
    def quiet() -> Any:
        return returned

    evaluation = quiet.evaluate(build_sensor_context())
    assert evaluation.run_requests == [] and evaluation.skip_message == skip


def test_running_by_default_unless_said_or_configured() -> None:
    assert new_files.default_status is None
    assert new_files.is_running_by_default() is True
    assert new_files.is_running_by_default(stopped_unless_said=True) is False

    @sensor(job=TARGET, default_status=DefaultSensorStatus.RUNNING)
    def eager() -> None: ...

    assert eager.is_running_by_default(stopped_unless_said=True) is True


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (42, "sensor 'odd' returned a int (42); return or yield RunRequest"),
        ([RunRequest(), "x"], "returned a str ('x')"),
    ],
)
def test_returning_something_else_says_what_it_got(returned: Any, message: str) -> None:
    @sensor(job=TARGET)
    def odd() -> Any:
        return returned

    with pytest.raises(
        SensorEvaluationError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        odd.evaluate(build_sensor_context())


def test_a_raising_sensor_is_an_evaluation_error_naming_it() -> None:
    @sensor(job=TARGET)
    def broken() -> Any:
        yield RunRequest()
        raise KeyError("path")

    with pytest.raises(SensorEvaluationError, match="sensor 'broken' raised KeyError: 'path'"):
        broken.evaluate(build_sensor_context())


def test_a_request_from_a_sensor_without_a_job_is_refused() -> None:
    @sensor()
    def jobless() -> Any:
        return RunRequest()

    with pytest.raises(SensorEvaluationError, match=re.escape("has no job; give @sensor(job=...)")):
        jobless.evaluate(build_sensor_context())


def test_a_cursor_must_be_a_string() -> None:
    with pytest.raises(SensorEvaluationError, match="a cursor must be a string"):
        build_sensor_context().update_cursor(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: sensor(job=TARGET, minimum_interval_seconds=0), "minimum_interval_seconds"),
        (lambda: sensor(job=TARGET, default_status="on"), "default_status must be"),  # type: ignore[arg-type]
        (lambda: sensor(job=TARGET, target=TARGET), "give one of job=, target="),
        (lambda: run_status_sensor(run_status="running"), "run_status must be a state"),
        (lambda: asset_sensor(asset_key=3, job=TARGET), "asset_key must be an AssetKey"),  # type: ignore[arg-type]
    ],
)
def test_bad_definitions_are_refused(make: Any, message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        make()(lambda: None)


def test_run_status_and_asset_sensors_need_an_instance() -> None:
    @run_failure_sensor
    def on_failure(context: Any) -> None: ...

    with pytest.raises(
        SensorEvaluationError, match=re.escape("build_sensor_context(instance=...)")
    ):
        on_failure.evaluate(build_sensor_context())
    assert on_failure.sensor_type == "run_status" and on_failure.job is None


def test_definitions_add_sensor_jobs_and_refuse_duplicates() -> None:
    defs = Definitions(sensors=[new_files])
    assert [d.dag_id for d in defs.dags] == ["target"]
    assert defs.get_sensor("new_files") is new_files
    with pytest.raises(DefinitionError, match="two sensors are called 'new_files'"):
        Definitions(sensors=[new_files, new_files])

    @sensor(job="unknown_job")
    def by_name() -> None: ...

    with pytest.raises(DefinitionError, match="runs job 'unknown_job', which is not in"):
        Definitions(sensors=[by_name])


def test_a_bare_sensor_decorator_says_how_to_write_it() -> None:
    def watch() -> None: ...

    with pytest.raises(DefinitionError, match=re.escape("write @sensor(job=...) above 'watch'")):
        sensor(watch)  # type: ignore[arg-type]
