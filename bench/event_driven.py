"""CPU time of the scheduler's event-driven services on SQLite.

Usage: ``python bench/event_driven.py [DAGS] [ASSETS]`` (defaults 1000 and 200).

- ``AssetTriggerService.run_once`` over DAGS asset-scheduled DAGs: an idle
  pass (no new event: one query), and the pass after one event of each asset
  (DAGS runs queued, each with its cursor, one transaction per DAG);
- ``AutomationService.run_once`` over a chain of ASSETS eager assets: an idle
  pass, and the pass after the chain's root was materialized (one run
  requesting the whole chain).

Each figure is the best process time of 5 tries (CPU time: other processes on a
shared machine disturb it less than wall time).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from partita import DAG, Asset, AssetIn, AutomationCondition, Definitions, EmptyOperator, asset
from partita.definitions.automation_job import AUTOMATION_DAG_ID
from partita.definitions.states import RunState
from partita.scheduler.asset_triggers import AssetTriggerService
from partita.scheduler.automation import AutomationService
from partita.storage.records import AssetMaterializationRecord, DagRunRecord, WriteBatch
from partita.storage.sql import SqlStorage


def best(action: Callable[[], Any], tries: int = 5) -> float:
    times = []
    for _ in range(tries):
        started = time.process_time()
        action()
        times.append(time.process_time() - started)
    return min(times)


def events(storage: SqlStorage, keys: list[Any]) -> None:
    now = datetime.now(UTC)
    run = DagRunRecord("producer", "producer", "", RunState.SUCCESS, queued_at=now)
    storage.write(
        WriteBatch(
            runs=[run],
            materializations=[AssetMaterializationRecord(k, "producer", "t", now) for k in keys],
        )
    )


def asset_triggers(folder: Path, count: int) -> None:
    dags: dict[str, DAG] = {}
    assets = [Asset(f"s3://bucket/table{i}") for i in range(count)]
    for i, one in enumerate(assets):
        with DAG(f"consumer{i}", schedule=[one]) as dag:
            EmptyOperator(task_id="t")
        dags[dag.dag_id] = dag
    with SqlStorage(f"sqlite:///{folder / 'triggers.db'}", folder / "s1") as storage:
        service = AssetTriggerService(storage, lambda: dags)
        service.run_once(datetime.now(UTC))  # the cursors
        idle = best(lambda: service.run_once(datetime.now(UTC)))
        events(storage, [a.key for a in assets])
        started = time.process_time()
        queued = service.run_once(datetime.now(UTC))
        busy = time.process_time() - started
    print(
        f"asset triggers, {count} DAGs: idle pass {idle * 1000:.2f} ms CPU; "
        f"pass after one event each ({len(queued)} runs queued) {busy * 1000:.0f} ms CPU"
    )


def automation(folder: Path, length: int) -> None:
    @asset(name="n0")
    def root() -> int:
        return 0

    chain: list[Any] = [root]
    for i in range(1, length):

        @asset(
            name=f"n{i}",
            ins={"up": AssetIn(key=f"n{i - 1}")},
            automation_condition=AutomationCondition.eager(),
        )
        def step(up: int) -> int:
            return up + 1

        chain.append(step)
    defs = Definitions(assets=chain)
    dags = {AUTOMATION_DAG_ID: defs.get_dag(AUTOMATION_DAG_ID)}
    with SqlStorage(f"sqlite:///{folder / 'automation.db'}", folder / "s2") as storage:
        service = AutomationService(storage, lambda: dags)
        service.run_once(datetime.now(UTC))  # first evaluation: the states
        idle = best(lambda: service.run_once(datetime.now(UTC)))
        events(storage, [chain[0].key])
        started = time.process_time()
        run_id = service.run_once(datetime.now(UTC))
        busy = time.process_time() - started
    assert run_id is not None
    print(
        f"automation, chain of {length} eager assets: idle pass {idle * 1000:.1f} ms CPU; "
        f"pass requesting the chain {busy * 1000:.1f} ms CPU"
    )


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    length = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    with tempfile.TemporaryDirectory() as tmp:
        asset_triggers(Path(tmp), count)
        automation(Path(tmp), length)


if __name__ == "__main__":
    main()
