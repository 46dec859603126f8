"""Rendered strings keep Airflow's whitespace: Jinja's, as Airflow renders every string.

Airflow passes every string template field through Jinja
(``Templater.render_template``: ``jinja_env.from_string(value)`` then
``"".join`` of the rendered nodes, no strip of its own), so what changes is
what Jinja's lexer changes: line endings become ``\\n`` and, with
``keep_trailing_newline`` off, one trailing line ending is dropped. partita
skips compiling strings without markup but gives the same result.
"""

from __future__ import annotations

import jinja2
import jinja2.sandbox
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partita import DAG, BashOperator, PythonOperator, TaskState
from partita.engine.templating import as_jinja_renders, render_task


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("echo hi\n", "echo hi"),
        ("echo hi\n\n", "echo hi\n"),  # only one trailing newline goes
        ("echo hi\r\n", "echo hi"),
        ("a\r\nb\rc\n", "a\nb\nc"),
        ("  padded  ", "  padded  "),  # spaces are kept
        ("\nleading", "\nleading"),
        ("", ""),
    ],
)
def test_plain_strings_come_out_as_jinja_renders_them(text: str, rendered: str) -> None:
    assert as_jinja_renders(text) == rendered
    assert jinja2.Environment().from_string(text).render() == rendered


_PLAIN = st.text(alphabet=st.sampled_from("ab \t\r\n{}%#"), max_size=30).filter(
    lambda t: not any(m in t for m in ("{{", "{%", "{#"))
)


@settings(max_examples=300, deadline=None, database=None)
@given(text=_PLAIN)
def test_as_jinja_renders_matches_jinja_on_any_string_without_markup(text: str) -> None:
    jinja = jinja2.sandbox.SandboxedEnvironment()
    assert as_jinja_renders(text) == jinja.from_string(text).render()


def test_an_unchanged_string_is_the_same_object() -> None:
    text = "no newline at the end"
    assert as_jinja_renders(text) is text


def test_a_bash_command_ending_with_a_newline_runs_without_it() -> None:
    with DAG("bash_newline") as dag:
        show = BashOperator(task_id="show", bash_command="echo hi\n", env={"A": "x\r\n"})
        PythonOperator(
            task_id="py",
            python_callable=lambda text, other: [text, other],
            op_args=["line\n"],
            op_kwargs={"other": ["kept  ", "crlf\r\n"]},
        )
    rendered = render_task(show, {"dag": dag})
    assert rendered.bash_command == "echo hi"  # type: ignore[attr-defined]
    assert rendered.env == {"A": "x"}  # type: ignore[attr-defined]
    assert show.bash_command == "echo hi\n"  # the DAG's task is unchanged
    result = dag.test()
    assert result.task_states["show"] is TaskState.SUCCESS
    assert result.output("py") == ["line", ["kept  ", "crlf"]]


def test_a_template_with_markup_drops_one_trailing_newline_as_before() -> None:
    with DAG("markup_newline", params={"x": "v"}) as dag:
        PythonOperator(task_id="py", python_callable=lambda s: s, op_args=["{{ params.x }}\n\n"])
    assert dag.test().output("py") == "v\n"
