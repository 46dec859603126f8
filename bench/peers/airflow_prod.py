"""Airflow's production path: api-server + scheduler + dag-processor with the LocalExecutor.

Run with the Airflow venv's python and ``AIRFLOW_HOME`` set to the scratch
home ``bench/setup_peers.py`` migrated: ``python airflow_prod.py W1 [W2 ...]
--repeat 3 --limit 300`` copies that database into a fresh folder, starts the
three services there (SQLite, ``parallelism`` = ``--workers``), waits until
the workloads' DAGs are parsed, then triggers each workload ``--repeat``
times over the REST API and reads the run's ``queued_at`` and ``end_date``
from it. It prints one JSON line: the seconds per sample (queued to end, as
partita's production figure), the peak summed RSS of the services' process
tree, and the samples that hit the limit.

Design decision: the services are started once and serve every sample, as
partita's scheduler does; their start-up and the first parse are not timed.
They stay in this process's group, so a caller's time limit ends them too.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from measure import _tree_rss_mb  # noqa: E402

WORKLOADS = {"W1": ("w1_chain.py", "bench_w1_chain"), "W2": ("w2_fan.py", "bench_w2_fan")}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Api:
    def __init__(self, base: str) -> None:
        self.base = base
        self.token: str | None = None

    def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def login(self) -> None:
        self.token = self.call("GET", "/auth/token")["access_token"]


def _wait(what: str, check: Any, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(1)
    raise SystemExit(f"airflow: {what} not ready in {limit:.0f} s")


def _env(run_dir: Path, port: int, workers: int) -> dict[str, str]:
    env = dict(os.environ)
    base = f"http://127.0.0.1:{port}"
    env.update(
        {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{run_dir / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(run_dir / "dags"),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(run_dir / "logs"),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(workers),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": base,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        }
    )
    return env


def _run_seconds(api: Api, dag_id: str, limit: float) -> float | None:
    """Trigger ``dag_id`` and return queued-to-end seconds (None: over ``limit``)."""
    run = api.call("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None})
    run_id = run["dag_run_id"]
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        run = api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
        if run["state"] in ("success", "failed"):
            if run["state"] != "success":
                raise SystemExit(f"airflow: run {run_id} of {dag_id} failed")
            queued = datetime.fromisoformat(run["queued_at"])
            return (datetime.fromisoformat(run["end_date"]) - queued).total_seconds()
        time.sleep(0.5)
    return None


def main(names: list[str], repeat: int, limit: float, workers: int) -> None:
    home = Path(os.environ["AIRFLOW_HOME"])
    run_dir = home / "runs" / str(os.getpid())
    shutil.rmtree(run_dir, ignore_errors=True)
    (run_dir / "dags").mkdir(parents=True)
    shutil.copy(home / "airflow.db", run_dir / "airflow.db")
    for name in names:
        shutil.copy(HERE / "airflow_dags" / WORKLOADS[name][0], run_dir / "dags")
    port = _free_port()
    env = _env(run_dir, port, workers)
    airflow = str(Path(sys.executable).parent / "airflow")
    log = (run_dir / "services.log").open("w")
    services = [
        subprocess.Popen([airflow, *cmd], env=env, stdout=log, stderr=log)
        for cmd in (["api-server", "--port", str(port)], ["scheduler"], ["dag-processor"])
    ]
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            peak[0] = max(peak[0], sum(_tree_rss_mb(s.pid) for s in services))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    samples: dict[str, list[float]] = {name: [] for name in names}
    timed_out: dict[str, int] = {name: 0 for name in names}
    try:
        api = Api(f"http://127.0.0.1:{port}")
        _wait("the api-server", lambda: api.login() or True, 180)
        for name in names:
            dag_id = WORKLOADS[name][1]
            _wait(f"DAG {dag_id}", lambda d=dag_id: api.call("GET", f"/api/v2/dags/{d}"), 300)
        for _ in range(repeat):
            for name in names:
                seconds = _run_seconds(api, WORKLOADS[name][1], limit)
                if seconds is None:
                    timed_out[name] += 1
                else:
                    samples[name].append(seconds)
                print(f"airflow {name}: {seconds}", file=sys.stderr, flush=True)
    finally:
        done.set()
        for service in services:  # what is left goes with our process group (the caller's kill)
            service.terminate()
        for service in services:
            with contextlib.suppress(subprocess.TimeoutExpired):
                service.wait(timeout=20)
        shutil.rmtree(run_dir, ignore_errors=True)
    out = {"samples": samples, "timed_out": timed_out, "peak_rss_mb": peak[0]}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    import argparse

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so that the services are stopped

    parser = argparse.ArgumentParser()
    parser.add_argument("workloads", nargs="+", choices=sorted(WORKLOADS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--limit", type=float, default=300.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    main(args.workloads, args.repeat, args.limit, args.workers)
