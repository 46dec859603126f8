"""Mapped task groups: one group instance per input element, per-instance edges inside."""

from __future__ import annotations

from typing import Any

import pytest

from partita import DAG, TaskState, task, task_group
from partita.exceptions import DefinitionError


def _states(result: Any) -> dict[tuple[str, int], TaskState]:
    return {(ti.task_id, ti.map_index): ti.state for ti in result.task_instances}


def test_group_expands_over_upstream_output_and_feeds_a_reduce() -> None:
    with DAG("mg") as dag:

        @task
        def numbers() -> list[int]:
            return [1, 2, 3]

        @task
        def add_one(x: int) -> int:
            return x + 1

        @task
        def double(x: int) -> int:
            return x * 2

        @task
        def total(values: Any) -> int:
            return sum(values)

        @task_group
        def pipeline(x: int) -> Any:
            return double(add_one(x))

        total(pipeline.expand(x=numbers()))
    result = dag.test()
    assert result.success
    assert result.output("pipeline.add_one") == [2, 3, 4]
    assert result.output("pipeline.double") == [4, 6, 8]
    assert result.output("total") == 18


def test_inside_a_group_instance_i_depends_only_on_instance_i() -> None:
    with DAG("per_instance") as dag:

        @task
        def check(x: int) -> int:
            if x == 2:
                raise ValueError("two is bad")
            return x

        @task
        def after(x: int) -> int:
            return x * 10

        @task_group
        def grp(x: int) -> Any:
            return after(check(x))

        grp.expand(x=[1, 2, 3])
    result = dag.test()
    states = _states(result)
    assert states[("grp.check", 1)] is TaskState.FAILED
    assert states[("grp.after", 1)] is TaskState.UPSTREAM_FAILED
    assert states[("grp.after", 0)] is TaskState.SUCCESS
    assert states[("grp.after", 2)] is TaskState.SUCCESS
    assert result.output("grp.after", map_index=2) == 30


def test_group_partial_and_expand_kwargs() -> None:
    with DAG("mg2") as dag:

        @task
        def combine(a: int, b: int, c: int) -> int:
            return a * 100 + b * 10 + c

        @task_group
        def fixed(a: int, b: int) -> Any:
            return combine(a, b, 0)

        @task_group
        def by_dict(a: int, b: int) -> Any:
            return combine(a, b, 1)

        fixed.partial(a=9).expand(b=[1, 2])
        by_dict.expand_kwargs([{"a": 1, "b": 2}, {"a": 3, "b": 4}])
    result = dag.test()
    assert result.output("fixed.combine") == [910, 920]
    assert result.output("by_dict.combine") == [121, 341]


def test_empty_group_input_skips_every_task_in_the_group() -> None:
    with DAG("empty_group") as dag:

        @task
        def nothing() -> list[int]:
            return []

        @task
        def step(x: int) -> int:
            return x

        @task_group
        def grp(x: int) -> Any:
            return step.override(task_id="second")(step(x))

        grp.expand(x=nothing())
    result = dag.test()
    assert result.task_states["grp.step"] is TaskState.SKIPPED
    assert result.task_states["grp.second"] is TaskState.SKIPPED


def test_a_mapped_task_inside_a_mapped_group_cannot_expand_over_the_groups_argument() -> None:
    @task
    def inner(x: int) -> int:
        return x

    @task_group
    def grp(x: list[int]) -> None:
        inner.expand(x=x)

    with (
        DAG("nested"),
        pytest.raises(DefinitionError, match="cannot expand over the argument 'x' of group 'grp'"),
    ):
        grp.expand(x=[[1, 2]])


def test_unknown_group_parameter_is_rejected() -> None:
    @task_group
    def grp(x: int) -> None:
        return None

    with DAG("bad_group"), pytest.raises(DefinitionError, match="no parameter 'y'"):
        grp.expand(y=[1])
