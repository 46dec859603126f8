"""Times the REST API's list pages with 100,000 runs and 1,000 DAGs stored.

    python3 bench/api_scale.py [--runs 100000] [--dags 1000] [--postgres URL]

Fills a fresh SQLite database (and a PostgreSQL one with ``--postgres``), then
asks the app (through httpx, in this process, with an API token) for the DAG
list and run list pages, filtered, deep and shallow, and one run. Prints one
line per request: the median of 7 repetitions in milliseconds, which the
target says must stay <= 100 ms for any list page.

Design decision: the rows are written straight through ``Storage.write`` in
batches (no run is executed), so what is timed is the API and its queries.
On PostgreSQL the bulk load is followed by ``VACUUM ANALYZE`` (what
autovacuum does soon after on a real server), so the planner knows the table.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

from partita.definitions.states import RunState
from partita.server.app import create_app
from partita.server.auth.accounts import create_token
from partita.server.config import ServerConfig
from partita.settings import load_settings
from partita.storage.auth import Role, UserRecord
from partita.storage.base import Storage
from partita.storage.dag_records import DagParse, ParsedDag
from partita.storage.records import DagRunRecord, WriteBatch
from partita.storage.sql import SqlStorage

warnings.simplefilter("ignore", DeprecationWarning)
from fastapi.testclient import TestClient  # noqa: E402 - after the filter above

T0 = datetime(2025, 1, 1, tzinfo=UTC)
REPEAT = 7
STATES = [RunState.SUCCESS] * 8 + [RunState.FAILED, RunState.QUEUED]


def fill(storage: Storage, dags: int, runs: int) -> None:
    parsed = [
        ParsedDag(f"dag_{i:04d}", f"/dags/f{i // 10}.py", "@daily", tags=(f"team{i % 7}",))
        for i in range(dags)
    ]
    storage.registry.record_parse(DagParse("/dags", parsed, {}, T0))
    batch: list[DagRunRecord] = []
    for i in range(runs):
        when = T0 + timedelta(minutes=i)
        batch.append(
            DagRunRecord(
                f"scheduled__{when.isoformat()}__{i:06d}", f"dag_{i % dags:04d}", "v1",
                STATES[i % len(STATES)], "scheduled", when, when, when, {"i": i}, when, when, when,
            )
        )  # fmt: skip
        if len(batch) == 5000:
            storage.write(WriteBatch(runs=batch))
            batch = []
    storage.write(WriteBatch(runs=batch))
    if isinstance(storage, SqlStorage) and storage.engine.dialect.name == "postgresql":
        # What autovacuum does after a bulk load: statistics for the planner, and the
        # visibility map that lets count(*) read the index only.
        with storage.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    storage.auth.create_user(UserRecord("bench", Role.VIEWER, "not-a-hash", T0))


def median_ms(client: TestClient, url: str) -> float:
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return statistics.median(samples)


def measure(storage: Storage, label: str, dags: int, runs: int, home: Path) -> None:
    began = time.perf_counter()
    fill(storage, dags, runs)
    print(f"{label}: stored {dags} DAGs and {runs} runs in {time.perf_counter() - began:.1f} s")
    token = create_token(storage.auth, "bench").secret
    settings = load_settings(env={"PARTITA_HOME": str(home)}, cwd=home)
    app = create_app(storage, ServerConfig(settings))
    some_run = storage.runs.list_runs(limit=1, offset=runs // 2)[0].run_id
    urls = [
        "/api/v1/dags?limit=100",
        "/api/v1/dags?limit=100&offset=900",
        "/api/v1/dags?tag=team3&limit=100",
        "/api/v1/dags?dag_id_pattern=dag_09*",
        "/api/v1/runs?limit=100",
        f"/api/v1/runs?limit=100&offset={runs // 2}",
        f"/api/v1/runs?limit=100&offset={runs - 100}",
        "/api/v1/runs?dag_id=dag_0042&limit=100",
        "/api/v1/runs?state=failed&limit=100",
        "/api/v1/runs?state=queued&limit=100&offset=5000",
        f"/api/v1/runs/{some_run}",
    ]
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        for url in urls:
            print(f"{label}: {median_ms(client, url):7.1f} ms  GET {url}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--dags", type=int, default=1_000)
    parser.add_argument("--postgres", metavar="URL", help="also measure on this (empty) database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with SqlStorage(f"sqlite:///{root / 'bench.db'}", root / "storage") as storage:
            measure(storage, "sqlite", args.dags, args.runs, root)
        if args.postgres:
            with SqlStorage(args.postgres, root / "pg-storage") as storage:
                measure(storage, "postgres", args.dags, args.runs, root)


if __name__ == "__main__":
    main()
