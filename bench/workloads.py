"""partita's benchmark workloads: each builds a DAG, runs it once, and reports what it measured.

Run one in a fresh interpreter: ``python bench/workloads.py NAME STORE`` prints
one JSON line (run seconds measured inside the process, task instance count,
peak RSS). ``bench/run.py`` calls this for every workload, several times.
The workloads are the ones the issues name (W1 chain, W2 fan, W3 map,
W4 data, W5 scale), written the way a partita user would write them.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from partita import DAG, EmptyOperator, PythonOperator, task
from partita.storage.base import Storage
from partita.storage.memory import MemoryStorage


def _noop() -> None:
    return None


def chain(n: int = 100) -> DAG:
    """W1: ``n`` no-op tasks, each depending on the one before."""
    with DAG("w1_chain") as dag:
        prev = None
        for i in range(n):
            t = PythonOperator(task_id=f"t{i}", python_callable=_noop)
            if prev is not None:
                prev >> t
            prev = t
    return dag


def fan(n: int = 500) -> DAG:
    """W2: a root, ``n`` independent no-op tasks, and a join depending on all of them."""
    with DAG("w2_fan") as dag:
        root = EmptyOperator(task_id="root")
        join = EmptyOperator(task_id="join")
        for i in range(n):
            root >> PythonOperator(task_id=f"t{i}", python_callable=_noop) >> join
    return dag


def independent(n: int = 10_000) -> DAG:
    """W5a: ``n`` independent no-op tasks."""
    with DAG("w5_independent") as dag:
        for i in range(n):
            PythonOperator(task_id=f"t{i}", python_callable=_noop)
    return dag


def mapped(n: int = 1000) -> DAG:
    """W3: a task returns range(n) as a list, a mapped task doubles each, a task sums them."""
    with DAG("w3_map") as dag:

        @task
        def numbers() -> list[int]:
            return list(range(n))

        @task
        def double(x: int) -> int:
            return 2 * x

        @task
        def total(values: Any) -> int:
            result = sum(values)
            expected = n * (n - 1)
            if result != expected:
                raise ValueError(f"sum is {result}, expected {expected}")
            return result

        total(double.expand(x=numbers()))
    return dag


def mapped_noop(n: int = 100_000) -> DAG:
    """W5b: a no-op task mapped over ``n`` literal items."""
    with DAG("w5_map") as dag:

        @task
        def noop(x: int) -> None:
            return None

        noop.partial().expand(x=list(range(n)))
    return dag


def data(stages: int = 5, megabytes: int = 50) -> DAG:
    """W4: a chain of ``stages`` tasks passing a ``megabytes`` MB object along."""
    with DAG("w4_data") as dag:

        @task
        def make() -> bytes:
            return bytes(megabytes * 1024 * 1024)

        @task
        def passthrough(blob: bytes) -> bytes:
            return blob

        value = make()
        for _ in range(stages - 1):
            value = passthrough(value)
    return dag


def data_list(stages: int = 5, megabytes: int = 50) -> DAG:
    """W4 as a list: a chain passing a list of ints whose pointer array is ``megabytes`` MiB.

    Airflow's XCom rejects bytes, so the peer comparison also runs W4 with
    this list (6,553,600 ints for 50 MiB) in every framework.
    """
    items = megabytes * 1024 * 1024 // 8
    with DAG("w4_data_list") as dag:

        @task
        def make() -> list[int]:
            return list(range(items))

        @task
        def passthrough(blob: list[int]) -> list[int]:
            return blob

        value = make()
        for _ in range(stages - 1):
            value = passthrough(value)
    return dag


WORKLOADS: dict[str, tuple[Callable[[], DAG], int]] = {
    "chain100": (chain, 100),
    "fan500": (fan, 502),
    "independent10k": (independent, 10_000),
    "independent100": (lambda: independent(100), 100),
    "map1k": (mapped, 1002),
    "map1k_noop": (lambda: mapped_noop(1000), 1000),
    "map100k_noop": (mapped_noop, 100_000),
    "data50mb": (data, 5),
    "data_list50mb": (data_list, 5),
}


def open_store(kind: str, scratch: Path) -> Storage:
    if kind == "memory":
        return MemoryStorage()
    if kind == "sqlite":  # imported here: SQLAlchemy's import is not part of a memory run
        from partita.settings import load_settings
        from partita.storage.signing import load_signer
        from partita.storage.sql import SqlStorage

        # The key file goes to the scratch home, as $PARTITA_HOME/secret.key would.
        signer = load_signer(load_settings(env={"PARTITA_HOME": str(scratch)}))
        url = f"sqlite:///{scratch / 'partita.db'}"
        return SqlStorage(url, scratch / "storage", signer=signer)
    raise SystemExit(f"unknown store {kind!r}: use memory or sqlite")


def main(name: str, store: str) -> None:
    build, instances = WORKLOADS[name]
    dag = build()
    with tempfile.TemporaryDirectory(prefix="partita-bench-") as scratch:
        storage = open_store(store, Path(scratch))
        # The engine's modules load before the clock, as the peers' do on import (partita's
        # package is lazy, so they would otherwise load inside the first dag.test()); the
        # "process s" column still counts every import.
        importlib.import_module("partita.bootstrap").install()
        start = time.perf_counter()
        # The in-process test run, as a user calls it; its console log off, as Airflow's
        # goes to log files: stdout carries only the JSON line below.
        result = dag.test(storage=storage, verbose=False)
        seconds = time.perf_counter() - start
        storage.close()
    if not result.success:
        raise SystemExit(f"{name} on {store} ended {result.state}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"run_s": seconds, "instances": instances, "peak_mb": peak_mb}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
