"""Runs one benchmark process under a time limit and summarizes repeated samples.

Every workload, partita's or a peer's, is a script that runs in a fresh
interpreter and prints one JSON line (``run_s`` measured inside the process,
``instances``, ``peak_mb``). :func:`run_once` adds the whole process's wall
time (imports included) and the peak resident memory of its whole process
tree, so a peer that starts helper processes (Prefect's temporary API
server) is charged for them; :func:`summarize` turns repetitions into
median, min and max.

Design decision: each run gets its own process group, so a run over its time
limit is ended with everything it started, and the limit is reported as the
run's result instead of the run being dropped.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _tree_rss_mb(root: int) -> float:
    """Resident memory of ``root`` and all its descendants, from /proc."""
    parent: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parent[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21])
    total, frontier = 0, [root]
    while frontier:
        pid = frontier.pop()
        total += rss.get(pid, 0)
        frontier.extend(child for child, ppid in parent.items() if ppid == pid)
    return total * _PAGE / (1024 * 1024)


def _last_error(stderr: str, stdout: str) -> str:
    lines = [ln.strip() for ln in (stderr or stdout).splitlines() if ln.strip()]
    message = lines[-1] if lines else "exited without output"
    return message if len(message) <= 300 else message[:297] + "..."


def run_once(
    argv: list[str], limit: float, env: dict[str, str] | None = None, sample_memory: bool = True
) -> dict[str, Any]:
    """Run ``argv`` once; return its JSON line plus ``process_s``, or ``error``."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            peak[0] = max(peak[0], _tree_rss_mb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    if sample_memory:
        sampler.start()
    try:
        stdout, stderr = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"error": f"timed out after {limit:.0f} s", "timed_out": True}
    finally:
        done.set()
        if sample_memory:
            sampler.join()
        with contextlib.suppress(ProcessLookupError):  # helpers it left behind go too
            os.killpg(proc.pid, signal.SIGKILL)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}: {_last_error(stderr, stdout)}"}
    try:
        data: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": f"no result line: {_last_error(stderr, stdout)}"}
    data["process_s"] = wall
    data["peak_mb"] = max(data.get("peak_mb", 0.0), peak[0])
    return data


def summarize(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Median [min, max] of the successful samples; the last error if none succeeded."""
    ok = [s for s in samples if "error" not in s]
    errors = [s["error"] for s in samples if "error" in s]
    if not ok:
        return {"error": errors[-1] if errors else "not run", "runs": 0, "failures": len(errors)}
    runs = [s["run_s"] for s in ok]
    n = ok[0]["instances"]
    out: dict[str, Any] = {
        "instances": n,
        "runs": len(ok),
        "run_s": {"median": statistics.median(runs), "min": min(runs), "max": max(runs)},
        "process_s": statistics.median(s["process_s"] for s in ok),
        "per_task_ms": statistics.median(runs) / n * 1e3,
        "per_task_us": statistics.median(runs) / n * 1e6,
        "peak_mb": max(s["peak_mb"] for s in ok),
        "failures": len(errors),
    }
    if errors:
        out["errors"] = errors
    servers = [s["server_s"] for s in ok if s.get("server_s") is not None]
    if servers:
        out["server_s"] = statistics.median(servers)
    return out
