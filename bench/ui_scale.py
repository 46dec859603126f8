"""Times the web UI's pages at scale: the DAG list with 100,000 runs and 1,000 DAGs stored,
the run page of a 10,000-task run, and the run page of a task mapped 100,000 times.

    python3 bench/ui_scale.py [--runs 100000] [--dags 1000] [--tasks 10000]
                              [--width 100000] [--postgres URL]

Fills a fresh SQLite database (and, with ``--postgres``, a new database made on
that PostgreSQL server and dropped afterwards) as
``bench/api_scale.py`` does, adds the two big runs (each with its stored DAG
version: the 10,000 tasks in 100 task groups, the mapped task between two
plain ones), logs in through the API and asks the app (httpx, in this process)
for each page. Prints one line per page: the median of 5 repetitions in
milliseconds and the page's size. The targets: the DAG list <= 300 ms, each
run page <= 1,000 ms.

Design decision: the rows are written straight through ``Storage.write``
(nothing is executed), so what is timed is the pages and their queries.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from api_scale import fill
from scratch_db import scratch_database

from partita.definitions.states import RunState, TaskState
from partita.server.app import create_app
from partita.server.auth.secrets import hash_password
from partita.server.config import ServerConfig
from partita.settings import load_settings
from partita.storage.auth import Role, UserRecord
from partita.storage.base import Storage
from partita.storage.records import DagRunRecord, DagVersionRecord, TaskInstanceRecord, WriteBatch
from partita.storage.sql import SqlStorage

warnings.simplefilter("ignore", DeprecationWarning)
from fastapi.testclient import TestClient  # noqa: E402 - after the filter above

T0 = datetime(2025, 6, 1, tzinfo=UTC)
REPEAT = 5
PASSWORD = "bench password"


def _instance(run_id: str, task_id: str, index: int, i: int) -> TaskInstanceRecord:
    state = TaskState.FAILED if i % 50 == 0 else TaskState.SUCCESS
    began = T0 + timedelta(milliseconds=10 * i)
    return TaskInstanceRecord(
        run_id, task_id, index, 1, 1, state, "PythonOperator", began,
        began + timedelta(milliseconds=40), 0.04, "bench",
    )  # fmt: skip


def _write_run(storage: Storage, run_id: str, structure: dict[str, Any], tis: list[Any]) -> None:
    version = DagVersionRecord(run_id, "v-" + run_id, structure, T0)
    run = DagRunRecord(run_id, run_id, version.version, RunState.SUCCESS, queued_at=T0)
    storage.write(WriteBatch(runs=[run], dag_versions=[version]))
    for start in range(0, len(tis), 5000):
        storage.write(WriteBatch(task_instances=tis[start : start + 5000]))


def fill_big_runs(storage: Storage, tasks: int, width: int) -> None:
    """A run of ``tasks`` tasks in 100 groups, and a run with one task mapped ``width`` times."""
    groups = 100
    per = max(1, tasks // groups)
    spec = [
        {"task_id": f"g{i // per:03d}.t{i:05d}", "upstream": [] if i % per == 0
         else [f"g{i // per:03d}.t{i - 1:05d}"], "group": f"g{i // per:03d}"}
        for i in range(tasks)
    ]  # fmt: skip
    structure = {"tasks": spec, "task_groups": {f"g{g:03d}": None for g in range(groups)}}
    tis = [_instance("big_run", t["task_id"], -1, i) for i, t in enumerate(spec)]
    _write_run(storage, "big_run", structure, tis)
    mapped = {
        "tasks": [
            {"task_id": "start", "upstream": [], "group": None},
            {"task_id": "wide", "upstream": ["start"], "group": None},
            {"task_id": "end", "upstream": ["wide"], "group": None},
        ]
    }
    tis = [_instance("wide_run", "start", -1, 0)]
    tis += [_instance("wide_run", "wide", i, i) for i in range(width)]
    tis += [_instance("wide_run", "end", -1, width)]
    _write_run(storage, "wide_run", mapped, tis)


def median_ms(client: TestClient, url: str) -> tuple[float, int]:
    samples, size = [], 0
    for _ in range(REPEAT):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        size = len(response.content)
    return statistics.median(samples), size


def measure(storage: Storage, label: str, args: argparse.Namespace, home: Path) -> None:
    began = time.perf_counter()
    fill(storage, args.dags, args.runs)
    fill_big_runs(storage, args.tasks, args.width)
    if isinstance(storage, SqlStorage) and storage.engine.dialect.name == "postgresql":
        with storage.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    elapsed = time.perf_counter() - began
    print(f"{label}: stored {args.dags} DAGs, {args.runs} runs and the big runs in {elapsed:.1f} s")
    storage.auth.create_user(UserRecord("viewer", Role.VIEWER, hash_password(PASSWORD), T0))
    settings = load_settings(env={"PARTITA_HOME": str(home)}, cwd=home)
    app = create_app(storage, ServerConfig(settings))
    urls = [
        "/dags",
        "/dags?page=20",
        "/dags?q=dag_09*",
        "/dags?tag=team3&page=3",
        "/runs/big_run",
        "/runs/big_run?tpage=100",
        "/runs/big_run?expand=g042",
        "/runs/wide_run",
        "/runs/wide_run?task=wide",
        "/runs/wide_run?task=wide&istate=failed&ipage=10",
        f"/runs/wide_run?task=wide&ipage={args.width // 100}",
        f"/runs/wide_run?task=wide&map_index={args.width * 7 // 9}",
    ]
    with TestClient(app) as client:
        login = {"username": "viewer", "password": PASSWORD}
        client.post("/api/v1/auth/login", json=login).raise_for_status()
        for url in urls:
            ms, size = median_ms(client, url)
            print(f"{label}: {ms:7.1f} ms  {size / 1024:7.1f} KiB  GET {url}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--dags", type=int, default=1_000)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--width", type=int, default=100_000)
    parser.add_argument(
        "--postgres", metavar="URL", help="also measure on a new database of this server"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with SqlStorage(f"sqlite:///{root / 'bench.db'}", root / "storage") as storage:
            measure(storage, "sqlite", args, root)
        if args.postgres:
            # A store on PostgreSQL signs stored outputs with a shared key; the bench stores none.
            os.environ.setdefault("PARTITA_SECRET_KEY", secrets.token_hex(32))
            with (
                scratch_database(args.postgres, root, "ui_scale") as url,
                SqlStorage(url, root / "pg") as storage,
            ):
                measure(storage, "postgres", args, root)


if __name__ == "__main__":
    main()
