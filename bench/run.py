"""Benchmark runner: ``python bench/run.py`` times partita's workloads and prints a table.

Each measurement runs the workload in a fresh Python process (so imports,
memory and caches start cold, as for a user), repeats it (``--repeat``, at
least 3), and reports the median with min and max of: the run's time
measured inside the process, the whole process's wall time including
imports, time per task instance, and peak RSS. Results go to stdout as
Markdown and to ``bench/results/partita-<date>.json``.

``python bench/run.py --peers`` runs the same workloads in Apache Airflow,
Dagster and Prefect too (each in its own venv, made on first use by
``bench/setup_peers.py``) and prints partita's ratio to each and the
issue's targets with pass/fail; see ``docs/benchmarks.md`` for the method.
Filters: ``--only W1 W3``, ``--frameworks airflow dagster``.

``python bench/run.py --production [...]`` times the production path instead:
``partita scheduler --workers 2`` from a run's queued record to its success,
tick latency, idle cost, memory, and with ``--peers`` Airflow's, Dagster's and
Prefect's production paths side by side (``bench/production.py --help``).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from measure import run_once, summarize

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent / "docs" / "benchmarks.md"
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
# The workload names, for --only in partita-only mode too.
W_ALIASES = {
    "W1": {"chain100"},
    "W2": {"fan500"},
    "W3": {"map1k", "map1k_noop"},
    "W4": {"data50mb"},
    "W4L": {"data_list50mb"},
    "W5": {"independent10k", "map100k_noop"},
    "W5a": {"independent10k"},
    "W5b": {"map100k_noop"},
}


def measure(name: str, store: str, timeout: float) -> dict[str, Any]:
    """Run one partita workload once in a fresh interpreter."""
    return run_once([sys.executable, str(HERE / "workloads.py"), name, store], timeout)


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


def run_partita(only: list[str] | None, repeat: int, timeout: float) -> None:
    from workloads import WORKLOADS

    wanted: set[str] = set()
    for name in only or []:
        wanted |= W_ALIASES.get(name, {name})
    unknown = sorted(wanted - set(WORKLOADS))
    if unknown:
        raise SystemExit(
            f"--only: unknown workload(s) {', '.join(unknown)}; use {', '.join(WORKLOADS)}"
        )
    chosen = [(n, s) for n, s in DEFAULT_SET if not wanted or n in wanted]
    listed = {n for n, _ in DEFAULT_SET}
    chosen += [(n, s) for n in sorted(wanted - listed) for s in ("memory", "sqlite")]
    samples: dict[str, list[dict[str, Any]]] = {f"{n}/{s}": [] for n, s in chosen}
    for _ in range(repeat):  # interleave workloads so machine noise hits them alike
        for name, store in chosen:
            samples[f"{name}/{store}"].append(measure(name, store, timeout))
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


def write_docs(markdown: str) -> None:
    """Replace the generated section of docs/benchmarks.md with the new report."""
    start, end = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
    text = DOCS.read_text() if DOCS.exists() else f"# Benchmarks\n\n{start}\n{end}\n"
    if start not in text or end not in text:
        raise SystemExit(
            f"{DOCS}: markers {start} / {end} not found; add them where the table goes"
        )
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    DOCS.write_text(pattern.sub(lambda _: f"{start}\n{markdown}\n{end}", text))
    print(f"updated {DOCS}", file=sys.stderr)


def run_peers(args: argparse.Namespace, repeat: int) -> None:
    import peer_bench

    keys = peer_bench.WORKLOAD_KEYS
    if args.only:
        expanded = [k for o in args.only for k in (["W5a", "W5b"] if o == "W5" else [o])]
        unknown = sorted(set(expanded) - set(keys))
        if unknown:
            raise SystemExit(
                f"--only: unknown workload(s) {', '.join(unknown)}; use {', '.join(keys)}"
            )
        keys = [k for k in keys if k in expanded]
    frameworks = set(args.frameworks or ["airflow", "dagster", "prefect"])
    unknown = sorted(frameworks - {"airflow", "dagster", "prefect", "partita"})
    if unknown:
        raise SystemExit(f"--frameworks: unknown {', '.join(unknown)}; use airflow dagster prefect")
    meta = peer_bench.main(keys, frameworks, repeat, args.scale_repeat, args.timeout, args.slow)
    print(meta["markdown"])
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = meta["date"]
    out = out_dir / f"peers-{stamp:%Y%m%dT%H%M%S}.json"
    meta["date"] = stamp.isoformat()
    out.write_text(json.dumps(meta, indent=2, default=str))
    print(f"\nJSON: {out}")
    if args.docs:
        write_docs(meta["markdown"])


def main() -> None:
    if "--production" in sys.argv[1:]:  # the scheduler's path: bench/production.py's options
        import production

        sys.argv = [str(HERE / "production.py"), *(a for a in sys.argv[1:] if a != "--production")]
        production.main()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per workload (>= 3)")
    parser.add_argument(
        "--only", nargs="*", help="workloads: W1 W2 W3 W4 W4L W5a W5b (or partita workload names)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds per run (default 300; Airflow W2-W4L: 2x)",
    )
    parser.add_argument("--peers", action="store_true", help="also run Airflow, Dagster, Prefect")
    parser.add_argument(
        "--frameworks", nargs="*", help="with --peers: which peers (airflow dagster prefect)"
    )
    parser.add_argument(
        "--scale-repeat", type=int, default=1, help="with --peers: runs per peer on W5 (default 1)"
    )
    parser.add_argument(
        "--slow",
        type=float,
        default=60.0,
        help="with --peers: a peer run longer than this many seconds is not repeated",
    )
    parser.add_argument(
        "--docs", action="store_true", help="with --peers: update docs/benchmarks.md"
    )
    parser.add_argument("--wipe", action="store_true", help="delete the peers' venvs and scratch")
    args = parser.parse_args()
    repeat = max(args.repeat, 3)
    if args.wipe:
        from setup_peers import wipe

        wipe()
        if not args.peers:
            return
    if args.peers:
        args.timeout = args.timeout or 300.0
        run_peers(args, repeat)
    else:
        run_partita(args.only, repeat, args.timeout or 300.0)


if __name__ == "__main__":
    main()
