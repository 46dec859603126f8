"""Benchmark runner: ``python bench/run.py`` times partita's workloads and prints a table.

Each measurement runs the workload in a fresh Python process (so imports,
memory and caches start cold, as for a user), repeats it (``--repeat``, at
least 3), and reports the median with min and max of: the run's time
measured inside the process, the whole process's wall time including
imports, time per task instance, and peak RSS. Results go to stdout as
Markdown and to ``bench/results/partita-<date>.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_SET = [
    ("chain100", "memory"),
    ("chain100", "sqlite"),
    ("fan500", "memory"),
    ("fan500", "sqlite"),
    ("independent100", "memory"),
    ("independent10k", "memory"),
    ("independent100", "sqlite"),
    ("independent10k", "sqlite"),
    ("map1k", "memory"),
    ("map1k_noop", "sqlite"),
    ("map100k_noop", "memory"),
    ("map100k_noop", "sqlite"),
    ("data50mb", "memory"),
    ("data50mb", "sqlite"),
]


def measure(name: str, store: str, timeout: float) -> dict[str, Any]:
    """Run one workload once in a fresh interpreter."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(HERE / "workloads.py"), name, store],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    data["process_s"] = wall
    return data


def summarize(samples: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [s for s in samples if "error" not in s]
    if not ok:
        return {"error": samples[-1]["error"]}
    runs = [s["run_s"] for s in ok]
    n = ok[0]["instances"]
    return {
        "instances": n,
        "run_s": {"median": statistics.median(runs), "min": min(runs), "max": max(runs)},
        "process_s": statistics.median(s["process_s"] for s in ok),
        "per_task_us": statistics.median(runs) / n * 1e6,
        "peak_mb": max(s["peak_mb"] for s in ok),
        "failures": len(samples) - len(ok),
    }


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| workload | store | instances | run s (median [min-max]) | process s "
        "| µs / task | peak MB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for key, r in results.items():
        name, store = key.split("/")
        if "error" in r:
            lines.append(f"| {name} | {store} | | failed: {r['error']} | | | |")
            continue
        run = r["run_s"]
        lines.append(
            f"| {name} | {store} | {r['instances']} | {run['median']:.4f} "
            f"[{run['min']:.4f}-{run['max']:.4f}] | {r['process_s']:.2f} | "
            f"{r['per_task_us']:.1f} | {r['peak_mb']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per workload (>= 3)")
    parser.add_argument("--only", nargs="*", help="workload names to run (default: all)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per run")
    parser.add_argument("--peers", action="store_true", help="also run Airflow, Dagster, Prefect")
    args = parser.parse_args()
    if args.peers:
        raise SystemExit("--peers is not built yet (issue 6); run without it")
    repeat = max(args.repeat, 3)
    chosen = [(n, s) for n, s in DEFAULT_SET if not args.only or n in args.only]
    samples: dict[str, list[dict[str, Any]]] = {f"{n}/{s}": [] for n, s in chosen}
    for _ in range(repeat):  # interleave workloads so machine noise hits them alike
        for name, store in chosen:
            try:
                samples[f"{name}/{store}"].append(measure(name, store, args.timeout))
            except subprocess.TimeoutExpired:
                samples[f"{name}/{store}"].append({"error": f"timed out after {args.timeout}s"})
    results = {key: summarize(s) for key, s in samples.items()}
    stamp = datetime.now(UTC)
    print(
        f"partita benchmarks, {stamp:%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
        f"{repeat} runs each\n"
    )
    print(table(results))
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / f"partita-{stamp:%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps({"date": stamp.isoformat(), "results": results}, indent=2))
    print(f"\nJSON: {out}")


if __name__ == "__main__":
    main()
