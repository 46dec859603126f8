"""``partita logs``: whole logs, tails, ranges, following a running try, and tracebacks."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import Invoke, partita_command, run_id_of, subprocess_env

from partita.storage.base import Storage

DAG_FILE = """
import os
import time
from pathlib import Path

from partita import DAG, PythonOperator


def count() -> None:
    for i in range(1, 21):
        print(f"line {i}")


def flaky(ti) -> None:
    print(f"try {ti.try_number} starts")
    raise ValueError(f"broken on try {ti.try_number}")


def wait_for_gate() -> None:
    print("before the gate")
    gate = Path(os.environ["CHATTY_GATE"])
    deadline = time.monotonic() + 60
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    print("after the gate")


with DAG("chatty") as chatty:
    PythonOperator(task_id="count", python_callable=count)
    PythonOperator(task_id="flaky", python_callable=flaky, retries=1, retry_delay=0)

with DAG("gated") as gated:
    PythonOperator(task_id="wait", python_callable=wait_for_gate)
"""


@pytest.fixture
def dag_file(tmp_path: Path) -> Path:
    path = tmp_path / "chatty_dags.py"
    path.write_text(DAG_FILE)
    return path


@pytest.fixture
def chatty_run(invoke: Invoke, dag_file: Path) -> str:
    result = invoke("run", str(dag_file), "chatty")
    assert result.exit_code == 1, result.output  # flaky fails twice
    return run_id_of(result.stdout)


def log_messages(output: str) -> list[str]:
    return [line.split(" - ", 1)[1] for line in output.splitlines() if " - " in line]


def test_the_whole_log_tail_and_range(invoke: Invoke, chatty_run: str) -> None:
    whole = invoke("logs", chatty_run, "count")
    assert whole.exit_code == 0, whole.output
    assert log_messages(whole.stdout) == [f"line {i}" for i in range(1, 21)]

    tail = invoke("logs", chatty_run, "count", "--tail", "3")
    assert log_messages(tail.stdout) == ["line 18", "line 19", "line 20"]
    middle = invoke("logs", chatty_run, "count", "--lines", "5:7")
    assert log_messages(middle.stdout) == ["line 5", "line 6", "line 7"]
    first = invoke("logs", chatty_run, "count", "--lines", ":2")
    assert log_messages(first.stdout) == ["line 1", "line 2"]
    rest = invoke("logs", chatty_run, "count", "--lines", "19:")
    assert log_messages(rest.stdout) == ["line 19", "line 20"]


def test_a_failed_try_ends_with_its_full_traceback(invoke: Invoke, chatty_run: str) -> None:
    every = invoke("logs", chatty_run, "flaky")
    assert every.exit_code == 0, every.output
    text = every.stdout
    assert text.index("--- try 1 ---") < text.index("try 1 starts") < text.index("--- try 2 ---")
    for number in (1, 2):
        assert f"--- try {number} failed ---" in text
        assert f"ValueError: broken on try {number}" in text
    assert text.count("Traceback (most recent call last):") == 2
    assert 'raise ValueError(f"broken on try {ti.try_number}")' in text

    first = invoke("logs", chatty_run, "flaky", "--try", "1")
    assert "ValueError: broken on try 1" in first.stdout
    assert "broken on try 2" not in first.stdout
    last = invoke("logs", chatty_run, "flaky", "--tail", "1")
    assert log_messages(last.stdout)[0] == "task failed: ValueError: broken on try 2"
    assert last.stdout.rstrip().endswith("ValueError: broken on try 2")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--lines", "7:5"), "'7:5' is not a line range"),
        (("--lines", "abc"), "'abc' is not a line range"),
        (("--lines", "0:3"), "'0:3' is not a line range"),
        (("--tail", "0"), "--tail"),
        (("--tail", "2", "--lines", "1:2"), "--tail and --lines both choose lines"),
        (("--try", "3"), "has tries 1 to 2, not try 3"),
    ],
)
def test_bad_options_are_one_line_errors(
    invoke: Invoke, chatty_run: str, args: tuple[str, ...], message: str
) -> None:
    result = invoke("logs", chatty_run, "flaky", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def start_gated_run(home: Path, dag_file: Path, gate: Path) -> subprocess.Popen[str]:
    env = subprocess_env(home)
    env["CHATTY_GATE"] = str(gate)
    return subprocess.Popen(
        partita_command("run", str(dag_file), "gated"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def first_line_recorded(open_storage: Callable[[], Storage]) -> Callable[[], str | None]:
    """A probe: the run id once the gated task's first line is in the store."""

    def probe() -> str | None:
        storage = open_storage()
        for run in storage.runs.list_runs("gated"):
            if storage.logs.read_lines(run.run_id, "wait", -1, 1):
                return run.run_id
        return None

    return probe


@pytest.mark.slow
def test_a_running_tasks_lines_are_read_and_followed_from_other_processes(
    cli_home: Path, cli_storage: Callable[[], Storage], dag_file: Path, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    process = start_gated_run(cli_home, dag_file, gate)
    probe = first_line_recorded(cli_storage)
    try:
        wait_for(lambda: probe() is not None, "the first line in the store")
        run_id = probe()
        assert run_id is not None
        assert process.poll() is None and not gate.exists()  # seen before the task ended
        follow = subprocess.Popen(
            partita_command("logs", run_id, "wait", "--follow"),
            env=subprocess_env(cli_home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.0)
        assert follow.poll() is None  # still following the running try
        gate.touch()
        followed, errors = follow.communicate(timeout=60)
        assert follow.returncode == 0, errors
        assert log_messages(followed) == ["before the gate", "after the gate"]
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
    finally:
        gate.touch()
        if process.poll() is None:
            process.kill()
            process.communicate()
    lines = cli_storage().logs.read_lines(run_id, "wait", -1, 1)
    assert [line.message for line in lines] == ["before the gate", "after the gate"]


@pytest.mark.slow
def test_a_killed_tasks_lines_stay_readable(
    cli_home: Path,
    cli_storage: Callable[[], Storage],
    dag_file: Path,
    tmp_path: Path,
    invoke: Invoke,
) -> None:
    process = start_gated_run(cli_home, dag_file, tmp_path / "never")
    probe = first_line_recorded(cli_storage)
    try:
        wait_for(lambda: probe() is not None, "the first line in the store")
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    run_id = probe()
    assert run_id is not None

    result = invoke("logs", run_id, "wait")
    assert result.exit_code == 0, result.output
    assert log_messages(result.stdout) == ["before the gate"]
