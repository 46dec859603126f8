"""Dagster-style schedules: definitions, what a tick may return, and Definitions' checks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from partita import (
    DAG,
    CronTriggerTimetable,
    DefaultScheduleStatus,
    Definitions,
    EmptyOperator,
    RunConfig,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    TimeRestriction,
    build_schedule_context,
    dag,
    define_asset_job,
    schedule,
)
from partita.exceptions import DefinitionError, ScheduleEvaluationError
from partita.loader import load_dags

TICK = datetime(2024, 3, 10, 6, 0, tzinfo=UTC)


def make_dag(dag_id: str = "etl") -> DAG:
    with DAG(dag_id) as built:
        EmptyOperator(task_id="t")
    return built


@pytest.fixture
def etl() -> DAG:
    return make_dag()


# --- ScheduleDefinition ------------------------------------------------------------------


def test_schedule_definition_gives_its_run_config_and_tags(etl: DAG) -> None:
    daily = ScheduleDefinition(
        job=etl, cron_schedule="0 6 * * *", run_config={"tasks": {}}, tags={"team": "data"}
    )
    assert daily.name == "etl_schedule"  # Dagster's default name
    assert daily.job_name == "etl"
    assert daily.default_status is DefaultScheduleStatus.STOPPED
    assert daily.evaluate_tick(build_schedule_context(TICK)) == [
        RunRequest(run_config={"tasks": {}}, tags={"team": "data"})
    ]


def test_run_config_fn_gets_the_context(etl: DAG) -> None:
    def config_for(context: ScheduleEvaluationContext) -> dict[str, Any]:
        assert context.scheduled_execution_time is not None
        return {"day": context.scheduled_execution_time.date().isoformat()}

    daily = ScheduleDefinition(job=etl, cron_schedule="@daily", run_config_fn=config_for)
    [request] = daily.evaluate_tick(build_schedule_context(TICK))  # type: ignore[misc]
    assert request.run_config == {"day": "2024-03-10"}


def test_a_run_config_object_becomes_a_plain_dict(etl: DAG) -> None:
    daily = ScheduleDefinition(
        job=etl, cron_schedule="@daily", run_config=RunConfig(tasks={"t": {"n": 1}})
    )
    assert daily.run_config == {"tasks": {"t": {"config": {"n": 1}}}}


def test_the_timetable_is_a_cron_trigger_timetable_in_the_execution_timezone(etl: DAG) -> None:
    daily = ScheduleDefinition(
        job=etl, cron_schedule="0 9 * * *", execution_timezone="Europe/Berlin"
    )
    assert daily.timetable == CronTriggerTimetable("0 9 * * *", timezone="Europe/Berlin")
    restriction = TimeRestriction(datetime(2024, 7, 1, tzinfo=UTC), None, catchup=True)
    info = daily.timetable.next_dagrun_info(None, restriction)
    assert info is not None
    assert info.logical_date == datetime(2024, 7, 1, 9, tzinfo=ZoneInfo("Europe/Berlin"))


def test_execution_timezone_defaults_to_utc(etl: DAG) -> None:
    assert ScheduleDefinition(job=etl, cron_schedule="@hourly").execution_timezone == "UTC"


def test_should_execute_false_skips_the_tick(etl: DAG) -> None:
    weekdays = ScheduleDefinition(
        job=etl,
        cron_schedule="@daily",
        should_execute=lambda context: context.scheduled_execution_time.weekday() < 5,  # type: ignore[union-attr]
    )
    sunday = build_schedule_context(TICK)  # 2024-03-10 is a Sunday
    result = weekdays.evaluate_tick(sunday)
    assert isinstance(result, SkipReason)
    assert "should_execute" in (result.skip_message or "")
    assert weekdays.evaluate_tick(build_schedule_context(TICK + timedelta(days=1))) == [
        RunRequest()
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cron_schedule": "every day"}, r"schedule 's'.*cron expression 'every day'"),
        ({"cron_schedule": "@daily", "execution_timezone": "Mars/Base"}, r"'Mars/Base'"),
        ({"cron_schedule": "@daily", "default_status": "ON"}, r"default_status"),
        (
            {"cron_schedule": "@daily", "run_config": {}, "run_config_fn": dict},
            r"run_config or run_config_fn",
        ),
    ],
)
def test_bad_definitions_are_refused_naming_the_schedule(
    etl: DAG, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(DefinitionError, match=message):
        ScheduleDefinition(name="s", job=etl, **kwargs)


def test_a_schedule_needs_exactly_one_job(etl: DAG) -> None:
    with pytest.raises(DefinitionError, match="job="):
        ScheduleDefinition(name="s", cron_schedule="@daily")
    with pytest.raises(DefinitionError, match="not both"):
        ScheduleDefinition(name="s", cron_schedule="@daily", job=etl, target=etl)
    assert ScheduleDefinition(cron_schedule="@daily", target="etl").job_name == "etl"
    with pytest.raises(DefinitionError, match="job must be a DAG"):
        ScheduleDefinition(name="s", cron_schedule="@daily", job=42)  # type: ignore[arg-type]


# --- @schedule: every allowed return, normalised -------------------------------------------


def evaluate(function: Any, **options: Any) -> Any:
    made = schedule("0 6 * * *", job="etl", **options)(function)
    return made.evaluate_tick(build_schedule_context(TICK))


def test_a_returned_dict_is_the_run_config() -> None:
    def nightly(context: ScheduleEvaluationContext) -> dict[str, Any]:
        return {"date": context.scheduled_execution_time.isoformat()}  # type: ignore[union-attr]

    assert evaluate(nightly, tags={"k": "v"}) == [
        RunRequest(run_config={"date": TICK.isoformat()}, tags={"k": "v"})
    ]


def test_a_function_without_a_context_parameter_is_called_without_one() -> None:
    assert evaluate(lambda: {"a": 1}) == [RunRequest(run_config={"a": 1})]


def test_a_run_request_a_list_and_a_generator() -> None:
    one = RunRequest(run_key="k1", run_config={"a": 1}, partition_key="2024-03-10")
    assert evaluate(lambda context: one) == [one]
    assert evaluate(lambda context: [one, RunRequest(run_key="k2")]) == [
        one,
        RunRequest(run_key="k2"),
    ]

    def several(context: ScheduleEvaluationContext) -> Iterator[RunRequest]:
        for key in ("a", "b"):
            yield RunRequest(run_key=key)

    assert [r.run_key for r in evaluate(several)] == ["a", "b"]
    assert evaluate(lambda context: []) == []


def test_schedule_tags_are_defaults_of_each_request() -> None:
    request = RunRequest(run_key="k", tags={"owner": "me"})
    [tagged] = evaluate(lambda: request, tags={"owner": "team", "kind": "nightly"})
    assert tagged.tags == {"owner": "me", "kind": "nightly"}


def test_a_skip_reason_returned_or_yielded_alone_skips() -> None:
    assert evaluate(lambda: SkipReason("no data yet")) == SkipReason("no data yet")

    def skipping(context: ScheduleEvaluationContext) -> Iterator[SkipReason]:
        yield SkipReason("holiday")

    assert evaluate(skipping) == SkipReason("holiday")


@pytest.mark.parametrize(
    ("returned", "named"),
    [
        (None, "returned None"),
        ("run please", "returned a str ('run please')"),
        ([RunRequest(), "x"], "gave a str ('x') among its run requests"),
        ([RunRequest(), SkipReason("x")], "gave a SkipReason"),
    ],
)
def test_anything_else_is_refused_saying_what_it_got(returned: Any, named: str) -> None:
    with pytest.raises(ScheduleEvaluationError, match=r"schedule 'f'") as caught:
        evaluate(lambda: returned, name="f")
    assert named in str(caught.value)


def test_an_exception_in_the_function_names_the_schedule() -> None:
    def broken(context: ScheduleEvaluationContext) -> dict[str, Any]:
        raise KeyError("missing")

    with pytest.raises(ScheduleEvaluationError, match=r"schedule 'broken'.*KeyError") as caught:
        evaluate(broken)
    assert isinstance(caught.value.__cause__, KeyError)


def test_decorated_schedule_keeps_its_options_and_can_be_called() -> None:
    @schedule(
        cron_schedule="30 2 * * 1",
        job="etl",
        execution_timezone="America/New_York",
        default_status=DefaultScheduleStatus.RUNNING,
    )
    def weekly(context: ScheduleEvaluationContext) -> dict[str, Any]:
        """Every Monday night."""
        return {"x": 1}

    assert weekly.name == "weekly"
    assert weekly.description == "Every Monday night."
    assert weekly.is_running_by_default
    assert weekly.timetable.summary == "30 2 * * 1"
    assert weekly(build_schedule_context()) == {"x": 1}


def test_build_schedule_context_reads_a_naive_time_as_utc() -> None:
    context = build_schedule_context(datetime(2024, 1, 1, 6), resources={"db": "conn"})
    assert context.scheduled_execution_time == datetime(2024, 1, 1, 6, tzinfo=UTC)
    assert context.resources["db"] == "conn"
    assert build_schedule_context().scheduled_execution_time is None


# --- Definitions ---------------------------------------------------------------------------


def test_definitions_checks_the_job_of_each_schedule(etl: DAG) -> None:
    by_name = ScheduleDefinition(job="etl", cron_schedule="@daily")
    defs = Definitions(dags=[etl], schedules=[by_name])
    assert defs.get_schedule("etl_schedule") is by_name
    with pytest.raises(DefinitionError, match=r"job 'nope'.*it has: etl.*dags=/jobs="):
        Definitions(dags=[etl], schedules=[ScheduleDefinition(job="nope", cron_schedule="@daily")])


def test_a_job_given_as_an_object_joins_the_definitions() -> None:
    @dag
    def reports() -> None:
        EmptyOperator(task_id="t")

    assets_job = define_asset_job("nothing", selection=[])
    defs = Definitions(
        schedules=[
            ScheduleDefinition(job=reports, cron_schedule="@daily"),
            ScheduleDefinition(job=make_dag("plain"), cron_schedule="@hourly"),
        ]
    )
    assert sorted(d.dag_id for d in defs.dags) == ["plain", "reports"]
    assert ScheduleDefinition(job=assets_job, cron_schedule="@daily").job_name == "nothing"


def test_definitions_refuses_duplicate_schedule_names_and_non_schedules(etl: DAG) -> None:
    first = ScheduleDefinition(name="s", job=etl, cron_schedule="@daily")
    second = ScheduleDefinition(name="s", job=etl, cron_schedule="@hourly")
    with pytest.raises(DefinitionError, match="two schedules are called 's'"):
        Definitions(dags=[etl], schedules=[first, second])
    with pytest.raises(DefinitionError, match="ScheduleDefinition"):
        Definitions(dags=[etl], schedules=["0 * * * *"])
    with pytest.raises(DefinitionError, match="two schedules are called 's'"):
        Definitions.merge(
            Definitions(dags=[etl], schedules=[first]),
            Definitions(
                dags=[make_dag("other")],
                schedules=[ScheduleDefinition(name="s", job="other", cron_schedule="@daily")],
            ),
        )


def test_the_loader_exposes_the_schedules_of_a_code_location(tmp_path: Path) -> None:
    (tmp_path / "location.py").write_text(
        "from partita import DAG, Definitions, EmptyOperator, schedule\n"
        "with DAG('etl') as etl:\n"
        "    EmptyOperator(task_id='t')\n"
        "@schedule(cron_schedule='@daily', job=etl)\n"
        "def nightly(context):\n"
        "    return {}\n"
        "defs = Definitions(dags=[etl], schedules=[nightly])\n"
    )
    result = load_dags(tmp_path)
    assert [s.name for s in result.schedules] == ["nightly"]
    assert result.schedules[0].job_name == "etl"
