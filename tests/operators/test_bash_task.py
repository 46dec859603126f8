"""``@task.bash``: the function's return value is the bash command; its last line the output."""

from __future__ import annotations

from pathlib import Path

import pytest

from partita import DAG, RunState, TaskState, task


def test_task_bash_runs_the_returned_command_with_upstream_values(tmp_path: Path) -> None:
    @task
    def name() -> str:
        return "world"

    @task.bash(cwd=str(tmp_path), env={"GREETING": "hello"})
    def greet(who: str) -> str:
        return f'echo "$GREETING {who}" > out.txt; pwd; echo "$GREETING {who}"'

    with DAG(dag_id="bash_task", schedule=None) as dag:
        greet(name())
    result = dag.test(verbose=False)
    assert result.state is RunState.SUCCESS
    assert result.output("greet") == "hello world"
    assert (tmp_path / "out.txt").read_text() == "hello world\n"
    assert str(tmp_path) in result.logs("greet")


def test_task_bash_skips_on_99_and_fails_on_other_codes_or_no_command() -> None:
    @task.bash
    def skip() -> str:
        return "exit 99"

    @task.bash
    def fail() -> str:
        return "exit 3"

    @task.bash
    def nothing() -> None:
        return None

    with DAG(dag_id="bash_codes", schedule=None) as dag:
        skip()
        fail()
        nothing()
    result = dag.test(verbose=False)
    assert result.task_states == {
        "skip": TaskState.SKIPPED,
        "fail": TaskState.FAILED,
        "nothing": TaskState.FAILED,
    }
    assert "must return the bash command as a non-empty string" in result.logs("nothing")
    assert "exited with code 3" in result.logs("fail")


def test_task_bash_refuses_unknown_arguments() -> None:
    @task.bash(no_such_option=1)
    def cmd() -> str:
        return "true"

    with DAG(dag_id="bash_bad", schedule=None), pytest.raises(Exception, match="no_such_option"):
        cmd()
