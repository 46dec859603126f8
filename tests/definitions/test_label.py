"""``Label`` names the edges it sits on without adding a task; ``partita dags show`` prints it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from partita import DAG, EmptyOperator, Label, TaskState, task


def test_a_label_links_the_tasks_around_it_and_names_each_edge() -> None:
    with DAG("labels") as dag:
        start, other = EmptyOperator(task_id="start"), EmptyOperator(task_id="other")
        left, right = EmptyOperator(task_id="left"), EmptyOperator(task_id="right")
        start >> Label("big") >> [left, right]
        [start, other] >> Label("both") >> EmptyOperator(task_id="end")
        left << Label("ignored: no task before it")
    assert sorted(dag.task_dict) == ["end", "left", "other", "right", "start"]
    assert set(dag.get_task("start").downstream_task_ids) == {"left", "right", "end"}
    assert dag.edge_labels == {
        ("start", "left"): "big",
        ("start", "right"): "big",
        ("start", "end"): "both",
        ("other", "end"): "both",
    }
    assert set(dag.test().task_states.values()) == {TaskState.SUCCESS}


def test_a_branch_through_labels_follows_its_choice() -> None:
    with DAG("branch_labels") as dag:

        @task.branch
        def pick() -> str:
            return "yes"

        choice = pick()
        choice >> Label("chosen") >> EmptyOperator(task_id="yes")
        choice >> Label("not chosen") >> EmptyOperator(task_id="no")
    states = dag.test().task_states
    assert (states["yes"], states["no"]) == (TaskState.SUCCESS, TaskState.SKIPPED)


def test_dags_show_prints_the_labels(tmp_path: Path) -> None:
    dag_file = tmp_path / "labelled.py"
    dag_file.write_text(
        "from partita import DAG, EmptyOperator, Label\n"
        "with DAG('labelled'):\n"
        "    EmptyOperator(task_id='a') >> Label('on error') >> EmptyOperator(task_id='b')\n"
    )
    shown = subprocess.run(
        [sys.executable, "-m", "partita.cli.main", "dags", "show", str(dag_file), "labelled"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PARTITA_HOME": str(tmp_path / "home")},
    )
    assert shown.returncode == 0, shown.stderr
    line = next(line for line in shown.stdout.splitlines() if " b " in f"{line} ")
    assert "«on error» b" in line
