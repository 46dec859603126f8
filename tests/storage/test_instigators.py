"""The instigator store's contract (sensor/schedule state, ticks, run keys) on memory, SQLite
and PostgreSQL, ``list_ended_runs``, and its migration from the revision before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from partita.definitions.states import RunState
from partita.storage.base import Storage
from partita.storage.instigators import (
    InstigatorKind,
    InstigatorStatus,
    TickRecord,
    TickStatus,
    TickWrite,
)
from partita.storage.records import DagRunRecord, WriteBatch
from partita.storage.sql import SqlStorage, create_sql_engine
from partita.storage.sql.migrate import alembic_config

T0 = datetime(2025, 1, 1, tzinfo=UTC)
SENSOR = InstigatorKind.SENSOR
SCHEDULE = InstigatorKind.SCHEDULE


def queued(run_id: str, when: datetime = T0) -> DagRunRecord:
    return DagRunRecord(run_id, "etl", "", RunState.QUEUED, "sensor", when, when, when, {}, when)


def tick(name: str = "s", status: TickStatus = TickStatus.SKIPPED, **fields: object) -> TickRecord:
    return TickRecord(SENSOR, name, status, fields.pop("timestamp", T0), **fields)  # type: ignore[arg-type]


def test_nothing_is_stored_for_an_unknown_sensor(storage: Storage) -> None:
    assert storage.instigators.get_state(SENSOR, "s") is None
    assert storage.instigators.list_states(SENSOR) == []
    assert storage.instigators.list_ticks(SENSOR, "s") == []


def test_status_is_set_kept_and_reset_per_kind(storage: Storage) -> None:
    store = storage.instigators
    state = store.set_status(SENSOR, "s", InstigatorStatus.STOPPED, T0)
    assert (state.status, state.updated_at) == (InstigatorStatus.STOPPED, T0)
    store.set_status(SCHEDULE, "s", InstigatorStatus.RUNNING, T0)
    assert store.get_state(SENSOR, "s").status is InstigatorStatus.STOPPED  # type: ignore[union-attr]
    assert [s.kind for s in store.list_states(SCHEDULE)] == [SCHEDULE]
    store.set_status(SENSOR, "s", None, T0)
    state = store.get_state(SENSOR, "s")
    assert state is not None and state.status is None
    assert state.resolved_status(True) is InstigatorStatus.RUNNING
    assert state.resolved_status(False) is InstigatorStatus.STOPPED


def test_a_tick_queues_its_runs_stores_keys_and_moves_the_cursor(storage: Storage) -> None:
    store = storage.instigators
    store.set_status(SENSOR, "s", InstigatorStatus.RUNNING, T0)
    first = tick(status=TickStatus.REQUESTED, run_ids=["r1"], run_keys=["a"], cursor="c1")
    stored = store.record_tick(first, [queued("r1")], {"a": "r1"})
    assert stored.id is not None
    assert storage.runs.get_run("r1").state is RunState.QUEUED
    assert store.used_run_keys("s", ["a", "b"]) == {"a"}
    assert store.used_run_keys("other", ["a"]) == set()  # keys are per sensor
    state = store.get_state(SENSOR, "s")
    assert state is not None
    assert (state.cursor, state.last_tick_at, state.status) == ("c1", T0, InstigatorStatus.RUNNING)
    later = T0 + timedelta(seconds=30)
    failed = tick(status=TickStatus.FAILED, error="boom", cursor="c1", timestamp=later)
    store.record_tick(failed)
    ticks = store.list_ticks(SENSOR, "s")
    assert [t.status for t in ticks] == [TickStatus.FAILED, TickStatus.REQUESTED]
    assert ticks[0].error == "boom" and ticks[1].run_ids == ["r1"] and ticks[1].run_keys == ["a"]
    assert store.list_ticks(SENSOR, "s", statuses=[TickStatus.REQUESTED], limit=5) == [ticks[1]]
    assert store.list_ticks(SENSOR, "s", limit=1) == [ticks[0]]
    assert store.list_ticks(SENSOR, "s", limit=1, offset=1) == [ticks[1]]
    assert store.list_ticks(SENSOR, "s", offset=len(ticks)) == []


def test_a_run_key_or_run_id_stored_twice_is_kept_once(storage: Storage) -> None:
    store = storage.instigators
    store.record_tick(tick(), [queued("r1")], {"a": "r1"})
    store.record_tick(tick(), [queued("r1")], {"a": "r-other"})  # a concurrent evaluation
    assert [r.run_id for r in storage.runs.list_runs()] == ["r1"]
    assert store.used_run_keys("s", ["a"]) == {"a"}


def test_run_keys_of_any_length_and_many_at_once(storage: Storage) -> None:
    store = storage.instigators
    long_key = "x" * 5000
    keys = {f"file-{i}.csv:{i}": f"r{i}" for i in range(1200)}
    store.record_tick(tick(), [], {long_key: "r-long", **keys})
    asked = [long_key, "never", *keys]
    assert store.used_run_keys("s", asked) == {long_key, *keys}


def test_the_cursor_can_be_set_and_cleared_by_hand(storage: Storage) -> None:
    store = storage.instigators
    store.set_cursor(SENSOR, "s", "42", T0)
    assert store.get_state(SENSOR, "s").cursor == "42"  # type: ignore[union-attr]
    store.set_cursor(SENSOR, "s", None, T0)
    assert store.get_state(SENSOR, "s").cursor is None  # type: ignore[union-attr]


def test_ended_runs_come_oldest_first_after_a_cursor(storage: Storage) -> None:
    runs = []
    for i, state in enumerate([RunState.SUCCESS, RunState.FAILED, RunState.SUCCESS]):
        run = queued(f"r{i}")
        runs.append(run.ended(state, T0 + timedelta(minutes=i // 2)))  # r0, r1 end together
    storage.write(WriteBatch(runs=[*runs, queued("still-queued")]))
    ended = storage.runs.list_ended_runs(None, [RunState.SUCCESS, RunState.FAILED], 10)
    assert [r.run_id for r in ended] == ["r0", "r1", "r2"]
    after = (ended[0].end_date, ended[0].run_id)
    assert [r.run_id for r in storage.runs.list_ended_runs(after, [RunState.SUCCESS], 10)] == ["r2"]
    assert [r.run_id for r in storage.runs.list_ended_runs(after, [RunState.FAILED], 1)] == ["r1"]


# --- migration -------------------------------------------------------------------------


def _revision_before_instigators() -> str:
    script = ScriptDirectory.from_config(alembic_config(None))
    revision = next(r for r in script.walk_revisions() if r.path.endswith("_instigators.py"))
    down = revision.down_revision
    assert isinstance(down, str)
    return down


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_database_at_the_previous_head_upgrades_with_its_runs(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_fresh_database_url")
    engine = create_sql_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), _revision_before_instigators())
            connection.exec_driver_sql(
                "INSERT INTO dag_run (run_id, dag_id, dag_version, state, run_type, conf) "
                "VALUES ('old', 'etl', 'v', 'success', 'manual', '{}')"
            )
    finally:
        engine.dispose()
    with SqlStorage(url, tmp_path / "storage") as storage:  # opening migrates to head
        assert storage.runs.get_run("old").state is RunState.SUCCESS
        assert storage.instigators.list_states(SENSOR) == []
        storage.instigators.record_tick(tick(), [queued("new")], {"k": "new"})
        assert storage.instigators.used_run_keys("s", ["k"]) == {"k"}
        assert {r.run_id for r in storage.runs.list_runs()} == {"old", "new"}


def test_ticks_of_a_pass_are_written_together_in_order(storage: Storage) -> None:
    later = T0 + timedelta(seconds=1)
    written = storage.instigators.record_ticks(
        [
            TickWrite(tick("a", cursor="1")),
            TickWrite(tick("b", TickStatus.REQUESTED, run_ids=["rb"]), [queued("rb")], {"k": "rb"}),
            TickWrite(tick("a", cursor="2", timestamp=later)),
        ]
    )
    assert [t.name for t in written] == ["a", "b", "a"]
    assert written[0].id is not None and written[0].id < written[1].id < written[2].id  # type: ignore[operator]
    state = storage.instigators.get_state(SENSOR, "a")
    assert state is not None and (state.cursor, state.last_tick_at) == ("2", later)
    assert storage.instigators.used_run_keys("b", ["k"]) == {"k"}
    assert storage.runs.get_run("rb").state is RunState.QUEUED
    assert storage.instigators.record_ticks([]) == []


def test_a_due_instigator_is_claimed_once_per_interval(storage: Storage) -> None:
    store, minute = storage.instigators, timedelta(minutes=1)
    store.set_cursor(SENSOR, "old", "c7", T0 - minute)
    store.record_tick(tick("old", timestamp=T0 - minute, cursor="c7"))
    due = {"new": T0 - minute, "old": T0 - minute}
    claimed = store.claim_due(SENSOR, due, T0)
    assert sorted(claimed) == ["new", "old"]
    assert claimed["old"].cursor == "c7" and claimed["old"].last_tick_at == T0 - minute
    assert claimed["new"].last_tick_at is None
    assert store.claim_due(SENSOR, due, T0) == {}  # a second scheduler: nothing left
    assert store.get_state(SENSOR, "new").last_tick_at == T0  # type: ignore[union-attr]
    half = T0 + minute / 2
    assert store.claim_due(SENSOR, {"new": half - minute}, half) == {}  # not due yet
    later = T0 + minute
    assert list(store.claim_due(SENSOR, {"new": later - minute}, later)) == ["new"]
    assert store.claim_due(SCHEDULE, {"new": later - minute}, later) != {}  # kinds apart
    assert store.claim_due(SENSOR, {}, later) == {}


@pytest.mark.slow
@pytest.mark.postgres
def test_three_schedulers_claim_10000_sensor_evaluations_each_exactly_once(
    pg_clean_database_url: str, tmp_path: Path
) -> None:
    """50 sensors over 200 intervals, claimed by three stores at once (one per thread, as
    three schedulers would): every evaluation is claimed by exactly one, none lost."""
    import threading

    names, rounds, minute = [f"sensor_{n:02d}" for n in range(50)], 200, timedelta(minutes=1)
    barrier = threading.Barrier(3)
    claims: list[list[tuple[int, str]]] = [[], [], []]

    def scheduler(number: int) -> None:
        with SqlStorage(pg_clean_database_url, tmp_path / "storage") as store:
            for round_ in range(rounds):
                barrier.wait(60)
                now = T0 + round_ * minute
                due = dict.fromkeys(names, now - minute)
                claimed = store.instigators.claim_due(SENSOR, due, now)
                claims[number].extend((round_, name) for name in claimed)

    threads = [threading.Thread(target=scheduler, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    every = [claim for mine in claims for claim in mine]
    assert len(every) == len(set(every)) == 50 * 200  # 0 duplicates, 0 lost
    print(f"\nclaims per scheduler: {[len(mine) for mine in claims]}")
