"""Sensors: the CPU cost of 1,000 sensors every 30 s, and the cost of a run-key check.

Usage::

    python bench/sensors.py cost [SENSORS] [INTERVAL] [WINDOWS] [--postgres URL]
    python bench/sensors.py run-keys [--postgres URL]

``cost`` drives a ``SensorDaemon`` as the scheduler does (one pass per
second of scheduler time) over WINDOWS intervals of simulated time, with
SENSORS sensors (default 1,000) of ``minimum_interval_seconds`` INTERVAL
(default 30) that look at a folder and skip, every evaluation recorded as a
tick in a SQLite file (or PostgreSQL). It prints the CPU time (all threads
of the process) per interval, as a share of one core: the budget is 5%.

``run-keys`` fills one sensor's run keys to 10, 1,000, 100,000 and
1,000,000 and times ``used_run_keys`` for ten keys (median of 300 calls),
and prints the query plan: the figure stays flat because the check is one
primary-key lookup per key.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from partita import DAG, EmptyOperator, SkipReason, sensor
from partita.definitions.sensors import SensorDefinition
from partita.scheduler.sensors import SensorDaemon
from partita.storage.instigators import run_key_digest
from partita.storage.sql import SqlStorage
from partita.storage.sql.models import sensor_run_key_table

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def open_store(postgres: str | None, folder: Path) -> SqlStorage:
    url = postgres or f"sqlite:///{folder / 'bench.db'}"
    store = SqlStorage(url, folder / "storage")
    if postgres:
        with store.engine.begin() as connection:
            connection.execute(text("DELETE FROM instigator_tick"))
            connection.execute(text("DELETE FROM instigator_state"))
            connection.execute(text("DELETE FROM sensor_run_key"))
    return store


def folder_sensors(count: int, interval: float, watched: Path) -> dict[str, SensorDefinition]:
    with DAG("bench_target", schedule=None) as target:
        EmptyOperator(task_id="noop")

    def make(index: int) -> SensorDefinition:
        @sensor(job=target, name=f"sensor_{index}", minimum_interval_seconds=interval)
        def watch() -> Any:
            if any(watched.iterdir()):
                return None
            return SkipReason("no new file")

        return watch

    return {s.name: s for s in (make(i) for i in range(count))}


def cost(count: int, interval: float, windows: int, postgres: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "watched").mkdir()
        store = open_store(postgres, folder)
        sensors = folder_sensors(count, interval, folder / "watched")
        daemon = SensorDaemon(store, lambda: sensors, lambda _: None)
        passes = int(interval)
        daemon.run_once(T0)  # the first pass evaluates every sensor: not counted
        daemon.wait(60)
        cpu, wall, ticks = time.process_time(), time.perf_counter(), 0
        for second in range(1, windows * passes + 1):
            ticks += len(daemon.run_once(T0 + timedelta(seconds=second)))
            time.sleep(0.001)  # the loop's nap: evaluations finish in their threads
        ticks += len(daemon.wait(60))
        used, took = time.process_time() - cpu, time.perf_counter() - wall
        daemon.close()
        store.close()
    per_window = used / windows
    print(f"{count} sensors every {interval:g}s, {windows} intervals, {ticks} ticks recorded")
    share = 100 * per_window / interval
    print(f"  CPU per interval: {per_window:.3f} s = {share:.2f}% of one core")
    print(f"  (wall time of the simulation: {took:.1f} s)")


def fill_keys(store: SqlStorage, total: int, have: int) -> None:
    rows = (
        {"sensor_name": "files", "key_digest": run_key_digest(f"file-{i}.csv"),
         "run_key": f"file-{i}.csv", "run_id": f"r{i}", "created_at": T0}
        for i in range(have, total)
    )  # fmt: skip
    batch: list[dict[str, Any]] = []
    with store.engine.begin() as connection:
        for row in rows:
            batch.append(row)
            if len(batch) == 20_000:
                connection.execute(sensor_run_key_table.insert(), batch)
                batch = []
        if batch:
            connection.execute(sensor_run_key_table.insert(), batch)
    with store.engine.begin() as connection:  # what autovacuum / the planner would have by now
        connection.execute(text("ANALYZE sensor_run_key"))


def run_keys(postgres: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(postgres, Path(tmp))
        have = 0
        for total in (10, 1_000, 100_000, 1_000_000):
            fill_keys(store, total, have)
            have = total
            asked = [f"file-{i}.csv" for i in range(0, total, max(1, total // 5))][:5]
            asked += [f"new-{i}.csv" for i in range(5)]
            timings = []
            for _ in range(300):
                started = time.perf_counter()
                found = store.instigators.used_run_keys("files", asked)
                timings.append(time.perf_counter() - started)
            assert len(found) == 5, found
            median, best = statistics.median(timings) * 1000, min(timings) * 1000
            print(
                f"  {total:>9,} stored keys: check of 10 keys {median:.3f} ms median, "
                f"{best:.3f} ms best (of 300)"
            )
        print_plan(store)
        store.close()


def print_plan(store: SqlStorage) -> None:
    digests = ", ".join(f"'{run_key_digest(f'file-{i}.csv')}'" for i in range(10))
    query = "SELECT key_digest FROM sensor_run_key WHERE sensor_name = 'files' AND key_digest IN "
    prefix = "EXPLAIN QUERY PLAN " if store.engine.dialect.name == "sqlite" else "EXPLAIN "
    with store.engine.connect() as connection:
        plan = connection.execute(text(f"{prefix}{query}({digests})")).fetchall()
    print("  plan:", " | ".join(str(row[-1]) for row in plan))


def main(argv: list[str]) -> None:
    postgres = None
    if "--postgres" in argv:
        at = argv.index("--postgres")
        postgres = argv[at + 1]
        argv = argv[:at] + argv[at + 2 :]
    os.environ.setdefault("PARTITA_SECRET_KEY", "bench-signing-key-0123456789abcdef0123")
    if argv[:1] == ["run-keys"]:
        run_keys(postgres)
        return
    if argv[:1] != ["cost"]:
        raise SystemExit(__doc__)
    count, interval, windows = (int(argv[1]) if len(argv) > 1 else 1000,
                                float(argv[2]) if len(argv) > 2 else 30.0,
                                int(argv[3]) if len(argv) > 3 else 4)  # fmt: skip
    cost(count, interval, windows, postgres)


if __name__ == "__main__":
    main(sys.argv[1:])
