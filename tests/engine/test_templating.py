"""Jinja2 rendering of template fields, just before execute (``engine/templating.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import jinja2.sandbox
import pytest

from partita import (
    DAG,
    BaseOperator,
    BashOperator,
    Context,
    Param,
    PythonOperator,
    TaskState,
    task,
)
from partita.engine.templating import TemplateRenderError, render_task

S, F = TaskState.SUCCESS, TaskState.FAILED
DAY = datetime(2024, 3, 9)


class Query(BaseOperator):
    """A user-written operator with its own template fields and a file extension."""

    template_fields: ClassVar[Sequence[str]] = ("sql", "options")
    template_ext: ClassVar[Sequence[str]] = (".sql",)

    def __init__(self, *, sql: str, options: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.sql = sql
        self.options = options or {}

    def execute(self, context: Context) -> Any:
        return {"sql": self.sql, "options": self.options}


def test_bash_command_and_env_render_the_usual_variables() -> None:
    with DAG("bash_tpl", schedule="@daily", params={"x": "hello"}) as dag:
        BashOperator(
            task_id="show",
            bash_command=(
                "echo {{ ds }} {{ ds_nodash }} {{ data_interval_start }} {{ params.x }} "
                "$WHO {{ macros.ds_add(ds, 7) }} {{ run_id }}"
            ),
            env={"WHO": "{{ task.task_id }}-{{ ti.try_number }}"},
        )
    result = dag.test(logical_date=DAY)
    assert result.task_states == {"show": S}
    assert result.output("show") == (
        f"2024-03-09 20240309 2024-03-09 00:00:00+00:00 hello show-1 2024-03-16 {result.run_id}"
    )


def test_xcom_pull_inside_a_template() -> None:
    with DAG("xcom_tpl") as dag:
        a = PythonOperator(task_id="a", python_callable=lambda: 41)
        b = BashOperator(
            task_id="b", bash_command="echo $(( {{ ti.xcom_pull(task_ids='a') }} + 1 ))"
        )
        a >> b
    assert dag.test().output("b") == "42"


def test_python_operator_op_args_op_kwargs_and_templates_dict() -> None:
    seen: dict[str, Any] = {}

    def record(day: str, *, nested: dict[str, Any], templates_dict: dict[str, Any]) -> None:
        seen.update(day=day, nested=nested, templates_dict=templates_dict)

    with DAG("py_tpl", params={"n": 3}) as dag:
        PythonOperator(
            task_id="p",
            python_callable=record,
            op_args=["{{ ds }}"],
            op_kwargs={"nested": {"list": ["{{ params.n }}", 5], "plain": "no markup"}},
            templates_dict={"when": "{{ ds_nodash }}"},
        )
    dag.test(logical_date=DAY)
    assert seen == {
        "day": "2024-03-09",
        "nested": {"list": ["3", 5], "plain": "no markup"},
        "templates_dict": {"when": "20240309"},
    }


def test_taskflow_arguments_are_templates_too() -> None:
    with DAG("flow_tpl") as dag:

        @task
        def echo(text: str) -> str:
            return text

        echo("day {{ ds }}")
    assert dag.test(logical_date=DAY).output("echo") == "day 2024-03-09"


def test_the_shared_task_object_is_never_changed() -> None:
    with DAG("shared") as dag:
        show = BashOperator(task_id="show", bash_command="echo {{ ds }}", env={"A": "{{ ds }}"})
    first = dag.test(logical_date=DAY)
    second = dag.test(logical_date=datetime(2024, 3, 10))
    assert (first.output("show"), second.output("show")) == ("2024-03-09", "2024-03-10")
    assert show.bash_command == "echo {{ ds }}"
    assert show.env == {"A": "{{ ds }}"}


def test_render_task_returns_the_task_itself_when_nothing_needs_rendering() -> None:
    with DAG("plain") as dag:
        show = BashOperator(task_id="show", bash_command="echo hi", env={"A": "b"})
    context = Context(ds="2024-01-01", dag=dag)
    assert render_task(show, context) is show
    with DAG("marked") as dag2:
        marked = BashOperator(task_id="show", bash_command="echo {{ ds }}")
    rendered = render_task(marked, Context(ds="2024-01-01", dag=dag2))
    assert rendered is not marked
    assert rendered.bash_command == "echo 2024-01-01"  # type: ignore[attr-defined]
    assert marked.bash_command == "echo {{ ds }}"


def test_template_files_from_the_dag_folder_and_template_searchpath(tmp_path: Path) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "greet.sh").write_text("echo 'hello {{ params.who }} on {{ ds }}'\n")
    (tmp_path / "count.sql").write_text("SELECT count(*)\nFROM t\nWHERE day = '{{ ds }}'")
    with DAG(
        "files",
        params={"who": "world"},
        template_searchpath=str(scripts),
        fileloc=str(tmp_path / "files_dag.py"),
    ) as dag:
        BashOperator(task_id="greet", bash_command="greet.sh")
        Query(task_id="count", sql="count.sql", options={"label": "{{ ds_nodash }}"})
    result = dag.test(logical_date=DAY)
    assert result.output("greet") == "hello world on 2024-03-09"
    assert result.output("count") == {
        "sql": "SELECT count(*)\nFROM t\nWHERE day = '2024-03-09'",
        "options": {"label": "20240309"},
    }


def test_python_operator_templates_exts(tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text("select '{{ ds }}'")
    with DAG("py_files", fileloc=str(tmp_path / "d.py")) as dag:
        PythonOperator(
            task_id="p",
            python_callable=lambda templates_dict: templates_dict["query"],
            templates_dict={"query": "q.sql"},
            templates_exts=[".sql"],
        )
    assert dag.test(logical_date=DAY).output("p") == "select '2024-03-09'"


def test_render_template_as_native_obj() -> None:
    seen: dict[str, Any] = {}
    with DAG("native", render_template_as_native_obj=True, params={"n": Param(4)}) as dag:
        PythonOperator(
            task_id="p",
            python_callable=lambda items, n, text: seen.update(items=items, n=n, text=text),
            op_kwargs={"items": "{{ [1, 2, params.n] }}", "n": "{{ params.n + 1 }}",
                       "text": "day {{ ds }}"},
        )  # fmt: skip
    dag.test(logical_date=DAY)
    assert seen == {"items": [1, 2, 4], "n": 5, "text": "day 2024-03-09"}


def test_user_defined_macros_and_filters() -> None:
    with DAG(
        "user_macros",
        user_defined_macros={"env_name": "prod"},
        user_defined_filters={"shout": lambda s: s.upper() + "!"},
    ) as dag:
        BashOperator(
            task_id="b", bash_command="echo {{ env_name | shout }} {{ logical_date | ds_nodash }}"
        )
    assert dag.test(logical_date=DAY).output("b") == "PROD! 20240309"


def test_nested_objects_with_template_fields_are_rendered_on_a_copy() -> None:
    class Target:
        template_fields = ("path",)

        def __init__(self, path: str) -> None:
            self.path = path

    target = Target("/data/{{ ds_nodash }}")
    with DAG("nested") as dag:
        PythonOperator(task_id="p", python_callable=lambda t: t.path, op_args=[target])
    assert dag.test(logical_date=DAY).output("p") == "/data/20240309"
    assert target.path == "/data/{{ ds_nodash }}"


# -- errors ------------------------------------------------------------------------------------


def test_an_undefined_name_fails_the_task_naming_field_template_and_line() -> None:
    with DAG("undefined") as dag:
        BashOperator(task_id="b", bash_command="echo one\necho {{ no_such_thing }}")
    result = dag.test()
    assert result.task_states == {"b": F}
    error = result.error("b") or ""
    assert "TemplateRenderError: DAG 'undefined': task 'b': template field 'bash_command'" in error
    assert "(inline template, line 2: 'echo {{ no_such_thing }}')" in error
    assert "'no_such_thing' is undefined" in error


def test_a_syntax_error_in_a_template_file_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "broken.sh").write_text("echo ok\necho ok\necho {% if %}\n")
    with DAG("syntax", fileloc=str(tmp_path / "d.py")) as dag:
        BashOperator(task_id="b", bash_command="broken.sh")
    error = dag.test().error("b") or ""
    assert "template field 'bash_command' (template file 'broken.sh', line 3" in error
    assert "syntax error" in error


def test_an_error_inside_a_template_file_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "div.sql").write_text("select 1\n-- {{ ds }}\nselect {{ 1 // 0 }}")
    with DAG("zero", fileloc=str(tmp_path / "d.py")) as dag:
        Query(task_id="q", sql="div.sql")
    error = dag.test().error("q") or ""
    assert "template field 'sql' (template file 'div.sql', line 3: 'select {{ 1 // 0 }}')" in error
    assert "ZeroDivisionError" in error


def test_a_missing_template_file_fails_the_task(tmp_path: Path) -> None:
    with DAG("missing", fileloc=str(tmp_path / "d.py")) as dag:
        BashOperator(task_id="b", bash_command="nowhere.sh")
    error = dag.test().error("b") or ""
    assert "template file 'nowhere.sh' was not found" in error
    assert str(tmp_path) in error


def test_an_error_in_a_nested_value_names_its_path() -> None:
    with DAG("nested_error") as dag:
        PythonOperator(
            task_id="p", python_callable=lambda **_: None, op_kwargs={"a": ["x", "{{ nope }}"]}
        )
    error = dag.test().error("p") or ""
    assert "template field \"op_kwargs['a'][1]\"" in error


def test_template_error_is_a_task_failure_that_retries() -> None:
    with DAG("retry_tpl") as dag:
        BashOperator(task_id="b", bash_command="echo {{ nope }}", retries=1, retry_delay=0)
    result = dag.test()
    assert result.task_states == {"b": F}
    assert result.task_instances[0].try_number == 2


def test_a_template_field_the_operator_lacks_is_reported() -> None:
    class Broken(BaseOperator):
        template_fields: ClassVar[Sequence[str]] = ("missing",)

        def execute(self, context: Context) -> None: ...

    with DAG("lacks") as dag:
        Broken(task_id="b")
    error = dag.test().error("b") or ""
    assert "template field 'missing' is listed in template_fields of Broken" in error


def test_template_render_error_carries_its_facts() -> None:
    with DAG("facts") as dag:
        show = BashOperator(task_id="show", bash_command="a\nb {{ x }}")
    with pytest.raises(TemplateRenderError) as info:
        render_task(show, Context(dag=dag))
    assert (info.value.field, info.value.template, info.value.line) == ("bash_command", None, 2)


# -- sandbox -----------------------------------------------------------------------------------

_ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ().__class__.__base__.__subclasses__() }}",
    "{{ params.__class__.__init__.__globals__ }}",
]


@pytest.mark.parametrize("native", [False, True], ids=["string", "native"])
@pytest.mark.parametrize("template", _ESCAPES)
def test_templates_cannot_reach_python_internals(native: bool, template: str) -> None:
    with DAG("escape", render_template_as_native_obj=native) as dag:
        show = BashOperator(task_id="show", bash_command=template)
    with pytest.raises(TemplateRenderError) as info:
        render_task(show, Context(dag=dag, params={}))
    assert isinstance(info.value.__cause__, jinja2.sandbox.SecurityError)
    assert "SecurityError" in str(info.value)


def test_native_sandboxed_rendering_still_returns_native_objects() -> None:
    with DAG("native_objects", render_template_as_native_obj=True) as dag:
        show = PythonOperator(
            task_id="show",
            python_callable=lambda **_: None,
            op_kwargs={"d": "{{ {'a': [1, 2.5, none]} }}", "n": "42", "t": "{{ 1 == 1 }}"},
        )
    rendered = render_task(show, Context(dag=dag))
    assert rendered.op_kwargs == {"d": {"a": [1, 2.5, None]}, "n": 42, "t": True}
