"""``TriggerDagRunOperator`` through a real ``partita scheduler`` subprocess on SQLite.

A parent DAG triggered with ``partita trigger --wait`` queues a run of a child
DAG (templated conf), waits for it, and succeeds only when the child does;
``reset_dag_run`` runs the same child run again; a child that fails fails the
parent. Side effects of the child are counted in a marker file.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import Invoke, partita_command, subprocess_env

from partita.definitions.states import RunState
from partita.settings import load_settings
from partita.storage.factory import open_storage

DAGS = """
import json
from datetime import datetime
from pathlib import Path
from partita import DAG, PythonOperator, TriggerDagRunOperator

MARKERS = Path({markers!r})

def child_task(dag_run, run_id, **_):
    with open(MARKERS / "child", "a") as f:
        f.write(json.dumps({{"run_id": run_id, "conf": dag_run.conf}}) + "\\n")
    if dag_run.conf.get("fail"):
        raise ValueError("asked to fail")

with DAG("child", schedule=None, start_date=datetime(2024, 1, 1)) as child:
    PythonOperator(task_id="work", python_callable=child_task)

with DAG("parent", schedule=None, start_date=datetime(2024, 1, 1), params={{"n": 7}}) as parent:
    TriggerDagRunOperator(
        task_id="trigger", trigger_dag_id="child",
        conf={{"n": "{{{{ params.n }}}}", "fail": False}}, wait_for_completion=True,
        poke_interval=0.2,
    )

with DAG("resetter", schedule=None, start_date=datetime(2024, 1, 1)) as resetter:
    TriggerDagRunOperator(
        task_id="trigger", trigger_dag_id="child", trigger_run_id="fixed_child_run",
        reset_dag_run=True, wait_for_completion=True, poke_interval=0.2,
    )

with DAG("bad_parent", schedule=None, start_date=datetime(2024, 1, 1)) as bad_parent:
    TriggerDagRunOperator(
        task_id="trigger", trigger_dag_id="child", conf={{"fail": True}},
        wait_for_completion=True, poke_interval=0.2,
    )
"""


@pytest.fixture
def scheduler(cli_home: Path, tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    markers = tmp_path / "markers"
    markers.mkdir()
    path = tmp_path / "dags.py"
    path.write_text(DAGS.format(markers=str(markers)))
    process = subprocess.Popen(
        partita_command("scheduler", str(path)), env=subprocess_env(cli_home),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield path, markers
    finally:
        process.terminate()
        process.wait(timeout=30)


def _trigger(cli_home: Path, path: Path, dag_id: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        partita_command("trigger", str(path), dag_id, "--wait"), env=subprocess_env(cli_home),
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def _child_lines(markers: Path) -> list[dict[str, object]]:
    path = markers / "child"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.slow
def test_trigger_dag_run_operator_queues_waits_resets_and_fails_with_its_child(
    cli_home: Path, scheduler: tuple[Path, Path]
) -> None:
    path, markers = scheduler
    done = _trigger(cli_home, path, "parent")
    assert done.returncode == 0, done.stdout + done.stderr
    (first,) = _child_lines(markers)
    assert first["conf"] == {"n": "7", "fail": False}
    with open_storage(load_settings()) as store:
        (child_run,) = store.runs.list_runs("child", limit=10)
        assert child_run.state is RunState.SUCCESS and child_run.run_type == "manual"
        assert child_run.run_id == first["run_id"]

    for _ in range(2):
        done = _trigger(cli_home, path, "resetter")
        assert done.returncode == 0, done.stdout + done.stderr
    assert [line["run_id"] for line in _child_lines(markers)[1:]] == ["fixed_child_run"] * 2

    done = _trigger(cli_home, path, "bad_parent")
    assert done.returncode == 1
    assert _child_lines(markers)[-1]["conf"] == {"fail": True}


def test_a_dag_missing_from_the_registry_fails_the_task_with_a_clear_message(
    cli_home: Path, invoke: Invoke, tmp_path: Path
) -> None:
    path = tmp_path / "lonely.py"
    path.write_text(
        "from partita import DAG, TriggerDagRunOperator\n"
        "with DAG('lonely', schedule=None) as dag:\n"
        "    TriggerDagRunOperator(task_id='t', trigger_dag_id='nowhere')\n"
    )
    result = invoke("run", str(path), "lonely")
    assert result.exit_code == 1
    with open_storage(load_settings()) as store:
        (run,) = store.runs.list_runs("lonely", limit=10)
        errors = [
            str(e.payload)
            for e in store.events.read_events(run.run_id)
            if "nowhere" in str(e.payload)
        ]
    assert any("DAG 'nowhere' is not in the DAG registry" in e for e in errors)
