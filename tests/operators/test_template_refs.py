"""Task outputs in a classic operator's template fields, ``render_template``, bash outputs.

As in Airflow: an ``XComArg`` given to an operator's constructor for one of
its ``template_fields`` makes the task depend on the producing task and is
replaced by that task's output before ``execute`` (Airflow's
``example_dynamic_task_mapping_with_no_taskflow_operators``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest

from partita import DAG, BaseOperator, BashOperator, TaskState, task
from partita.definitions.context import Context
from partita.exceptions import DefinitionError


class SumIt(BaseOperator):
    template_fields: ClassVar[Sequence[str]] = ("values",)

    def __init__(self, *, values: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.values = values

    def execute(self, context: Context) -> Any:
        values = self.values
        if values and isinstance(values[0], list):  # a list of lists
            values = [v for part in values for v in part]
        return sum(values)


class AddOne(BaseOperator):
    template_fields: ClassVar[Sequence[str]] = ("value",)

    def __init__(self, *, value: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.value = value

    def execute(self, context: Context) -> Any:
        return self.value + 1


def test_an_xcomarg_in_a_template_field_adds_the_dependency_and_is_read_before_execute() -> None:
    with DAG("no_taskflow") as dag:
        added = AddOne.partial(task_id="add_one").expand(value=[1, 2, 3])
        total = SumIt(task_id="sum_it", values=added.output)
    assert "add_one" in total.upstream_task_ids  # wired by the constructor
    result = dag.test()
    assert result.task_states["sum_it"] is TaskState.SUCCESS, result.error("sum_it")
    assert result.output("sum_it") == 9
    # The task object the DAG holds keeps the reference (a later run reads it again).
    assert not isinstance(total.values, list)


def test_an_xcomarg_inside_a_nested_template_value() -> None:
    with DAG("nested") as dag:

        @task
        def numbers() -> list[int]:
            return [4, 5]

        @task
        def count() -> int:
            return 4

        produced = numbers()
        total = SumIt(task_id="sum_it", values=[produced, [1]])
        env = BashOperator(
            task_id="env", bash_command='echo "count=$COUNT"', env={"COUNT": count()}
        )
    assert set(total.upstream_task_ids) == {"numbers"}
    assert set(env.upstream_task_ids) == {"count"}
    result = dag.test()
    assert result.output("sum_it") == 10
    assert result.output("env") == "count=4"  # a non-string value reaches the env as text


def test_render_template_renders_strings_and_containers_with_the_context() -> None:
    class Greeter(BaseOperator):
        def execute(self, context: Context) -> Any:
            return self.render_template(
                {"who": "{{ params.who }}", "when": ["{{ ds }}", 3]}, context
            )

    with DAG("render", params={"who": "world"}) as dag:
        Greeter(task_id="greet")
    result = dag.test()
    rendered = result.output("greet")
    assert rendered["who"] == "world"
    assert len(rendered["when"][0]) == 10 and rendered["when"][1] == 3

    class WithEnv(BaseOperator):
        def execute(self, context: Context) -> Any:
            return self.render_template("x", context, jinja_env=object())

    with DAG("render_env") as dag2:
        WithEnv(task_id="env")
    assert "jinja_env=...) is not supported" in (dag2.test().error("env") or "")


def test_bash_output_processor_and_multiple_outputs() -> None:
    with DAG("bash_json") as dag:
        stats = BashOperator(
            task_id="stats",
            bash_command='printf \'{"folder": "dags", "count": 3}\\n\'',
            output_processor=json.loads,
            multiple_outputs=True,
        )
        BashOperator(
            task_id="show", bash_command='echo "$N files in $F"',
            env={"N": stats.output["count"], "F": stats.output["folder"]},
        )  # fmt: skip
    result = dag.test()
    assert result.output("stats") == {"folder": "dags", "count": 3}
    assert result.output("show") == "3 files in dags"
    with DAG("bad"), pytest.raises(DefinitionError, match="output_processor must be a function"):
        BashOperator(task_id="b", bash_command="true", output_processor="json")  # type: ignore[arg-type]


def test_a_task_output_as_bash_command() -> None:
    with DAG("bash_from_output") as dag:

        @task
        def command() -> dict[str, Any]:
            return {"command": "echo built by a task", "bad": 7}

        built = command()
        ran = BashOperator(task_id="ran", bash_command=built["command"])
        BashOperator(task_id="bad", bash_command=built["bad"])
    assert set(ran.upstream_task_ids) == {"command"}
    result = dag.test()
    assert result.output("ran") == "built by a task"
    assert "bash_command must be a non-empty string; it came out as 7" in (
        result.error("bad") or ""
    )


def test_task_instance_key_str_in_templates() -> None:
    with DAG("key_str") as dag:
        BashOperator(task_id="show", bash_command="echo {{ task_instance_key_str }}")
    result = dag.test()
    output = result.output("show")
    assert output.startswith("key_str__show__") and output[-8:].isdigit()


def test_a_task_function_may_name_task_instance_key_str() -> None:
    with DAG("key_str_fn") as dag:

        @task
        def show(task_instance_key_str: str) -> str:
            return task_instance_key_str

        show()
    result = dag.test()
    assert result.task_states["show"] is TaskState.SUCCESS, result.error("show")
    assert result.output("show").startswith("key_str_fn__show__")


def test_task_bash_env_may_hold_other_tasks_outputs() -> None:
    with DAG("bash_task_env") as dag:
        stats = BashOperator(
            task_id="stats", bash_command="echo '{\"n\": \"2\"}'", output_processor=json.loads,
            multiple_outputs=True,
        )  # fmt: skip

        @task.bash
        def show() -> str:
            return 'echo "n=$N"'

        shown = show.override(env={"N": stats.output["n"]}, append_env=True)()
    assert set(shown.operator.upstream_task_ids) == {"stats"}
    result = dag.test()
    assert result.task_states["show"] is TaskState.SUCCESS, result.error("show")
    assert result.output("show") == "n=2"
