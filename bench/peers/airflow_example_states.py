"""Final task states of Airflow's own example DAGs under Airflow's ``dag.test()``.

Run with the Airflow venv's python and the environment ``bench/setup_peers.py``
gives Airflow (``peer_env``): ``python airflow_example_states.py FILE...``
prints one JSON line per DAG: ``{"file", "dag_id", "states": {task_id: state}}``
(a mapped task's state is its instances' common state, or ``mixed``), or
``{"file", "error"}`` when the file does not run here. ``bench/airflow_examples.py
--airflow-states`` drives it and writes ``bench/airflow_example_states.json``.

DAGs are collected with Airflow's own ``DagBag``, which also finds a DAG
built in ``with DAG(...):`` without a name. Design decision: every file runs
in a fresh copy of the once-migrated SQLite database and a DAGS_FOLDER holding
that file alone, because Airflow 3's ``dag.test()`` re-parses the DAG folder.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path


def _states(dag_run: object) -> dict[str, str]:
    grouped: dict[str, set[str]] = {}
    for ti in dag_run.get_task_instances():  # type: ignore[attr-defined]
        grouped.setdefault(ti.task_id, set()).add(str(ti.state))
    return {task: states.pop() if len(states) == 1 else "mixed" for task, states in grouped.items()}


def run_file(path: Path) -> None:
    home = Path(os.environ["AIRFLOW_HOME"])
    run_dir = home / "examples" / str(os.getpid())
    shutil.rmtree(run_dir, ignore_errors=True)
    (run_dir / "dags").mkdir(parents=True)
    shutil.copy(home / "airflow.db", run_dir / "airflow.db")
    shutil.copy(path, run_dir / "dags" / path.name)
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{run_dir / 'airflow.db'}"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(run_dir / "dags")
    os.environ["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] = str(run_dir / "logs")
    # A file using the example plugins (a custom timetable or priority weight strategy)
    # needs them registered, as Airflow does when it loads its examples.
    uses_plugins = "example_dags.plugins" in path.read_text()
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "True" if uses_plugins else "False"
    try:
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(run_dir / "dags"), safe_mode=False)
        for error in bag.import_errors.values():
            print(json.dumps({"file": path.name, "error": str(error).splitlines()[-1][:300]}))
        for dag_id, dag in sorted(bag.dags.items()):  # also DAGs no global names
            states = _states(dag.test())
            print(json.dumps({"file": path.name, "dag_id": dag_id, "states": states}), flush=True)
    except BaseException as exc:  # one JSON line whatever the file does
        print(json.dumps({"file": path.name, "error": f"{type(exc).__name__}: {exc}"[:300]}))
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        run_file(Path(name))
