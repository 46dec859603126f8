"""Task groups: namespaced ids, nesting, groups on either side of ``>>``, @task_group, defaults."""

from __future__ import annotations

import pytest

from partita import DAG, EmptyOperator, TaskGroup, TaskState, task, task_group
from partita.exceptions import DefinitionError

from .test_dependencies import edges


def test_tasks_in_a_group_get_the_group_prefix() -> None:
    with DAG("grouped") as dag, TaskGroup("extract") as group:
        EmptyOperator(task_id="orders")
    assert dag.task_ids == ["extract.orders"]
    task_ = dag.get_task("extract.orders")
    assert task_.label == "orders"
    assert task_.task_group is group
    assert group.group_id == "extract"


def test_nested_groups_prefix_every_level() -> None:
    with DAG("nested") as dag, TaskGroup("outer"), TaskGroup("inner") as inner:
        EmptyOperator(task_id="leaf")
    assert dag.task_ids == ["outer.inner.leaf"]
    assert inner.group_id == "outer.inner"


def test_prefix_group_id_false_keeps_the_bare_task_id() -> None:
    with DAG("no_prefix") as dag, TaskGroup("g", prefix_group_id=False):
        EmptyOperator(task_id="plain")
    assert dag.task_ids == ["plain"]


def test_group_downstream_binds_to_its_leaves_and_upstream_to_its_roots() -> None:
    with DAG("group_edges") as dag:
        start = EmptyOperator(task_id="start")
        with TaskGroup("g") as group:
            r1 = EmptyOperator(task_id="r1")
            r2 = EmptyOperator(task_id="r2")
            mid = EmptyOperator(task_id="mid")
            leaf = EmptyOperator(task_id="leaf")
            [r1, r2] >> mid >> leaf
        end = EmptyOperator(task_id="end")
        start >> group >> end
    assert edges(dag) == {
        ("g.r1", "g.mid"), ("g.r2", "g.mid"), ("g.mid", "g.leaf"),
        ("start", "g.r1"), ("start", "g.r2"),  # task >> group: the group's roots
        ("g.leaf", "end"),  # group >> task: the group's leaves
    }  # fmt: skip


def test_group_to_group() -> None:
    with DAG("group_to_group") as dag:
        with TaskGroup("a") as a:
            EmptyOperator(task_id="x")
            EmptyOperator(task_id="y")
        with TaskGroup("b") as b:
            EmptyOperator(task_id="z")
        a >> b
    assert edges(dag) == {("a.x", "b.z"), ("a.y", "b.z")}


def test_an_empty_group_cannot_be_linked() -> None:
    with DAG("empty_group"):
        start = EmptyOperator(task_id="start")
        with TaskGroup("nothing") as empty:
            pass
        with pytest.raises(DefinitionError, match="task group 'nothing' has no tasks"):
            start >> empty


def test_task_group_decorator_called_twice_gives_name_and_name__1() -> None:
    @task_group
    def clean() -> None:
        EmptyOperator(task_id="dedupe")

    with DAG("twice") as dag:
        first = clean()
        second = clean()
    assert isinstance(first, TaskGroup)
    assert (first.group_id, second.group_id) == ("clean", "clean__1")
    assert dag.task_ids == ["clean.dedupe", "clean__1.dedupe"]


def test_task_group_decorator_returns_the_returned_task_output_for_edges() -> None:
    @task
    def load(value: int) -> int:
        return value + 1

    @task_group
    def section(value: int) -> object:
        @task
        def double(v: int) -> int:
            return v * 2

        return load(double(value))

    with DAG("group_returns") as dag:
        out = section(20)
        after = EmptyOperator(task_id="after")
        out >> after
    assert edges(dag) == {("section.double", "section.load"), ("section.load", "after")}
    result = dag.test()
    assert result.output("section.load") == 41
    assert result.task_states["after"] is TaskState.SUCCESS


def test_default_args_of_a_group_apply_to_its_tasks_and_nested_groups() -> None:
    with DAG("group_defaults", default_args={"retries": 1, "owner": "dag"}) as dag:
        with TaskGroup("g", default_args={"retries": 4}):
            EmptyOperator(task_id="in_group")
            EmptyOperator(task_id="explicit", retries=0)
            with TaskGroup("inner", default_args={"owner": "inner"}):
                EmptyOperator(task_id="deep")
        EmptyOperator(task_id="outside")
    assert dag.get_task("g.in_group").retries == 4
    assert dag.get_task("g.in_group").owner == "dag"
    assert dag.get_task("g.explicit").retries == 0
    assert dag.get_task("g.inner.deep").retries == 4
    assert dag.get_task("g.inner.deep").owner == "inner"
    assert dag.get_task("outside").retries == 1


def test_task_group_decorator_accepts_group_options() -> None:
    @task_group(group_id="custom", default_args={"retries": 2})
    def section() -> None:
        EmptyOperator(task_id="t")

    with DAG("decorator_options") as dag:
        section()
    assert dag.get_task("custom.t").retries == 2


def test_a_task_group_needs_an_id() -> None:
    with DAG("no_group_id"), pytest.raises(DefinitionError, match="non-empty group_id"):
        TaskGroup("")
