"""Measure a task that writes a very large log (300 MB by default) on one database.

``python bench/big_log.py --url postgresql://postgres@127.0.0.1:5432/postgres --megabytes 300``
runs, in this process, a DAG whose one task prints that much (lines of 100
bytes), recorded in a fresh database made for the measure on the server of
``--url`` (dropped afterwards; a SQLite URL names a file instead), then times
``partita logs`` on the result: ``--tail 10``, a range in the middle, and the
whole log written to /dev/null. It prints one JSON line: the run's seconds,
the peak RSS of the run and the times of the three reads.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from scratch_db import scratch_database
from sqlalchemy.engine import make_url

from partita import DAG, PythonOperator
from partita.executors.in_process import run_dag
from partita.storage.sql import SqlStorage

LINE = "x" * 99  # with its newline, 100 bytes


def _big_log_dag(megabytes: int) -> DAG:
    lines = megabytes * 1024 * 1024 // (len(LINE) + 1)
    block = (LINE + "\n") * 1000

    def talk() -> None:
        for _ in range(lines // 1000):
            sys.stdout.write(block)

    with DAG("big_log") as dag:
        PythonOperator(task_id="talk", python_callable=talk)
    return dag


def _timed_logs(url: str, home: Path, *args: str) -> float:
    env = {**os.environ, "PARTITA_HOME": str(home), "PARTITA_DATABASE_URL": url}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "partita.cli.main", "logs", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return round(time.perf_counter() - started, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a PostgreSQL server URL or a SQLite URL")
    parser.add_argument("--megabytes", type=int, default=300)
    options = parser.parse_args()
    dag = _big_log_dag(options.megabytes)
    with (
        TemporaryDirectory() as scratch,
        scratch_database(options.url, Path(scratch), "big_log") as url,
    ):
        with SqlStorage(url, Path(scratch) / "storage") as storage:
            started = time.perf_counter()
            result = run_dag(dag, storage=storage)
            run_seconds = time.perf_counter() - started
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            count = storage.logs.tail_lines(result.run_id, "talk", -1, 1, 1)[0].seq + 1
        middle = count // 2
        home = Path(scratch) / "home"
        report = {
            "database": make_url(url).get_backend_name(),
            "megabytes": options.megabytes,
            "state": result.state.value,
            "lines": count,
            "run_s": round(run_seconds, 2),
            "peak_rss_mb": round(peak_mb),
            "logs_tail_10_s": _timed_logs(url, home, result.run_id, "talk", "--tail", "10"),
            "logs_range_s": _timed_logs(
                url, home, result.run_id, "talk", "--lines", f"{middle}:{middle + 99}"
            ),
            "logs_whole_s": _timed_logs(url, home, result.run_id, "talk"),
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
