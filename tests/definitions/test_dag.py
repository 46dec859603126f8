"""``DAG`` and ``@dag``: construction, schedules, params, and the errors raised when defined."""

from __future__ import annotations

import itertools
import re
import sys
from datetime import datetime, timedelta
from typing import Any

import pytest

from partita import DAG, EmptyOperator, PartitaError, TaskState, dag, task
from partita.definitions.authoring import collect_dags
from partita.exceptions import CycleError, DefinitionError, DuplicateTaskError


def test_with_dag_collects_its_tasks_in_definition_order() -> None:
    with DAG("etl", description="extract and load", tags=["x"]) as etl:
        a = EmptyOperator(task_id="a")
        b = EmptyOperator(task_id="b")
        a >> b
    assert etl.dag_id == "etl"
    assert etl.description == "extract and load"
    assert etl.task_ids == ["a", "b"]
    assert a.dag is etl
    assert [t.task_id for t in etl.roots] == ["a"]
    assert [t.task_id for t in etl.leaves] == ["b"]
    assert etl.has_task("a") and not etl.has_task("c")


def test_topological_order_puts_each_task_after_its_upstreams() -> None:
    with DAG("topo") as d:
        c = EmptyOperator(task_id="c")
        a = EmptyOperator(task_id="a")
        b = EmptyOperator(task_id="b")
        a >> b >> c
    assert d.topological_order() == ["a", "b", "c"]


def test_get_task_of_an_unknown_id_names_the_known_ones() -> None:
    with DAG("lookup") as d:
        EmptyOperator(task_id="extract")
    with pytest.raises(PartitaError, match="DAG 'lookup' has no task 'load'; its tasks are: ex"):
        d.get_task("load")


# --- schedules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "schedule", [None, "@daily", "@once", "0 * * * *", "*/5 1-3 * * mon", timedelta(hours=2)]
)
def test_valid_schedules_are_kept(schedule: Any) -> None:
    assert DAG("scheduled", schedule=schedule).schedule == schedule


@pytest.mark.parametrize("schedule", ["every hour", "61 * * * *", "@fortnightly"])
def test_a_bad_schedule_string_is_rejected_naming_the_dag(schedule: str) -> None:
    with pytest.raises(DefinitionError) as info:
        DAG("badly_scheduled", schedule=schedule)
    assert "DAG 'badly_scheduled'" in str(info.value)
    assert repr(schedule) in str(info.value)
    assert "cron expression" in str(info.value)


def test_a_schedule_of_the_wrong_type_is_rejected() -> None:
    with pytest.raises(DefinitionError, match="schedule must be None, a cron string"):
        DAG("wrong_type", schedule=5)  # type: ignore[arg-type]


def test_schedule_interval_is_the_old_name_of_schedule() -> None:
    old = DAG("old_style", schedule_interval="0 12 * * * ")
    assert old.schedule == "0 12 * * * "
    with pytest.raises(DefinitionError, match="not both"):
        DAG("both", schedule="@daily", schedule_interval="@hourly")


def test_depends_on_past_on_the_dag_becomes_a_default_arg() -> None:
    with DAG("seed_style", depends_on_past=False, start_date=datetime(2025, 1, 1)) as d:
        EmptyOperator(task_id="t")
    assert d.default_args["depends_on_past"] is False
    assert d.get_task("t").depends_on_past is False


@pytest.mark.parametrize("dag_id", ["", "has space", "a/b", "x" * 251])
def test_bad_dag_ids_are_rejected(dag_id: str) -> None:
    with pytest.raises(DefinitionError, match="dag_id"):
        DAG(dag_id)


# --- errors raised where the DAG is defined ---------------------------------------------------


def test_a_cycle_is_rejected_naming_the_dag_and_the_cycle() -> None:
    with pytest.raises(CycleError) as info, DAG("loop"):
        a = EmptyOperator(task_id="a")
        b = EmptyOperator(task_id="b")
        c = EmptyOperator(task_id="c")
        EmptyOperator(task_id="outside_the_cycle") >> a
        a >> b >> c >> a
    message = str(info.value)
    assert message.startswith("DAG 'loop' has a cycle: ")
    path = re.search(r"has a cycle: (.*?);", message)
    assert path is not None
    names = path.group(1).split(" -> ")
    assert set(names) == {"a", "b", "c"}
    assert names[0] == names[-1]
    # The path reads in the direction of the dependencies: each arrow is an edge.
    real_edges = {("a", "b"), ("b", "c"), ("c", "a")}
    assert set(itertools.pairwise(names)) == real_edges


def test_a_cycle_made_after_the_with_block_is_found_before_a_run() -> None:
    with DAG("late_loop") as d:
        a = EmptyOperator(task_id="a")
        b = EmptyOperator(task_id="b")
        a >> b
    b >> a
    with pytest.raises(CycleError, match="DAG 'late_loop' has a cycle"):
        d.test()


def test_a_duplicate_task_id_is_rejected() -> None:
    with DAG("dupes") as d:
        EmptyOperator(task_id="same")
        with pytest.raises(DuplicateTaskError, match="DAG 'dupes': task id 'same' is used twice"):
            EmptyOperator(task_id="same")
    assert d.task_ids == ["same"]


def test_tasks_of_different_dags_cannot_depend_on_each_other() -> None:
    with DAG("first"):
        a = EmptyOperator(task_id="a")
    with DAG("second"):
        b = EmptyOperator(task_id="b")
    with pytest.raises(DefinitionError) as info:
        a >> b
    message = str(info.value)
    assert "task 'a' of DAG 'first'" in message
    assert "task 'b' of DAG 'second'" in message
    assert not a.downstream_task_ids and not b.upstream_task_ids


def test_a_task_cannot_join_a_second_dag() -> None:
    with DAG("owner"):
        a = EmptyOperator(task_id="a")
    with pytest.raises(DefinitionError, match="already belongs to DAG 'owner'"):
        DAG("thief").add_task(a)


def test_callbacks_of_a_dag_must_be_callable() -> None:
    with pytest.raises(DefinitionError, match="DAG 'cb': on_failure_callback must be callable"):
        DAG("cb", on_failure_callback="page me")  # type: ignore[arg-type]


def test_collect_dags_sees_every_dag_created_inside() -> None:
    with collect_dags() as found:
        DAG("one")
        DAG("two")
    assert [d.dag_id for d in found] == ["one", "two"]


def test_dag_test_needs_no_storage_and_returns_a_result() -> None:
    with DAG("tiny") as d:
        EmptyOperator(task_id="t")
    result = d.test()
    assert result.dag_id == "tiny"
    assert result.task_states == {"t": TaskState.SUCCESS}


# --- @dag ------------------------------------------------------------------------------------


def test_dag_decorator_builds_a_dag_named_after_the_function() -> None:
    @dag(schedule="@daily", tags=["decorated"])
    def nightly_report() -> None:
        """Build the nightly report."""
        EmptyOperator(task_id="build")

    built = nightly_report()
    assert isinstance(built, DAG)
    assert built.dag_id == "nightly_report"
    assert built.schedule == "@daily"
    assert built.tags == ["decorated"]
    assert built.description == "Build the nightly report."
    assert built.task_ids == ["build"]


def test_dag_decorator_without_parentheses_and_with_a_dag_id() -> None:
    @dag
    def plain() -> None:
        EmptyOperator(task_id="t")

    @dag(dag_id="renamed")
    def original() -> None:
        EmptyOperator(task_id="t")

    assert plain().dag_id == "plain"
    assert original().dag_id == "renamed"


def test_dag_decorator_rejects_unknown_arguments() -> None:
    with pytest.raises(DefinitionError, match=r"@dag got unknown argument.*schedul_interval"):
        dag(schedul_interval="@daily")


def test_dag_function_parameters_become_params() -> None:
    @dag(params={"region": "eu"})
    def sized(limit: int = 10, dry_run: bool = False) -> None:
        EmptyOperator(task_id="t")

    assert sized().params == {"region": "eu", "limit": 10, "dry_run": False}
    assert sized(limit=3).params["limit"] == 3


def test_a_dag_parameter_without_a_default_is_an_error() -> None:
    @dag
    def needs_value(limit: int) -> None:
        EmptyOperator(task_id="t")

    with pytest.raises(DefinitionError, match="parameter 'limit' needs a default value"):
        needs_value()


def test_a_task_receiving_a_dag_param_gets_the_run_conf_value() -> None:
    @dag
    def scaled(factor: int = 2) -> None:
        @task
        def multiply(value: int, by: int) -> int:
            return value * by

        multiply(21, factor)

    built = scaled()
    assert built.test().output("multiply") == 42
    assert built.test(run_conf={"factor": 3}).output("multiply") == 63


def test_a_dag_decorator_function_may_be_called_twice_for_two_dags() -> None:
    @dag
    def twin() -> None:
        EmptyOperator(task_id="t")

    first, second = twin(), twin()
    assert first is not second
    assert first.tasks[0] is not second.tasks[0]


def test_a_cycle_error_points_at_the_line_that_closed_the_cycle() -> None:
    with pytest.raises(CycleError) as info, DAG("closing"):
        a = EmptyOperator(task_id="a")
        b = EmptyOperator(task_id="b")
        a >> b
        closing_line = sys._getframe().f_lineno + 1
        b >> a
    assert info.value.site == (__file__, closing_line)
    assert f"(the last was drawn at {__file__}, line {closing_line})" in str(info.value)


def test_edges_drawn_before_a_successful_check_are_forgotten() -> None:
    with DAG("checked") as checked:
        a = EmptyOperator(task_id="a")
        b = EmptyOperator(task_id="b")
        a >> b
    assert checked._unchecked_edges == {}
    closing_line = sys._getframe().f_lineno + 1
    b >> a
    with pytest.raises(CycleError) as info:
        checked.validate()
    assert info.value.site == (__file__, closing_line)


def test_only_edges_that_could_close_a_cycle_are_remembered() -> None:
    with DAG("chain") as chained:
        first, middle, last = (EmptyOperator(task_id=t) for t in ("first", "middle", "last"))
        first >> middle >> last  # each edge ends at a task with no downstream yet
        assert chained._unchecked_edges == {}
        first >> last  # from a task without upstreams: cannot close a cycle either
        assert chained._unchecked_edges == {}
        middle >> EmptyOperator(task_id="side")
        last << middle  # already there; still no cycle
    with pytest.raises(CycleError) as info, DAG("late"):
        a, b, c = (EmptyOperator(task_id=t) for t in ("a", "b", "c"))
        b >> c
        a >> b
        closing_line = sys._getframe().f_lineno + 1
        c >> a  # c has an upstream and a a downstream: remembered, and it closes the cycle
    assert info.value.site == (__file__, closing_line)
