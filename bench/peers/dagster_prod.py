"""Dagster's production path: ``execute_job`` with the multiprocess executor on a real instance.

Run with the Dagster venv's python and ``DAGSTER_HOME`` set to the scratch
home ``bench/setup_peers.py`` made: ``python dagster_prod.py W1 [W2]
--repeat 3`` runs each job ``--repeat`` times on a persistent
(SQLite) ``DagsterInstance`` in a fresh copy of that home, with the
multiprocess executor (``max_concurrent`` = ``--workers``, ``forkserver``
start method: the faster one here, see shared/BENCH-NOTES.md), and reads
each run's start and end from the instance's run stats (the run's record
is made just before it starts). It prints one JSON line like
``airflow_prod.py``.

Design decision: the jobs are module-level, as the multiprocess executor
needs (each op's process re-imports them through ``reconstructable``).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
from pathlib import Path

from dagster import DagsterInstance, In, Nothing, execute_job, job, op, reconstructable


@op(ins={"after": In(Nothing)})
def noop() -> None:
    return None


@op
def root() -> None:
    return None


@op(ins={"after": In(Nothing)})
def join() -> None:
    return None


@job(name="bench_w1_chain")
def w1_chain() -> None:
    prev = noop.alias("t0")()
    for i in range(1, 100):
        prev = noop.alias(f"t{i}")(after=prev)


@job(name="bench_w2_fan")
def w2_fan() -> None:
    start = root()
    join(after=[noop.alias(f"t{i}")(after=start) for i in range(500)])


WORKLOADS = {"W1": w1_chain, "W2": w2_fan}


def main(names: list[str], repeat: int, workers: int) -> None:
    template = Path(os.environ["DAGSTER_HOME"])
    home = template / "runs" / str(os.getpid())
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copy(template / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    config = {
        "execution": {
            "config": {
                "multiprocess": {"max_concurrent": workers, "start_method": {"forkserver": {}}}
            }
        }
    }
    samples: dict[str, list[float]] = {name: [] for name in names}
    try:
        with DagsterInstance.get() as instance:
            for _ in range(repeat):
                for name in names:
                    job_def = reconstructable(WORKLOADS[name])
                    with execute_job(job_def, instance=instance, run_config=config) as result:
                        if not result.success:
                            raise SystemExit(f"dagster {name}: the run failed")
                        stats = instance.get_run_stats(result.run_id)
                    seconds = stats.end_time - stats.start_time
                    samples[name].append(seconds)
                    print(f"dagster {name}: {seconds:.1f}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"samples": samples, "timed_out": {}, "peak_rss_mb": peak_mb}), flush=True)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("workloads", nargs="+", choices=sorted(WORKLOADS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    main(args.workloads, args.repeat, args.workers)
