"""``BashOperator``: exit codes, output, environment, working directory, logs, timeouts."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from partita import DAG, BashOperator, RunResult, TaskState
from partita.exceptions import DefinitionError


def run_bash(command: str, **kwargs: object) -> RunResult:
    with DAG("bash") as dag:
        BashOperator(task_id="sh", bash_command=command, **kwargs)  # type: ignore[arg-type]
    return dag.test()


def test_exit_zero_succeeds_with_the_last_line_as_output() -> None:
    result = run_bash("echo first; echo last")
    assert result.task_states["sh"] is TaskState.SUCCESS
    assert result.output("sh") == "last"


def test_a_non_zero_exit_fails_with_the_code_in_the_error() -> None:
    result = run_bash("echo about to fail; exit 3")
    assert result.task_states["sh"] is TaskState.FAILED
    error = result.error("sh")
    assert error is not None
    assert "BashCommandError" in error
    assert "exited with code 3" in error


def test_exit_99_skips() -> None:
    result = run_bash("exit 99")
    assert result.task_states["sh"] is TaskState.SKIPPED
    assert result.error("sh") is None


def test_skip_codes_can_be_changed_or_turned_off() -> None:
    assert run_bash("exit 4", skip_on_exit_code=[4, 5]).task_states["sh"] is TaskState.SKIPPED
    assert run_bash("exit 99", skip_on_exit_code=None).task_states["sh"] is TaskState.FAILED


def test_stdout_and_stderr_lines_go_to_the_task_log() -> None:
    result = run_bash("echo to-stdout; echo to-stderr >&2")
    log = result.logs("sh")
    assert "to-stdout" in log
    assert "to-stderr" in log
    assert "exited with return code 0" in log


ECHO_VARS = 'echo "${ONLY_MINE:-none}:${PARTITA_TEST_OUTER:-none}"'


def test_env_replaces_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTITA_TEST_OUTER", "outer")
    assert run_bash(ECHO_VARS, env={"ONLY_MINE": "mine"}).output("sh") == "mine:none"


def test_append_env_adds_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTITA_TEST_OUTER", "outer")
    result = run_bash(ECHO_VARS, env={"ONLY_MINE": "mine"}, append_env=True)
    assert result.output("sh") == "mine:outer"


def test_without_env_the_process_environment_is_inherited(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARTITA_TEST_OUTER", "outer")
    assert run_bash(ECHO_VARS).output("sh") == "none:outer"


def test_the_command_sees_the_run_in_its_environment() -> None:
    variables = ["DAG_ID", "TASK_ID", "TRY_NUMBER", "RUN_ID"]
    result = run_bash("echo " + " ".join(f"$PARTITA_CTX_{name}" for name in variables))
    assert result.output("sh") == f"bash sh 1 {result.run_id}"


def test_cwd_is_where_the_command_runs(tmp_path: Path) -> None:
    (tmp_path / "marker.txt").write_text("here")
    result = run_bash("cat marker.txt; echo; pwd", cwd=str(tmp_path))
    assert result.task_states["sh"] is TaskState.SUCCESS
    assert Path(result.output("sh")).resolve() == tmp_path.resolve()
    assert "here" in result.logs("sh")


def test_a_missing_cwd_fails_clearly(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    result = run_bash("true", cwd=str(missing))
    assert result.task_states["sh"] is TaskState.FAILED
    error = result.error("sh")
    assert error is not None
    assert f"cwd {str(missing)!r} of task 'sh' is not a directory" in error


def test_an_empty_command_is_rejected_when_defined() -> None:
    with DAG("empty_bash"), pytest.raises(DefinitionError, match="bash_command must be"):
        BashOperator(task_id="sh", bash_command="  ")


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_timeout_kills_the_command_and_everything_it_started() -> None:
    command = 'sleep 30 & echo "child $!"; echo "shell $$"; wait'
    started = time.monotonic()
    result = run_bash(command, execution_timeout=0.5)
    elapsed = time.monotonic() - started
    assert result.task_states["sh"] is TaskState.FAILED
    error = result.error("sh")
    assert error is not None and "TaskTimeoutError" in error
    log = result.logs("sh")
    pids = [int(pid) for pid in re.findall(r"(?:child|shell) (\d+)", log)]
    assert len(pids) == 2, log
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(_alive(pid) for pid in pids), f"still running: {pids}"
    assert elapsed < 25  # far from the 30 s the command asked for
    assert os.getpid() not in pids
