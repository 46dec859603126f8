"""The peers' production paths, for ``bench/production.py --peers``.

Each peer runs its own script under ``bench/peers/`` (``airflow_prod.py``:
api-server + scheduler + dag-processor with the LocalExecutor;
``dagster_prod.py``: ``execute_job`` with the multiprocess executor on a
persistent instance; ``prefect_prod.py``: flows on a ``ProcessPoolTaskRunner``)
in its venv (``bench/setup_peers.py``), with ``--workers`` processes like
partita's scheduler, W1 (chain of 100) and W2 (fan 1->500->1). Each script
prints the seconds of every sample; this module adds the peak RSS of its
whole process tree and a time limit per invocation.

Design decision: one invocation per peer and workload, limited to ``repeat``
times the per-run limit (plus start-up), so a peer slower than the limit
gives "timed out" for that workload instead of holding up the others.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from typing import Any

from measure import run_once
from setup_peers import PEERS, ensure, peer_env

HERE = Path(__file__).resolve().parent
WORKLOAD_TITLES = {"W1": "chain100", "W2": "fan500"}
#: Seconds a peer may take to start (Airflow's three services, Prefect's API server).
STARTUP_LIMIT = 240.0


def run_peer(name: str, workload: str, repeat: int, limit: float, workers: int) -> dict[str, Any]:
    """``repeat`` samples of ``workload`` on peer ``name``: seconds, peak MB, or an error."""
    peer = PEERS[name]
    ensure(peer)
    argv = [str(peer.python), str(HERE / "peers" / f"{name}_prod.py"), workload]
    argv += ["--repeat", str(repeat)]
    if name == "airflow":
        argv += ["--limit", str(limit), "--workers", str(workers)]
    elif name == "dagster":
        argv += ["--workers", str(workers)]
    env = peer_env(peer)
    env["BENCH_WORKERS"] = str(workers)
    # Prefect's temporary API server gets 20 s to start by default: too little on a busy machine
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = str(int(STARTUP_LIMIT))
    print(f"{name} {workload}: {repeat} run(s), limit {limit:.0f} s each", file=sys.stderr)
    result = run_once(argv, STARTUP_LIMIT + repeat * limit, env=env)
    if "error" in result:
        return {"error": result["error"], "samples": []}
    return {
        "samples": result["samples"][workload],
        "timed_out": result.get("timed_out", {}).get(workload, 0),
        "peak_mb": result["peak_mb"],
        "server_s": result.get("server_s"),
    }


def _seconds(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def cell(result: dict[str, Any]) -> str:
    samples = result.get("samples") or []
    if not samples:
        return f"failed: {result.get('error', 'every run timed out')}"
    low, mid, high = (_seconds(x) for x in (min(samples), statistics.median(samples), max(samples)))
    text = f"{mid} [{low}-{high}], n={len(samples)}"
    if result.get("timed_out"):
        text += f", {result['timed_out']} over the limit"
    return text


def peer_rows(
    peers: list[str],
    repeat: dict[str, int],
    limit: float,
    workers: int,
    workloads: list[str] | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Every peer on W1 and W2 (or ``workloads``): {peer: {workload: result}}."""
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for name in peers:
        results[name] = {}
        for workload in workloads or list(WORKLOAD_TITLES):
            results[name][workload] = run_peer(name, workload, repeat[workload], limit, workers)
            print(f"  {name} {workload}: {cell(results[name][workload])}", file=sys.stderr)
    return results


__all__ = ["WORKLOAD_TITLES", "cell", "peer_rows", "run_peer"]
