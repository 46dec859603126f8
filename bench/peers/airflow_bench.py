"""Runs one benchmark workload in Apache Airflow with ``dag.test()``.

Run with the Airflow venv's python and ``AIRFLOW_HOME`` set to the scratch
home that ``bench/setup_peers.py`` migrated: ``python airflow_bench.py
WORKLOAD`` prints one JSON line (run seconds measured inside the process,
task instance count, peak RSS), like ``bench/workloads.py`` does for partita.

Airflow 3's ``dag.test()`` re-parses the DAG folder, so the workload's DAG is
a module-level file (``airflow_dags/``) copied alone into a fresh DAGS_FOLDER.

Design decision: each run gets its own copy of the once-migrated SQLite
database, so no run pays for rows an earlier run left behind, just as each
partita run starts with an empty store; setting that up happens before the
clock starts.
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

WORKLOADS: dict[str, tuple[str, str, int]] = {
    "W1": ("w1_chain.py", "bench_w1_chain", 100),
    "W2": ("w2_fan.py", "bench_w2_fan", 502),
    "W3": ("w3_map.py", "bench_w3_map", 1002),
    "W4L": ("w4l_data_list.py", "bench_w4l_data_list", 5),
    "W5a": ("w5a_independent.py", "bench_w5a_independent", 10_000),
    "W5b": ("w5b_map.py", "bench_w5b_map", 100_000),
}


def main(name: str) -> None:
    filename, dag_id, instances = WORKLOADS[name]
    home = Path(os.environ["AIRFLOW_HOME"])
    run_dir = home / "runs" / str(os.getpid())
    shutil.rmtree(run_dir, ignore_errors=True)
    (run_dir / "dags").mkdir(parents=True)
    shutil.copy(home / "airflow.db", run_dir / "airflow.db")
    dag_file = run_dir / "dags" / filename
    shutil.copy(HERE / "airflow_dags" / filename, dag_file)
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{run_dir / 'airflow.db'}"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(run_dir / "dags")
    os.environ["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] = str(run_dir / "logs")
    os.environ["AIRFLOW__CORE__MAX_MAP_LENGTH"] = str(200_000)  # W5b maps 100,000 items
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name.lower()}", dag_file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        dag = module.dag
        if dag.dag_id != dag_id:
            raise SystemExit(f"{dag_file} defines DAG {dag.dag_id!r}, expected {dag_id!r}")
        start = time.perf_counter()
        dag_run = dag.test()
        seconds = time.perf_counter() - start
        state = str(getattr(dag_run, "state", dag_run))
        if "success" not in state:
            raise SystemExit(f"airflow {name}: the run ended {state}")
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"run_s": seconds, "instances": instances, "peak_mb": peak_mb}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
