"""Times the DAG registry's scheduler-facing operations on SQLite (and PostgreSQL if given).

    python3 bench/dag_registry.py [--dags 5000] [--postgres URL]

Records one parse of N DAGs (a third of them due), then times the second
parse of the same DAGs (all updates), ``due_dags(limit=100)`` and a claim of
100 due DAGs that moves each one's next run. Prints one line per operation:
the median of 5 repetitions, in milliseconds.

Design decision: the DAGs are plain ``ParsedDag`` records, not loaded files,
so what is timed is the registry alone.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from partita.definitions.timetable_base import DagRunInfo
from partita.storage.dag_records import DagParse, ParsedDag
from partita.storage.sql import SqlStorage

NOW = datetime(2024, 3, 10, 12, tzinfo=UTC)
REPEAT = 5


def make_parse(count: int) -> DagParse:
    dags = [
        ParsedDag(
            dag_id=f"dag_{i:05d}",
            fileloc=f"/dags/file_{i // 10}.py",
            timetable_summary="@hourly",
            next_run=DagRunInfo.exact(NOW + timedelta(minutes=(i % 3 - 1) * 30)),
            tags=("bench",),
        )
        for i in range(count)
    ]
    return DagParse("/dags", dags, {}, NOW, 1.0)


def median_ms(operation: Callable[[], object]) -> float:
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        operation()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def claim_and_move(store: SqlStorage) -> None:
    with store.registry.claim_due_dags(NOW, 100) as claim:
        for dag in claim.dags:
            claim.set_next_run(dag.dag_id, DagRunInfo.exact(NOW - timedelta(hours=1)))


def bench(label: str, url: str, storage_dir: Path, count: int) -> None:
    with SqlStorage(url, storage_dir) as store:
        parse = make_parse(count)
        started = time.perf_counter()
        store.registry.record_parse(parse)
        first = (time.perf_counter() - started) * 1000
        print(f"{label}: first parse of {count} DAGs: {first:.1f} ms")
        print(
            f"{label}: parse again: {median_ms(lambda: store.registry.record_parse(parse)):.1f} ms"
        )
        due = median_ms(lambda: store.registry.due_dags(NOW, 100))
        print(f"{label}: due_dags(limit=100): {due:.2f} ms")
        claimed = median_ms(lambda: claim_and_move(store))
        print(f"{label}: claim 100 + move next runs: {claimed:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dags", type=int, default=5000)
    parser.add_argument("--postgres", help="an empty PostgreSQL database URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bench("sqlite", f"sqlite:///{folder}/bench.db", Path(folder), args.dags)
        if args.postgres:
            bench("postgres", args.postgres, Path(folder), args.dags)


if __name__ == "__main__":
    main()
