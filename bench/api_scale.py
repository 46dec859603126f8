"""Times the REST API's list pages with 100,000 runs and 1,000 DAGs stored.

    python3 bench/api_scale.py [--runs 100000] [--dags 1000] [--assets 1000]
                               [--ticks 100000] [--backfills 500] [--postgres URL]

Fills a fresh SQLite database (and a PostgreSQL one with ``--postgres``), then
asks the app (through httpx, in this process, with an API token) for the DAG
list and run list pages, filtered, deep and shallow, and one run; then for the
asset catalog (assets in chains of 10, 20 materializations each), one asset,
its history and the lineage, a sensor's ticks (``--ticks`` of one sensor among
ten) and the backfill list. Prints one
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

from partita.definitions.asset_key import AssetKey
from partita.definitions.states import RunState
from partita.engine.asset_lineage import UPSTREAM_VERSIONS_KEY
from partita.server.app import create_app
from partita.server.auth.accounts import create_token
from partita.server.config import ServerConfig
from partita.settings import load_settings
from partita.storage.auth import Role, UserRecord
from partita.storage.backfills import (
    BackfillRecord,
    BackfillStatus,
    PlannedAction,
    PlannedRun,
    Reprocess,
)
from partita.storage.base import Storage
from partita.storage.dag_records import DagParse, ParsedDag
from partita.storage.instigators import InstigatorKind, TickRecord, TickStatus, TickWrite
from partita.storage.records import AssetMaterializationRecord, DagRunRecord, WriteBatch
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
    storage.auth.create_user(UserRecord("bench", Role.VIEWER, "not-a-hash", T0))


def analyze(storage: Storage) -> None:
    """On PostgreSQL, what autovacuum does after a bulk load: statistics for the planner,
    and the visibility map that lets count(*) read the index only."""
    if isinstance(storage, SqlStorage) and storage.engine.dialect.name == "postgresql":
        with storage.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")


def fill_automation(storage: Storage, assets: int, ticks: int, backfills: int) -> None:
    """Assets in chains of 10 (each reading the one before), 20 materializations each; ten
    sensors, the first with ``ticks`` ticks; ``backfills`` backfills of 10 dates each."""
    records = []
    for round_ in range(20):
        when = T0 + timedelta(hours=round_)
        for i in range(assets):
            upstream = {f"asset_{i - 1:05d}": f"v{round_}"} if i % 10 else {}
            metadata: dict[str, object] = {"rows": i + round_, UPSTREAM_VERSIONS_KEY: upstream}
            records.append(
                AssetMaterializationRecord(
                    AssetKey(f"asset_{i:05d}"), f"run_{round_}", f"t{i}", when,
                    metadata, data_version=f"v{round_}",
                )
            )  # fmt: skip
        storage.write(WriteBatch(materializations=records))
        records = []
    sensor = InstigatorKind.SENSOR
    writes = []
    for i in range(ticks + 9):
        name = "sensor_0" if i < ticks else f"sensor_{i - ticks + 1}"
        status = (TickStatus.SKIPPED, TickStatus.SKIPPED, TickStatus.REQUESTED, TickStatus.FAILED)
        tick = TickRecord(sensor, name, status[i % 4], T0 + timedelta(seconds=i))
        writes.append(TickWrite(tick))
        if len(writes) == 5000:
            storage.instigators.record_ticks(writes)
            writes = []
    storage.instigators.record_ticks(writes)
    for b in range(backfills):
        created = T0 + timedelta(minutes=b)
        record = BackfillRecord(
            f"bf-{b:06d}", f"dag_{b % 100:04d}", T0, T0 + timedelta(days=9),
            BackfillStatus.COMPLETED if b % 3 else BackfillStatus.RUNNING, Reprocess.NONE, 2, 10,
            created,
        )  # fmt: skip
        planned = [
            PlannedRun(
                record.backfill_id, n, T0 + timedelta(days=n), T0 + timedelta(days=n),
                T0 + timedelta(days=n + 1), f"bf_{b}_{n}", PlannedAction.CREATE,
            )
            for n in range(10)
        ]  # fmt: skip
        storage.backfills.create(record, planned)


def median_ms(client: TestClient, url: str) -> float:
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return statistics.median(samples)


def measure(storage: Storage, label: str, args: argparse.Namespace, home: Path) -> None:
    dags, runs = args.dags, args.runs
    began = time.perf_counter()
    fill(storage, dags, runs)
    fill_automation(storage, args.assets, args.ticks, args.backfills)
    analyze(storage)
    print(
        f"{label}: stored {dags} DAGs, {runs} runs, {args.assets} assets "
        f"({args.assets * 20} materializations), {args.ticks} ticks and {args.backfills} "
        f"backfills in {time.perf_counter() - began:.1f} s"
    )
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
        "/api/v1/assets?limit=100",
        f"/api/v1/assets?limit=100&offset={max(args.assets - 100, 0)}",
        "/api/v1/assets?search=asset_009&limit=100",
        "/api/v1/assets/asset_00005",
        "/api/v1/assets/asset_00005/materializations?limit=100",
        "/api/v1/assets/asset_00005/lineage",
        "/api/v1/lineage",
        "/api/v1/sensors?limit=100",
        "/api/v1/sensors/sensor_0/ticks?limit=100",
        f"/api/v1/sensors/sensor_0/ticks?limit=100&offset={args.ticks // 2}",
        "/api/v1/sensors/sensor_0/ticks?status=failed&limit=100&offset=1000",
        "/api/v1/backfills?limit=100",
        "/api/v1/backfills?status=running&limit=100",
        "/api/v1/backfills/bf-000001",
    ]
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        # The catalog is computed on the first request after a materialization (then kept
        # until the next one): such a request is timed on its own, after a warm-up.
        client.get("/api/v1/assets?limit=100").raise_for_status()
        cold = []
        for n in range(REPEAT):
            record = AssetMaterializationRecord(
                AssetKey("asset_00000"), "run_new", "t0", T0 + timedelta(days=1, seconds=n)
            )
            storage.write(WriteBatch(materializations=[record]))
            started = time.perf_counter()
            client.get("/api/v1/assets?limit=100").raise_for_status()
            cold.append((time.perf_counter() - started) * 1000)
        print(
            f"{label}: {statistics.median(cold):7.1f} ms  GET /api/v1/assets?limit=100 "
            "(after a new materialization: the catalog computed again)"
        )
        for url in urls:
            print(f"{label}: {median_ms(client, url):7.1f} ms  GET {url}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--dags", type=int, default=1_000)
    parser.add_argument("--assets", type=int, default=1_000)
    parser.add_argument("--ticks", type=int, default=100_000)
    parser.add_argument("--backfills", type=int, default=500)
    parser.add_argument("--postgres", metavar="URL", help="also measure on this (empty) database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with SqlStorage(f"sqlite:///{root / 'bench.db'}", root / "storage") as storage:
            measure(storage, "sqlite", args, root)
        if args.postgres:
            with SqlStorage(args.postgres, root / "pg-storage") as storage:
                measure(storage, "postgres", args, root)


if __name__ == "__main__":
    main()
