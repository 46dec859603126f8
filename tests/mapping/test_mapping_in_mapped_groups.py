"""A mapped task inside a mapped task group (Airflow's semantics), and what is refused.

As in Airflow, the mapped task has ``group length x its own length``
instances, laid out group instance by group instance (instance ``j`` is own
element ``j % width`` of group instance ``j // width``); a sibling downstream
reads, for its group instance, the ``width`` outputs of that group instance.
Its own expansion must be known outside the group (Airflow's scheduler cannot
size an expansion over a group argument either). Mapped groups nest the same
way, with the outer group's instances outermost.
"""

from __future__ import annotations

from typing import Any

import pytest

from partita import DAG, BashOperator, TaskState, task, task_group
from partita.exceptions import DefinitionError


@task
def numbers() -> list[int]:
    return [1, 2]


@task
def scale(x: int) -> int:
    return x * 100


@task
def add(base: int, y: int) -> int:
    return base + y


@task
def collect(values: list[int]) -> list[int]:
    return list(values)


@task_group
def per_number(x: int) -> Any:
    return collect(add.partial(base=scale(x)).expand(y=[1, 2, 3]))


def _states(result: Any, task_id: str) -> dict[int, TaskState]:
    return {ti.map_index: ti.state for ti in result.task_instances if ti.task_id == task_id}


def test_the_mapped_task_has_group_times_own_instances_in_group_order() -> None:
    @task
    def everything(values: list[list[int]]) -> list[list[int]]:
        return [list(v) for v in values]

    with DAG("fan_in_group") as dag:
        everything(per_number.expand(x=numbers()))
    result = dag.test()
    assert result.state.value == "success", result.task_states
    assert result.output("per_number.add") == [101, 102, 103, 201, 202, 203]
    assert result.output("per_number.add", map_index=4) == 202
    assert result.output("per_number.collect") == [[101, 102, 103], [201, 202, 203]]
    assert result.output("everything") == [[101, 102, 103], [201, 202, 203]]
    assert sorted(_states(result, "per_number.add")) == [0, 1, 2, 3, 4, 5]


def test_a_failure_stays_in_its_group_instance() -> None:
    @task
    def fragile(base: int, y: int) -> int:
        if base == 200 and y == 2:
            raise ValueError("bad element")
        return base + y

    @task_group
    def grp(x: int) -> Any:
        return collect(fragile.partial(base=scale(x)).expand(y=[1, 2, 3]))

    with DAG("fan_fail") as dag:
        grp.expand(x=numbers())
    result = dag.test()
    assert _states(result, "grp.fragile")[4] is TaskState.FAILED
    assert _states(result, "grp.collect") == {
        0: TaskState.SUCCESS,
        1: TaskState.UPSTREAM_FAILED,
    }
    assert result.output("grp.collect", map_index=0) == [101, 102, 103]


def test_the_own_expansion_may_be_an_output_from_outside_the_group() -> None:
    @task
    def offsets() -> list[int]:
        return [7, 8]

    with DAG("fan_outside") as dag:
        ys = offsets()

        @task_group
        def grp(x: int) -> Any:
            return collect(add.partial(base=x).expand(y=ys))

        grp.expand(x=[10, 20, 30])
    result = dag.test()
    assert result.output("grp.collect") == [[17, 18], [27, 28], [37, 38]]
    assert set(dag.task_dict["grp.add"].upstream_task_ids) == {"offsets"}


def test_a_classic_mapped_operator_inside_a_mapped_group() -> None:
    @task
    def label(x: int) -> str:
        return f"n{x}"

    @task_group
    def grp(x: int) -> None:
        label(x) >> BashOperator.partial(task_id="echo").expand(bash_command=["echo a", "echo b"])

    with DAG("fan_bash") as dag:
        grp.expand(x=[1, 2])
    result = dag.test()
    assert result.output("grp.echo") == ["a", "b", "a", "b"]


def test_an_empty_own_expansion_skips_the_task_and_its_downstream_member() -> None:
    with DAG("fan_empty") as dag:

        @task_group
        def grp(x: int) -> Any:
            return collect(add.partial(base=x).expand(y=[]))

        grp.expand(x=[1, 2])
    result = dag.test()
    assert result.task_states["grp.add"] is TaskState.SKIPPED
    assert result.task_states["grp.collect"] is TaskState.SKIPPED


def test_expanding_over_a_siblings_output_is_refused() -> None:
    @task
    def listing(x: int) -> list[int]:
        return [x, x]

    @task_group
    def grp(x: int) -> None:
        add.partial(base=1).expand(y=listing(x))

    with (
        DAG("fan_sibling"),
        pytest.raises(
            DefinitionError,
            match=r"task 'grp.add': a mapped task inside the mapped task group 'grp' cannot "
            r"expand over the output of 'grp.listing', a task of the same group",
        ),
    ):
        grp.expand(x=[1])


def test_expand_kwargs_over_the_groups_argument_is_refused() -> None:
    @task_group
    def grp(x: dict[str, int]) -> None:
        add.partial(base=1).expand_kwargs([{"y": x}])

    with (
        DAG("fan_kwargs"),
        pytest.raises(DefinitionError, match="cannot expand over the argument 'x' of group 'grp'"),
    ):
        grp.expand(x=[{"y": 1}])


def test_a_mapped_group_inside_a_mapped_group_multiplies_the_instances() -> None:
    @task
    def pair(x: int, y: str) -> str:
        return f"{x}{y}"

    @task
    def joined(values: list[str]) -> str:
        return "+".join(values)

    @task_group
    def inner(y: str, x: int) -> Any:
        return pair(x, y)

    @task_group
    def outer(x: int) -> Any:
        return joined(inner.partial(x=x).expand(y=["a", "b", "c"]))

    with DAG("nested_groups") as dag:
        outer.expand(x=[1, 2])
    result = dag.test()
    assert result.state.value == "success", result.task_states
    # outer instance 0 holds pair instances 0-2, outer instance 1 holds 3-5
    assert result.output("outer.inner.pair") == ["1a", "1b", "1c", "2a", "2b", "2c"]
    assert result.output("outer.joined") == ["1a+1b+1c", "2a+2b+2c"]


def test_tasks_of_a_nested_group_depend_per_instance() -> None:
    @task
    def check(x: int, y: int) -> int:
        if (x, y) == (2, 20):
            raise ValueError("bad pair")
        return x * y

    @task
    def after(value: int) -> int:
        return value

    @task_group
    def inner(y: int, x: int) -> None:
        after(check(x, y))

    @task_group
    def outer(x: int) -> None:
        inner.partial(x=x).expand(y=[10, 20])

    with DAG("nested_failure") as dag:
        outer.expand(x=[1, 2])
    result = dag.test()
    assert _states(result, "outer.inner.after") == {
        0: TaskState.SUCCESS,
        1: TaskState.SUCCESS,
        2: TaskState.SUCCESS,
        3: TaskState.UPSTREAM_FAILED,
    }
    assert result.output("outer.inner.after", map_index=2) == 20


def test_three_levels_outer_group_inner_group_and_a_mapped_task() -> None:
    @task
    def tag(x: int) -> str:
        return f"x{x}"

    @task
    def cell(label: str, y: int, z: int) -> str:
        return f"{label}.y{y}.z{z}"

    @task_group
    def inner(y: int, label: str) -> Any:
        return collect_strings(cell.partial(label=label, y=y).expand(z=[1, 2]))

    @task
    def collect_strings(values: list[str]) -> list[str]:
        return list(values)

    @task_group
    def outer(x: int) -> None:
        inner.partial(label=tag(x)).expand(y=[1, 2])

    with DAG("three_levels") as dag:
        outer.expand(x=[1, 2])
    result = dag.test()
    assert result.state.value == "success", result.task_states
    cells = result.output("outer.inner.cell")
    assert cells[:4] == ["x1.y1.z1", "x1.y1.z2", "x1.y2.z1", "x1.y2.z2"]
    assert cells[4:] == ["x2.y1.z1", "x2.y1.z2", "x2.y2.z1", "x2.y2.z2"]
    assert result.output("outer.inner.collect_strings", map_index=3) == ["x2.y2.z1", "x2.y2.z2"]
    assert set(dag.task_dict["outer.inner.cell"].upstream_task_ids) == {"outer.tag"}


def test_a_nested_group_cannot_expand_over_the_outer_groups_argument() -> None:
    @task_group
    def inner(y: int) -> None:
        add(y, y)

    @task_group
    def outer(x: list[int]) -> None:
        inner.expand(y=x)

    with (
        DAG("nested_over_outer"),
        pytest.raises(
            DefinitionError,
            match=r"@task_group inner: a mapped task group inside the mapped task group "
            r"'outer' cannot expand over the argument 'x' of group 'outer'",
        ),
    ):
        outer.expand(x=[[1, 2]])


def test_a_plain_group_inside_a_mapped_group_still_works() -> None:
    @task_group
    def inner(y: int) -> None:
        add(y, y)

    @task_group
    def outer(x: int) -> None:
        inner(x)

    with DAG("plain_inside") as dag:
        outer.expand(x=[1, 2])
    assert dag.test().output("outer.inner.add") == [2, 4]
