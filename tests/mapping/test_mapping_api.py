"""Dynamic task mapping: the authoring API (partial / expand / expand_kwargs / zip / map)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from partita import DAG, BashOperator, PythonOperator, TaskState, task
from partita.definitions.mapping import MappedOperator
from partita.exceptions import DefinitionError


def test_seed_partial_expand_add() -> None:
    with DAG("seed_add") as dag:

        @task
        def add(x: int, y: int) -> int:
            return x + y

        add.partial(y=10).expand(x=[1, 2, 3])

    result = dag.test()
    assert result.success
    assert result.output("add") == [11, 12, 13]
    assert [ti.map_index for ti in result.task_instances if ti.task_id == "add"] == [0, 1, 2]


def test_seed_cross_product_order_and_print_x() -> None:
    seen: list[Any] = []
    with DAG("sample_repeated_mapping") as dag:

        @task
        def add(x: int, y: int) -> int:
            return x + y

        @task
        def print_x(x: list) -> None:  # type: ignore[type-arg]
            seen.append(list(x))
            logging.getLogger("seed").warning("values %s", list(x))

        added_values = add.expand(x=[2, 4, 8], y=[5, 10])
        print_x(added_values)

    result = dag.test()
    assert result.success
    # add(x=2, y=5), add(x=2, y=10), add(x=4, y=5), ... as the seed lists them
    assert seen == [[7, 12, 9, 14, 13, 18]]
    assert "values [7, 12, 9, 14, 13, 18]" in result.logs("print_x")
    assert result.task_states["add"] is TaskState.SUCCESS


def test_seed_bash_partial_expand() -> None:
    with DAG("bash_map") as dag:
        BashOperator.partial(task_id="bash", do_xcom_push=False).expand(
            bash_command=["echo 1", "echo 2"]
        )
    result = dag.test()
    assert result.success
    assert "INFO - 1" in result.logs("bash", map_index=0)
    assert "INFO - 2" in result.logs("bash", map_index=1)
    assert result.output("bash", map_index=0) is None  # do_xcom_push=False from partial


def test_classic_operator_mapping_with_output_and_partial_args() -> None:
    def mult(x: int, factor: int) -> int:
        return x * factor

    with DAG("classic") as dag:
        op = PythonOperator.partial(task_id="mult", python_callable=mult).expand(
            op_kwargs=[{"x": 1, "factor": 3}, {"x": 2, "factor": 3}]
        )
    assert isinstance(op, MappedOperator)
    assert dag.test().output("mult") == [3, 6]


def test_expand_kwargs_one_instance_per_dict() -> None:
    with DAG("kwargs") as dag:

        @task
        def join(a: str, b: str) -> str:
            return a + b

        join.expand_kwargs([{"a": "x", "b": "1"}, {"a": "y", "b": "2"}])
    assert dag.test().output("join") == ["x1", "y2"]


def test_zip_and_map_transform_upstream_outputs() -> None:
    with DAG("zipmap") as dag:

        @task
        def letters() -> list[str]:
            return ["a", "b", "c"]

        @task
        def numbers() -> list[int]:
            return [1, 2]

        @task
        def pair(p: tuple[str, int]) -> str:
            return f"{p[0]}{p[1]}"

        @task
        def upper(s: str) -> str:
            return s

        pair.expand(p=letters().zip(numbers()))
        upper.expand(s=letters().map(str.upper))
    result = dag.test()
    assert result.output("pair") == ["a1", "b2"]
    assert result.output("upper") == ["A", "B", "C"]


def test_mapping_over_a_dict_gives_key_value_pairs() -> None:
    with DAG("dictmap") as dag:

        @task
        def show(item: tuple[str, int]) -> str:
            return f"{item[0]}={item[1]}"

        show.expand(item={"a": 1, "b": 2})
    assert dag.test().output("show") == ["a=1", "b=2"]


@pytest.mark.parametrize("name", ["task_id", "retries", "pool", "trigger_rule"])
def test_task_level_arguments_cannot_be_mapped(name: str) -> None:
    with DAG("bad"), pytest.raises(DefinitionError, match=f"{name!r} cannot be mapped"):
        BashOperator.partial(task_id="b").expand(**{name: [1, 2]})


def test_unknown_argument_to_expand_is_an_error() -> None:
    with DAG("bad2"), pytest.raises(DefinitionError, match="no argument 'nope'"):
        BashOperator.partial(task_id="b").expand(nope=[1])


def test_task_function_expand_rejects_unknown_and_task_arguments() -> None:
    @task
    def f(x: int) -> int:
        return x

    with DAG("bad3"):
        with pytest.raises(DefinitionError, match="no parameter 'y'"):
            f.expand(y=[1])
        with pytest.raises(DefinitionError, match="'retries' cannot be mapped"):
            f.expand(retries=[1])


def test_partial_needs_a_task_id() -> None:
    with pytest.raises(DefinitionError, match="needs a task_id"):
        BashOperator.partial(bash_command="x")
