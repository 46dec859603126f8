"""Prefect's production path: flows whose tasks run on a ``ProcessPoolTaskRunner``.

Run with the Prefect venv's python and ``PREFECT_HOME`` set to the scratch
home ``bench/setup_peers.py`` migrated: ``python prefect_prod.py W1 [W2]
--repeat 3`` copies that database into a fresh home, runs a trivial flow
first (untimed: it starts Prefect's temporary API server, reported as
``server_s``), then calls each workload's flow ``--repeat`` times and times
each call. The tasks go to a process pool of ``--workers`` processes
(``.submit()`` with ``wait_for``, so each task is a pool job: a chain waits
for the task before it). It prints one JSON line like ``airflow_prod.py``.

Design decision: the flow call is the run from its creation to its end, the
closest Prefect has to partita's queued-to-success time without a worker
and a deployment, which would add polling intervals of seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

if __name__ == "__main__":  # before prefect is imported: it reads PREFECT_HOME once
    _TEMPLATE = Path(os.environ["PREFECT_HOME"])
    _RUN_HOME = _TEMPLATE / "runs" / str(os.getpid())
    shutil.rmtree(_RUN_HOME, ignore_errors=True)
    _RUN_HOME.mkdir(parents=True)
    shutil.copy(_TEMPLATE / "prefect.db", _RUN_HOME / "prefect.db")
    os.environ["PREFECT_HOME"] = str(_RUN_HOME)

from prefect import flow, task
from prefect.task_runners import ProcessPoolTaskRunner

WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))


@task
def noop() -> None:
    return None


@flow(task_runner=ProcessPoolTaskRunner(max_workers=WORKERS))
def w1_chain() -> None:
    future = noop.submit()
    for _ in range(99):
        future = noop.submit(wait_for=[future])
    future.result()


@flow(task_runner=ProcessPoolTaskRunner(max_workers=WORKERS))
def w2_fan() -> None:
    root = noop.submit()
    futures = [noop.submit(wait_for=[root]) for _ in range(500)]
    noop.submit(wait_for=futures).result()


@flow
def warm_up() -> None:
    return None


WORKLOADS = {"W1": w1_chain, "W2": w2_fan}


def main(names: list[str], repeat: int) -> None:
    start = time.perf_counter()
    warm_up()
    server_s = time.perf_counter() - start
    samples: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(repeat):
        for name in names:
            start = time.perf_counter()
            WORKLOADS[name]()
            samples[name].append(time.perf_counter() - start)
            print(f"prefect {name}: {samples[name][-1]:.1f}", file=sys.stderr, flush=True)
    out = {"samples": samples, "timed_out": {}, "server_s": server_s}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("workloads", nargs="+", choices=sorted(WORKLOADS))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    try:
        main(args.workloads, args.repeat)
    finally:
        shutil.rmtree(_RUN_HOME, ignore_errors=True)
