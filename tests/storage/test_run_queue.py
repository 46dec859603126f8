"""The run queue's contract on memory, SQLite and PostgreSQL, and its migration (0012)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from migration_helpers import OLD_RUN, downgrade_to, revision_before, upgrade_with

from partita.definitions.states import RunState
from partita.storage.base import Storage
from partita.storage.dag_records import DagParse, ParsedDag
from partita.storage.records import DagRunRecord
from partita.storage.run_queue import PoolRecord, SchedulerRecord, SlotLease
from partita.storage.sql import SqlStorage

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def queued(run_id: str, dag_id: str = "etl", minutes: int = 0) -> DagRunRecord:
    when = T0 + timedelta(minutes=minutes)
    return DagRunRecord(
        run_id, dag_id, "", RunState.QUEUED, "scheduled", when, when, when, {"a": 1}, when
    )


def test_enqueue_inserts_each_run_id_once(storage: Storage) -> None:
    assert storage.queue.enqueue([queued("r1"), queued("r2")]) == ["r1", "r2"]
    assert storage.queue.enqueue([queued("r1"), queued("r3")]) == ["r3"]
    run = storage.runs.get_run("r1")
    assert run.state is RunState.QUEUED and run.conf == {"a": 1} and run.run_type == "scheduled"


def test_a_claim_gives_queued_runs_oldest_first_and_starts_them(storage: Storage) -> None:
    assert not storage.queue.has_queued()
    storage.queue.enqueue([queued("late", minutes=5), queued("early"), queued("other", "x", 1)])
    assert storage.queue.has_queued()
    with storage.queue.claim_queued_runs("s1", 2) as claim:
        assert [r.run_id for r in claim.queued] == ["early", "other"]
        assert claim.running == {}
        claim.start(claim.queued[0], T0)
        assert claim.running == {"etl": 1}
    started = storage.runs.get_run("early")
    assert started.state is RunState.RUNNING and started.pid is None
    assert storage.queue.claimed_runs("s1") == ["early"]
    with storage.queue.claim_queued_runs("s2", 10) as claim:
        assert [r.run_id for r in claim.queued] == ["other", "late"]
        assert claim.running == {"etl": 1}


def test_a_claim_that_fails_starts_nothing(storage: Storage) -> None:
    storage.queue.enqueue([queued("r1")])
    with pytest.raises(RuntimeError), storage.queue.claim_queued_runs("s1", 10) as claim:
        claim.start(claim.queued[0], T0)
        raise RuntimeError("boom")
    assert storage.runs.get_run("r1").state is RunState.QUEUED
    assert storage.queue.claimed_runs("s1") == []


def test_runs_of_a_dead_scheduler_are_adopted_once(storage: Storage) -> None:
    storage.queue.enqueue([queued("r1"), queued("r2")])
    with storage.queue.claim_queued_runs("dead", 10) as claim:
        claim.start(claim.queued[0], T0)
    with storage.queue.claim_queued_runs("alive", 10) as claim:
        claim.start(claim.queued[0], T0)
    assert storage.queue.owners(["r1", "r2", "nope"]) == {"r1": "dead", "r2": "alive"}
    adopted = storage.queue.adopt_orphaned_runs("new", live={"alive"})
    assert [r.run_id for r in adopted] == ["r1"]
    assert storage.queue.owners(["r1"]) == {"r1": "new"}
    assert storage.queue.adopt_orphaned_runs("other", live={"alive", "new"}) == []
    assert storage.queue.claimed_runs("new") == ["r1"]
    storage.queue.release("r1")
    assert storage.queue.claimed_runs("new") == []


def test_pool_slot_leases_count_over_schedulers_but_not_the_dead(storage: Storage) -> None:
    pools = storage.pools
    with pools.claim_slots("s1", ["narrow"]) as claim:
        assert claim.used == {}
        claim.take([SlotLease("r1", "a", -1, "narrow", 1), SlotLease("r1", "b", 0, "narrow", 2)])
    with pools.claim_slots("s2", ["narrow", "other"]) as claim:
        assert claim.used == {"narrow": 3}
        claim.take([SlotLease("r2", "a", -1, "other", 1)])
    with pools.claim_slots("s2", ["narrow"], dead={"s1"}) as claim:
        assert claim.used == {}
    with pytest.raises(RuntimeError), pools.claim_slots("s2", ["other"]) as claim:
        claim.take([SlotLease("r2", "b", -1, "other", 5)])
        raise RuntimeError("the claim fails: nothing taken")
    with pools.claim_slots("s2", ["narrow"], release=[("r1", "b", 0)]) as claim:
        assert claim.used == {"narrow": 1}
        claim.take([SlotLease("r1", "a", -1, "narrow", 1)])  # s2 adopted r1: its lease now
    with pools.claim_slots("s3", ["narrow", "other"], dead={"s1"}) as claim:
        assert claim.used == {"narrow": 1, "other": 1}
    pools.release_slots([("r1", "a", -1)])
    pools.release_run_slots("r2")
    with pools.claim_slots("s1", ["narrow", "other"]) as claim:
        assert claim.used == {}


def test_heartbeats_are_upserted_and_removed(storage: Storage) -> None:
    first = SchedulerRecord("s1", "host", 10, T0, T0)
    storage.queue.beat(first)
    storage.queue.beat(SchedulerRecord("s1", "host", 10, T0, T0 + timedelta(seconds=5)))
    storage.queue.beat(SchedulerRecord("s2", "host", 11, T0, T0 + timedelta(seconds=1)))
    found = storage.queue.list_schedulers()
    assert [(s.scheduler_id, s.heartbeat_at) for s in found] == [
        ("s1", T0 + timedelta(seconds=5)),
        ("s2", T0 + timedelta(seconds=1)),
    ]
    storage.queue.remove_scheduler("s1")
    assert [s.scheduler_id for s in storage.queue.list_schedulers()] == ["s2"]


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])]
)
def test_upgrading_a_database_at_0002_adds_the_queue_tables_and_keeps_its_runs(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("sqlite_url" if database == "sqlite" else "pg_fresh_database_url")
    assert "run_claim" not in upgrade_with(url, "0002", OLD_RUN)
    with SqlStorage(url, tmp_path / "storage") as store:  # migrates to head on open
        assert store.runs.get_run("old").state is RunState.SUCCESS
        store.queue.enqueue([queued("new")])
        with store.queue.claim_queued_runs("s1", 10) as claim:
            assert [r.run_id for r in claim.queued] == ["new"]
    tables = downgrade_to(url, revision_before("0012"))
    assert "run_claim" not in tables and "scheduler_heartbeat" not in tables


def test_pools_are_set_resized_and_listed(storage: Storage) -> None:
    assert storage.pools.list_pools() == []
    storage.pools.set_pool(PoolRecord("warehouse", 2, "the DB"))
    storage.pools.set_pool(PoolRecord("api", 5))
    storage.pools.set_pool(PoolRecord("warehouse", 3, "the DB"))
    assert storage.pools.list_pools() == [
        PoolRecord("api", 5),
        PoolRecord("warehouse", 3, "the DB"),
    ]
    assert storage.pools.delete_pool("api") is True
    assert storage.pools.delete_pool("api") is False
    assert storage.pools.list_pools() == [PoolRecord("warehouse", 3, "the DB")]


@pytest.mark.postgres
def test_a_concurrent_claim_counts_the_runs_another_claim_started(
    pg_clean_database_url: str, tmp_path: Path
) -> None:
    with SqlStorage(pg_clean_database_url, tmp_path / "storage") as store:
        store.registry.record_parse(DagParse("loc", [ParsedDag("etl")], {}, T0))
        store.queue.enqueue([queued("r1"), queued("r2", minutes=1)])
        seen: list[dict[str, int]] = []
        first_started = threading.Event()

        def second_claim() -> None:
            first_started.wait()
            with store.queue.claim_queued_runs("s2", 10) as claim:
                seen.append(dict(claim.running))
                assert [r.run_id for r in claim.queued] == ["r2"]  # r1 is locked: skipped

        other = threading.Thread(target=second_claim)
        other.start()
        with store.queue.claim_queued_runs("s1", 1) as claim:
            claim.start(claim.queued[0], T0)
            first_started.set()
            time.sleep(0.5)  # the second claim waits for the DAG's row meanwhile
        other.join()
        assert seen == [{"etl": 1}]  # it counted r1, started by the first claim
