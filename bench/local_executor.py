"""The local executor's benchmark: ``partita run --workers N`` on no-op DAGs, and its memory.

``python bench/local_executor.py [--workers 2] [--repeat 3]`` writes each
workload as a DAG file in a scratch ``PARTITA_HOME``, runs ``partita run FILE
DAG --workers N`` as a subprocess, and reports the run's own time (from the
run's recorded start to its end, so not the CLI's start nor the pool's), the
task instances per second, and the summed PSS (``/proc/<pid>/smaps_rollup``)
of the whole process tree (CLI, forkserver, workers) while two tasks sleep.
Figures are medians of ``--repeat`` runs; on a shared machine they are noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

HEADER = """from partita import DAG, EmptyOperator, PythonOperator


def noop():
    return None

"""
WORKLOADS = {
    # name: (instances, target seconds or None, DAG body)
    "chain100": (
        100,
        0.5,
        """
with DAG("chain100") as dag:
    prev = None
    for i in range(100):
        t = PythonOperator(task_id=f"t{i}", python_callable=noop)
        if prev is not None:
            prev >> t
        prev = t
""",
    ),
    "chain40": (
        40,
        0.4,
        """
with DAG("chain40") as dag:
    prev = None
    for i in range(40):
        t = PythonOperator(task_id=f"t{i}", python_callable=noop)
        if prev is not None:
            prev >> t
        prev = t
""",
    ),
    "fan500": (
        502,
        1.0,
        """
with DAG("fan500") as dag:
    root, join = EmptyOperator(task_id="root"), EmptyOperator(task_id="join")
    for i in range(500):
        root >> PythonOperator(task_id=f"t{i}", python_callable=noop) >> join
""",
    ),
    "independent10k": (
        10_000,
        5.0,
        """
with DAG("independent10k") as dag:
    for i in range(10_000):
        PythonOperator(task_id=f"t{i}", python_callable=noop)
""",
    ),
    "sleep2x3s": (
        2,
        None,
        """
import time
with DAG("sleep2x3s") as dag:
    for i in range(2):
        PythonOperator(task_id=f"t{i}", python_callable=lambda: time.sleep(3))
""",
    ),
}


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTITA_")}
    env["PARTITA_HOME"] = str(home)
    env["PYTHONPATH"] = str(SRC)
    return env


def _run_seconds(home: Path) -> float:
    """The recorded duration (start to end) of the only run in ``home``'s database."""
    import sqlite3

    with sqlite3.connect(home / "partita.db") as db:
        start, end = db.execute("select start_date, end_date from dag_run").fetchone()
    from datetime import datetime

    return (datetime.fromisoformat(str(end)) - datetime.fromisoformat(str(start))).total_seconds()


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _pss_mib(pids: list[int]) -> float:
    total_kib = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kib += int(line.split()[1])
        except OSError:
            continue
    return total_kib / 1024


def run_workload(name: str, workers: int, measure_pss: bool = False) -> tuple[float, float]:
    """(run seconds, summed PSS MiB or 0) of one ``partita run --workers`` of ``name``."""
    with tempfile.TemporaryDirectory(prefix="partita-bench-local-") as scratch:
        home = Path(scratch)
        dag_file = home / f"{name}.py"
        dag_file.write_text(HEADER + WORKLOADS[name][2])
        command = [sys.executable, "-m", "partita.cli.main", "run", str(dag_file), name]
        command += ["--workers", str(workers)]
        process = subprocess.Popen(
            command, env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        pss = 0.0
        if measure_pss:
            time.sleep(2.5)  # the pool is up and both tasks sleep
            pss = _pss_mib(_tree(process.pid))
        out, err = process.communicate(timeout=600)
        if process.returncode != 0:
            raise SystemExit(f"{name}: partita run exited {process.returncode}:\n{out}\n{err}")
        return _run_seconds(home), pss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    names = args.only or [n for n in WORKLOADS if n != "sleep2x3s"]
    print(f"| workload | instances | run s (median of {args.repeat}) | instances/s | target |")
    print("|---|---|---|---|---|")
    for name in names:
        instances, target = WORKLOADS[name][0], WORKLOADS[name][1]
        seconds = statistics.median(run_workload(name, args.workers)[0] for _ in range(args.repeat))
        verdict = ""
        if target is not None:
            verdict = f"<= {target:g} s: {'pass' if seconds <= target else 'FAIL'}"
        print(f"| {name} | {instances} | {seconds:.3f} | {instances / seconds:,.0f} | {verdict} |")
    if args.only is None or "sleep2x3s" in args.only:
        pss = run_workload("sleep2x3s", args.workers, measure_pss=True)[1]
        verdict = "pass" if pss <= 300 else "FAIL"
        print(
            f"\nsummed PSS of the process tree, {args.workers} workers: {pss:.0f} MiB "
            f"(target <= 300 MiB: {verdict})"
        )


if __name__ == "__main__":
    main()
