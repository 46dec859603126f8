"""The CLI on mapped tasks and branches: ``add [4]`` rows, instance logs, branch notes."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import Invoke, run_id_of, table_rows

DAG_FILE = """
from partita import DAG, BranchPythonOperator, EmptyOperator, task

with DAG("mapped_and_branch") as dag:
    pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "new")
    pick >> [EmptyOperator(task_id="old"), EmptyOperator(task_id="new")]

    @task
    def add(x):
        if x == 3:
            raise ValueError("three is bad")
        print(f"adding {x}")
        return x + 10

    add.expand(x=[1, 2, 3, 4])
"""


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "mapped_and_branch.py"
    path.write_text(DAG_FILE)
    return path


def test_run_and_show_summarise_a_mapped_task_in_one_row(invoke: Invoke, tmp_path: Path) -> None:
    path = _write(tmp_path)
    ran = invoke("run", str(path), "mapped_and_branch")
    assert ran.exit_code == 1  # add[2] failed, and add is a leaf
    rows = table_rows(ran.stdout)
    assert rows["add [4]"][1] == "failed"
    assert "1 failed, 3 success (not success: [2])" in rows["add [4]"][4]
    assert rows["pick"][4] == "→ new"
    assert rows["old"][4] == "skipped by pick"
    assert "--map-index 2" in ran.stdout

    run_id = run_id_of(ran.stdout)
    shown = invoke("runs", "show", run_id)
    assert shown.exit_code == 0
    assert table_rows(shown.stdout)["add [4]"][1] == "failed"
    assert "add[2] (try 1): ValueError: three is bad" in shown.stdout
    expanded = table_rows(invoke("runs", "show", run_id, "--instances").stdout)
    assert expanded["add[0]"][1] == "success" and expanded["add[2]"][1] == "failed"


def test_logs_of_one_instance(invoke: Invoke, tmp_path: Path) -> None:
    path = _write(tmp_path)
    run_id = run_id_of(invoke("run", str(path), "mapped_and_branch").stdout)
    log = invoke("logs", run_id, "add", "--map-index", "1")
    assert log.exit_code == 0
    assert "adding 2" in log.stdout and "adding 1" not in log.stdout
    missing = invoke("logs", run_id, "add")
    assert missing.exit_code == 2
    assert "its map indexes are: 0, 1, 2, 3" in missing.stderr
