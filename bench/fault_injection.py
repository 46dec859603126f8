"""Fault injection: kill ``partita run`` at random moments and check what stays recorded.

``python bench/fault_injection.py [--runs 50] [--seed N]`` starts, ``--runs``
times, a real ``partita run`` of a DAG of short and long tasks (each task
writes a marker file as its last step), waits a random time into the run,
then either kills it with SIGKILL or sends it 2-3 SIGTERMs in quick
succession. Afterwards it opens the metadata store the way every CLI
command does (which records dead runs as failed) and counts:

* runs that ended in a recorded final state (target: all), and
* finished tasks lost: a task whose marker file exists but that is not
  recorded as ``success`` (target: 0).

It prints both numbers and exits 1 when a target is missed. Each try has a
PARTITA_HOME of its own under a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from partita.cli.store import metadata_store
from partita.definitions.states import TaskState
from partita.settings import load_settings

DAG_ID = "faulty"
DAG_FILE = """
import os, pathlib, time
from partita import DAG, PythonOperator

MARKERS = pathlib.Path(os.environ["FAULT_MARKERS"])

def work(name, seconds):
    def run():
        time.sleep(seconds)
        (MARKERS / name).write_text("done")
    return run

with DAG("faulty") as dag:
    tasks = {
        name: PythonOperator(task_id=name, python_callable=work(name, seconds))
        for name, seconds in [("a", 0.02), ("b", 0.3), ("c", 0.05), ("d", 0.8), ("e", 0.02),
                              ("f", 0.5), ("g", 0.05), ("h", 0.6), ("i", 0.02)]
    }
    tasks["a"] >> tasks["b"] >> tasks["c"] >> tasks["d"] >> tasks["e"]
    tasks["g"] >> tasks["h"] >> tasks["i"]
"""
#: Roughly how long the DAG runs, once started (the kill moment is drawn from it).
RUN_SECONDS = 1.4


@dataclass
class Tally:
    """What the tries found."""

    runs: int = 0
    final: int = 0
    lost: int = 0
    no_run: int = 0
    problems: list[str] = field(default_factory=list)


def start_run(dag_dir: Path, home: Path, markers: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PARTITA_HOME": str(home), "FAULT_MARKERS": str(markers)}
    return subprocess.Popen(
        [sys.executable, "-m", "partita.cli.main", "run", str(dag_dir), DAG_ID],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_for_run_row(home: Path, process: subprocess.Popen[bytes]) -> bool:
    """Wait until the run is recorded (its process has started it); False if it ended first."""
    database = home / "partita.db"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if database.exists() and _has_run(home):
            return True
        time.sleep(0.02)
    return False


def _has_run(home: Path) -> bool:
    try:
        with sqlite3.connect(home / "partita.db", timeout=1) as connection:
            return bool(connection.execute("SELECT count(*) FROM dag_run").fetchone()[0])
    except sqlite3.Error:
        return False


def inject(process: subprocess.Popen[bytes], rng: random.Random) -> str:
    """Kill the run at a random moment: SIGKILL, or 2-3 SIGTERMs in quick succession."""
    time.sleep(rng.uniform(0.0, RUN_SECONDS))
    if rng.random() < 0.5:
        process.send_signal(signal.SIGKILL)
        return "SIGKILL"
    count = rng.choice((2, 3))
    for _ in range(count):
        process.send_signal(signal.SIGTERM)
    return f"{count}xSIGTERM"


def check(home: Path, markers: Path, tally: Tally, how: str) -> None:
    """Recover as a CLI command would, then count final runs and lost tasks."""
    env = {"PARTITA_HOME": str(home)}
    with metadata_store(load_settings(env)) as storage:
        runs = storage.runs.list_runs(DAG_ID)
        if not runs:
            tally.no_run += 1
            return
        [run] = runs
        tally.runs += 1
        if run.state.finished:
            tally.final += 1
        else:
            tally.problems.append(f"{how}: run {run.run_id} left {run.state}")
        states = {ti.task_id: ti.state for ti in storage.runs.get_task_instances(run.run_id)}
    for marker in markers.iterdir():
        if states.get(marker.name) is not TaskState.SUCCESS:
            tally.lost += 1
            tally.problems.append(
                f"{how}: task {marker.name} finished but is {states.get(marker.name)}"
            )


def one_try(dag_dir: Path, folder: Path, rng: random.Random, tally: Tally) -> None:
    home, markers = folder / "home", folder / "markers"
    markers.mkdir(parents=True)
    process = start_run(dag_dir, home, markers)
    try:
        how = inject(process, rng) if wait_for_run_row(home, process) else "ended early"
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    check(home, markers, tally, how)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="how many runs to kill (default 50)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="partita-faults-") as scratch:
        dag_dir = Path(scratch, "dags")
        dag_dir.mkdir()
        (dag_dir / "faulty.py").write_text(DAG_FILE)
        for index in range(args.runs):
            one_try(dag_dir, Path(scratch, f"try{index}"), rng, tally)
    print(f"fault injection, seed {seed}: {args.runs} runs killed")
    print(
        f"runs in a recorded final state: {tally.final} of {tally.runs}"
        f" ({tally.no_run} killed before their run was recorded)"
    )
    print(f"finished tasks lost: {tally.lost}")
    for problem in tally.problems:
        print(f"  {problem}")
    return 0 if tally.final == tally.runs and tally.lost == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
