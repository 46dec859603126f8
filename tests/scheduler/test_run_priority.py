"""Queued runs start oldest first across DAGs (queued_at, then logical date), also when
limits hold the oldest back; on memory, SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from partita import DAG, EmptyOperator
from partita.definitions.states import RunState
from partita.scheduler.starter import RunStarter
from partita.storage.base import Storage
from partita.storage.records import DagRunRecord
from storage_backends import ALL_KINDS, open_storage

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(params=ALL_KINDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    with open_storage(request.param, request, tmp_path) as store:
        yield store


def queued(run_id: str, dag_id: str, queued_minutes: int, logical_days: int) -> DagRunRecord:
    when = T0 + timedelta(days=logical_days)
    return DagRunRecord(
        run_id, dag_id, "", RunState.QUEUED, "manual", when, when, when, {},
        T0 + timedelta(minutes=queued_minutes),
    )  # fmt: skip


def make_dag(dag_id: str, max_active_runs: int = 16) -> DAG:
    with DAG(dag_id, max_active_runs=max_active_runs) as dag:
        EmptyOperator(task_id="only")
    return dag


class Starter:
    """A ``RunStarter`` whose started runs stay running (nothing drives them); with
    ``slot_frees``, each pass has its ``max_concurrent_runs`` free again."""

    def __init__(
        self, storage: Storage, dags: list[DAG], max_concurrent_runs: int, slot_frees: bool = False
    ) -> None:
        self.started: list[str] = []
        by_id = {dag.dag_id: dag for dag in dags}
        self.starter = RunStarter(
            storage, "scheduler-1", by_id.get, lambda run, dag: self.started.append(run.run_id),
            max_concurrent_runs=max_concurrent_runs,
            active_count=lambda: 0 if slot_frees else len(self.started),
        )  # fmt: skip

    def run_once(self) -> list[str]:
        return self.starter.run_once(T0)


def test_oldest_queued_first_then_logical_date_across_dags(storage: Storage) -> None:
    storage.queue.enqueue(
        [
            queued("a_latest_queued", "x", 5, 0),
            queued("b_later_date", "x", 0, 2),
            queued("c_earlier_date", "y", 0, 1),  # same queued_at: the earlier date first
            queued("z_first_queued", "y", -1, 9),
        ]
    )
    starter = Starter(storage, [make_dag("x"), make_dag("y")], 1, slot_frees=True)
    order = [run_id for _ in range(4) for run_id in starter.run_once()]
    assert order == ["z_first_queued", "c_earlier_date", "b_later_date", "a_latest_queued"]


def test_a_newer_run_of_a_free_dag_is_not_stuck_behind_runs_held_by_limits(
    storage: Storage,
) -> None:
    # 12 old runs of a DAG that may run one at a time, then one newer run of another DAG
    storage.queue.enqueue([queued(f"busy_{i:02d}", "busy", i, i) for i in range(12)])
    storage.queue.enqueue([queued("free_1", "free", 60, 0)])
    starter = Starter(
        storage, [make_dag("busy", max_active_runs=1), make_dag("free")], max_concurrent_runs=3
    )
    assert starter.run_once() == ["busy_00", "free_1"]  # the other busy runs wait
    assert starter.run_once() == []
    assert storage.runs.get_run("busy_01").state is RunState.QUEUED
    assert storage.runs.get_run("free_1").state is RunState.RUNNING


def test_a_claim_pages_down_the_queue_in_order(storage: Storage) -> None:
    storage.queue.enqueue([queued(f"r{i:02d}", "etl", i, 0) for i in range(7)])
    with storage.queue.claim_queued_runs("s1", 3) as claim:
        assert [r.run_id for r in claim.queued] == ["r00", "r01", "r02"]
        assert [r.run_id for r in claim.more(3)] == ["r03", "r04", "r05"]
        assert [r.run_id for r in claim.more(3)] == ["r06"]
        assert claim.more(3) == []
        assert len(claim.queued) == 7
