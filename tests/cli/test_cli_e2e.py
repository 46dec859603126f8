"""End to end, as a user runs it: the installed command in a fresh process, the example DAGs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_helpers import EXAMPLES, REPO, partita_command, run_id_of, subprocess_env, table_rows

pytestmark = pytest.mark.slow


def partita(home: Path, *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        partita_command(*args),
        env=subprocess_env(home),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_run_the_seed_dag_then_list_it_and_read_the_date_it_printed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = partita(home, "run", "examples/dags", "example_dag")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    run_id = run_id_of(result.stdout)
    assert (home / "partita.db").is_file()
    assert table_rows(result.stdout)["print_date"][1] == "success"

    listed = partita(home, "runs", "list")
    assert listed.returncode == 0, listed.stderr
    assert table_rows(listed.stdout)[run_id][1:3] == ["example_dag", "success"]

    logs = partita(home, "logs", run_id, "print_date")
    assert logs.returncode == 0, logs.stderr
    messages = [line.split(" - ", 1)[1] for line in logs.stdout.splitlines()]
    assert messages[0] == "running command: date"
    assert messages[-1] == "command exited with return code 0"
    printed = subprocess.run(["date", "+%Y"], capture_output=True, text=True, check=True)
    # What `date` printed is in the log, with this year in it.
    assert re.search(printed.stdout.strip(), messages[1])


def test_the_quick_start_command(tmp_path: Path) -> None:
    """``partita run examples/dags etl`` through the console script, from the repository root."""
    script = shutil.which("partita")
    if script is None:
        pytest.skip("the partita console script is not installed (pip install -e .)")
    home = tmp_path / "home"
    result = subprocess.run(
        [script, "run", "examples/dags", "etl"],
        env=subprocess_env(home),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert len(rows) == 7 and all(cells[1] == "success" for cells in rows.values())
    load = partita(home, "logs", run_id_of(result.stdout), "load")
    assert "total" in load.stdout


def test_a_failing_dag_file_does_not_hide_the_others(tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    shutil.copytree(EXAMPLES, folder)
    (folder / "broken.py").write_text("def broken(:\n")
    home = tmp_path / "home"

    listed = partita(home, "dags", "list", str(folder))
    assert listed.returncode == 1
    assert {"etl", "example_dag", "sales_forecast"} <= set(table_rows(listed.stdout))
    assert "broken.py: SyntaxError: invalid syntax (line 1)" in listed.stderr

    ran = partita(home, "run", str(folder), "sales_forecast")
    assert ran.returncode == 0, ran.stderr
    assert table_rows(ran.stdout)["deploy_model"][1] == "success"
