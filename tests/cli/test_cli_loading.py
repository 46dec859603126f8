"""``dags list`` cannot hang; ``run`` says why a DAG is missing and ignores broken siblings."""

from __future__ import annotations

import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from cli_helpers import Invoke, partita_command, run_id_of, subprocess_env, table_rows

HEADER = "from partita import DAG, EmptyOperator\n"
HANGS = """
import time
while True:
    try:
        time.sleep(1)
    except BaseException:
        pass
"""


def write(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + textwrap.dedent(body))
    return path


def simple_dag(dag_id: str) -> str:
    return f"with DAG({dag_id!r}):\n    EmptyOperator(task_id='a') >> EmptyOperator(task_id='b')\n"


def partita(home: Path, cwd: Path, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = subprocess_env(home)
    env["PARTITA_IMPORT_TIMEOUT"] = str(timeout)
    return subprocess.run(
        partita_command(*args),
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_a_file_that_swallows_every_exception_cannot_hang_dags_list(tmp_path: Path) -> None:
    work = tmp_path / "work"
    write(work / "dags" / "a_first.py", simple_dag("first"))
    write(work / "dags" / "b_hangs.py", HANGS)
    write(work / "dags" / "c_last.py", simple_dag("last"))
    started = time.monotonic()
    result = partita(tmp_path / "home", work, "dags", "list", "dags", timeout=2)
    elapsed = time.monotonic() - started
    assert elapsed < 2 + 1 + 10  # the deadline, the grace before the kill, a loaded machine
    assert result.returncode == 1, result.stderr
    assert sorted(table_rows(result.stdout)) == ["first", "last"]
    assert "1 import error:" in result.stderr
    assert "dags/b_hangs.py: ImportTimeout: importing took longer than 2s" in result.stderr


def test_run_of_a_file_that_fails_to_import_prints_the_error_and_line(
    invoke: Invoke, cli_home: Path
) -> None:
    write(
        Path("dags/broken.py"),
        """
        CONFIG = {"region": "eu"}
        with DAG("etl"):
            EmptyOperator(task_id=CONFIG["bucket"])
        """,
    )
    result = invoke("run", "dags/broken.py", "etl")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "Error: DAG 'etl' was not found: file dags/broken.py failed to import: "
        "KeyError: 'bucket' (line 5)"
    )
    assert lines[1:] == [
        '  File "dags/broken.py", line 5, in <module>',
        '    EmptyOperator(task_id=CONFIG["bucket"])',
    ]


def test_run_of_a_dag_with_a_cycle_shows_the_line_that_closed_it(
    invoke: Invoke, cli_home: Path
) -> None:
    write(
        Path("dags/cycle.py"),
        """
        with DAG("looping"):
            extract = EmptyOperator(task_id="extract")
            load = EmptyOperator(task_id="load")
            extract >> load
            load >> extract
        """,
    )
    result = invoke("run", "dags", "looping")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith(
        "Error: DAG 'looping' was not found: file dags/cycle.py failed to import: "
        "CycleError: DAG 'looping' has a cycle: "
    )
    assert lines[1:] == ['  File "dags/cycle.py", line 7', "    load >> extract"]


@pytest.mark.slow
def test_run_of_a_folder_runs_the_dag_and_warns_about_broken_and_hanging_siblings(
    tmp_path: Path,
) -> None:
    work, home = tmp_path / "work", tmp_path / "home"
    write(work / "dags" / "a_broken.py", "raise ValueError('no config')\n")
    write(work / "dags" / "b_hangs.py", HANGS)
    write(work / "dags" / "c_good.py", simple_dag("wanted"))
    listed = partita(home, work, "dags", "list", "dags", timeout=1)  # fills the index
    assert listed.returncode == 1 and "2 import errors" in listed.stderr
    started = time.monotonic()
    result = partita(home, work, "run", "dags", "wanted", timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert elapsed < 30  # the hanging file's 60 s deadline was not waited for
    assert run_id_of(result.stdout)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert warnings == [
        "Warning: dags/a_broken.py failed to import: ValueError: no config (line 2)",
        "Warning: dags/b_hangs.py failed to import: ImportTimeout: importing took longer than 1s "
        "and did not stop (does the file catch BaseException?), so its importer process was "
        "killed; move slow work (network, large files) out of module level",
    ]


@pytest.mark.slow
def test_assets_list_skips_a_hanging_file_without_importing_it_here(
    invoke: Invoke, cli_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARTITA_IMPORT_TIMEOUT", "1")
    Path("assets").mkdir()
    Path("assets/a_hangs.py").write_text(HANGS)
    Path("assets/b_numbers.py").write_text(
        "from partita import asset\n\n@asset\ndef numbers():\n    return [1, 2]\n"
    )
    started = time.monotonic()
    result = invoke("assets", "list", "assets")
    assert time.monotonic() - started < 15
    assert result.exit_code == 0, result.output
    assert "numbers" in table_rows(result.stdout)
