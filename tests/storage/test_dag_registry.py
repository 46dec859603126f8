"""The DAG registry contract: every backend (memory, SQLite, PostgreSQL) behaves the same.

Also: the "due" query uses its index, claims skip each other on PostgreSQL, and
the migration that adds the registry to a database of the revision before it keeps
its runs.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from migration_helpers import OLD_RUN, revision_before, upgrade_with
from sqlalchemy import inspect

from partita.definitions.states import RunState
from partita.definitions.timetable_base import DagRunInfo
from partita.exceptions import DagNotFoundError
from partita.storage.base import Storage
from partita.storage.dag_records import DagParse, ParsedDag
from partita.storage.sql import SqlStorage, create_sql_engine
from partita.storage.sql.migrate import alembic_config, current_revision, head_revision
from partita.storage.sql.registry import SqlDagRegistry

T0 = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
FOLDER = "/dags"


def due_at(at: datetime) -> DagRunInfo:
    """A next run (a daily data interval) that may be created at ``at``."""
    return DagRunInfo.interval(at - timedelta(days=1), at)


def parsed(dag_id: str, due: datetime | None = T0, **changes: Any) -> ParsedDag:
    values: dict[str, Any] = {
        "dag_id": dag_id,
        "fileloc": f"{FOLDER}/{dag_id}.py",
        "timetable_summary": "@daily",
        "next_run": None if due is None else due_at(due),
    }
    values.update(changes)
    return ParsedDag(**values)


def parse(*dags: ParsedDag, errors: dict[str, str] | None = None, **changes: Any) -> DagParse:
    values: dict[str, Any] = {
        "code_location": FOLDER,
        "dags": list(dags),
        "import_errors": errors or {},
        "parsed_at": T0,
        "duration": 0.25,
    }
    values.update(changes)
    return DagParse(**values)


def ids(records: list[Any]) -> list[str]:
    return [r.dag_id for r in records]


# --- recording a parse ---------------------------------------------------------------


def test_a_parse_records_every_field(storage: Storage) -> None:
    dag = parsed("etl", tags=("a", "b"), owner="data", description="Loads.", max_active_runs=3)
    storage.registry.record_parse(parse(dag))

    record = storage.registry.get_dag("etl")
    assert record is not None
    assert (record.fileloc, record.code_location) == (f"{FOLDER}/etl.py", FOLDER)
    assert (record.is_paused, record.is_active) == (False, True)
    assert record.timetable_summary == "@daily"
    assert record.next_run == due_at(T0)
    assert record.next_dagrun_create_after == T0
    assert record.next_run.logical_date.tzinfo is not None
    assert (record.last_parsed_at, record.last_parse_duration) == (T0, 0.25)
    assert (record.max_active_runs, record.tags) == (3, ["a", "b"])
    assert (record.owner, record.description) == ("data", "Loads.")
    assert storage.registry.get_dag("missing") is None


def test_new_dags_follow_their_own_flag_then_the_setting(storage: Storage) -> None:
    storage.registry.record_parse(
        parse(
            parsed("own_paused", is_paused_upon_creation=True),
            parsed("own_active", is_paused_upon_creation=False),
            parsed("no_opinion"),
            paused_at_creation=True,
        )
    )
    paused = {r.dag_id: r.is_paused for r in storage.registry.list_dags()}
    assert paused == {"own_paused": True, "own_active": False, "no_opinion": True}


def test_a_new_parse_keeps_the_paused_flag_and_the_next_run(storage: Storage) -> None:
    storage.registry.record_parse(parse(parsed("etl")))
    storage.registry.set_paused("etl", True)
    storage.registry.set_next_run("etl", due_at(T0 + HOUR))

    later = T0 + 2 * HOUR
    storage.registry.record_parse(parse(parsed("etl", due=T0, owner="new"), parsed_at=later))

    record = storage.registry.get_dag("etl")
    assert record is not None
    assert record.is_paused is True
    assert record.next_run == due_at(T0 + HOUR)  # the scheduler's, not the parse's
    assert (record.owner, record.last_parsed_at) == ("new", later)


def test_a_changed_schedule_replaces_the_next_run(storage: Storage) -> None:
    storage.registry.record_parse(parse(parsed("etl")))
    storage.registry.set_next_run("etl", due_at(T0 + HOUR))
    storage.registry.record_parse(
        parse(parsed("etl", due=T0 + 5 * HOUR, timetable_summary="@hourly"))
    )
    record = storage.registry.get_dag("etl")
    assert record is not None
    assert (record.timetable_summary, record.next_run) == ("@hourly", due_at(T0 + 5 * HOUR))

    storage.registry.record_parse(parse(parsed("etl", due=None, timetable_summary="None")))
    record = storage.registry.get_dag("etl")
    assert record is not None and record.next_run is None


def test_dags_missing_from_a_parse_become_inactive(storage: Storage) -> None:
    storage.registry.record_parse(parse(parsed("a"), parsed("b"), parsed("broken")))
    storage.registry.record_parse(parse(parsed("other"), code_location="/elsewhere"))

    storage.registry.record_parse(
        parse(parsed("a"), errors={f"{FOLDER}/broken.py": "SyntaxError: bad"})
    )

    assert ids(storage.registry.list_dags()) == ["a", "broken", "other"]
    assert ids(storage.registry.list_dags(active=False)) == ["b"]
    assert ids(storage.registry.list_dags(active=None)) == ["a", "b", "broken", "other"]
    assert ids(storage.registry.list_dags(code_location="/elsewhere")) == ["other"]

    storage.registry.record_parse(parse(parsed("b")))  # b is back
    assert ids(storage.registry.list_dags(code_location=FOLDER)) == ["b"]


def test_an_empty_parse_deactivates_the_whole_location(storage: Storage) -> None:
    storage.registry.record_parse(parse(parsed("a")))
    storage.registry.record_parse(parse())
    assert storage.registry.list_dags() == []


def test_import_errors_are_replaced_by_each_parse_of_their_location(storage: Storage) -> None:
    registry = storage.registry
    registry.record_parse(parse(errors={"/dags/x.py": "ImportError: x", "/dags/y.py": "E: y"}))
    registry.record_parse(parse(errors={"/other/z.py": "E: z"}, code_location="/other"))
    assert [(e.fileloc, e.error) for e in registry.list_import_errors(FOLDER)] == [
        ("/dags/x.py", "ImportError: x"),
        ("/dags/y.py", "E: y"),
    ]
    assert registry.list_import_errors(FOLDER)[0].timestamp == T0

    registry.record_parse(parse(parsed("y"), errors={"/dags/x.py": "ImportError: again"}))
    assert [(e.fileloc, e.error) for e in registry.list_import_errors()] == [
        ("/dags/x.py", "ImportError: again"),
        ("/other/z.py", "E: z"),
    ]
    # a file parsed on its own clears the error its folder's parse left
    registry.record_parse(parse(parsed("x"), code_location="/dags/x.py"))
    assert [e.fileloc for e in registry.list_import_errors()] == ["/other/z.py"]


# --- pause, next run, due --------------------------------------------------------------


def test_list_dags_is_in_byte_order_of_the_id(storage: Storage) -> None:
    storage.registry.record_parse(parse(parsed("b_x"), parsed("B"), parsed("a"), parsed("bx")))
    assert ids(storage.registry.list_dags()) == ["B", "a", "b_x", "bx"]


def test_set_paused_and_filters(storage: Storage) -> None:
    storage.registry.record_parse(parse(parsed("a"), parsed("b")))
    record = storage.registry.set_paused("a", True)
    assert record.dag_id == "a" and record.is_paused is True
    assert ids(storage.registry.list_dags(paused=True)) == ["a"]
    assert ids(storage.registry.list_dags(paused=False)) == ["b"]
    assert storage.registry.set_paused("a", False).is_paused is False


def test_unknown_dags_cannot_be_paused_or_moved(storage: Storage) -> None:
    with pytest.raises(DagNotFoundError, match=r"DAG 'ghost' is not known: run `partita dags"):
        storage.registry.set_paused("ghost", True)
    with pytest.raises(DagNotFoundError, match="'ghost'"):
        storage.registry.set_next_run("ghost", None)


def test_due_dags_are_active_unpaused_and_due_soonest_first(storage: Storage) -> None:
    storage.registry.record_parse(
        parse(
            parsed("late", due=T0 - HOUR),
            parsed("earliest", due=T0 - 3 * HOUR),
            parsed("paused", due=T0 - 3 * HOUR),
            parsed("future", due=T0 + HOUR),
            parsed("never", due=None),
            parsed("gone", due=T0 - 2 * HOUR),
        )
    )
    storage.registry.set_paused("paused", True)
    storage.registry.record_parse(
        parse(*(parsed(d, due=None) for d in ("late", "earliest", "paused", "future", "never")))
    )  # same schedules: next runs kept; "gone" becomes inactive

    assert ids(storage.registry.due_dags(T0, limit=10)) == ["earliest", "late"]
    assert ids(storage.registry.due_dags(T0, limit=1)) == ["earliest"]
    assert ids(storage.registry.due_dags(T0 + HOUR, limit=10)) == ["earliest", "late", "future"]

    storage.registry.set_paused("paused", False)  # unpaused: due again, as it was
    assert ids(storage.registry.due_dags(T0, limit=10)) == ["earliest", "paused", "late"]


def test_a_claim_moves_next_runs_when_it_ends(storage: Storage) -> None:
    storage.registry.record_parse(parse(parsed("a", due=T0 - HOUR), parsed("b", due=T0)))
    with storage.registry.claim_due_dags(T0, limit=10) as claim:
        assert ids(claim.dags) == ["a", "b"]
        claim.set_next_run("a", due_at(T0 + HOUR))
        claim.set_next_run("b", None)
        with pytest.raises(DagNotFoundError, match="not one of the DAGs of this claim"):
            claim.set_next_run("c", None)
    assert storage.registry.due_dags(T0, limit=10) == []
    a = storage.registry.get_dag("a")
    assert a is not None and a.next_run == due_at(T0 + HOUR)


def test_a_claim_that_fails_changes_nothing(storage: Storage) -> None:
    storage.registry.record_parse(parse(parsed("a", due=T0)))
    with pytest.raises(RuntimeError), storage.registry.claim_due_dags(T0, limit=10) as claim:
        claim.set_next_run("a", due_at(T0 + HOUR))
        raise RuntimeError("the scheduler died")
    assert ids(storage.registry.due_dags(T0, limit=10)) == ["a"]


def test_concurrent_claims_skip_each_others_dags(storage: Storage) -> None:
    if isinstance(storage, SqlStorage) and storage.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer: a second claim waits instead of skipping")
    storage.registry.record_parse(parse(*(parsed(f"d{i}", due=T0 - i * HOUR) for i in range(4))))
    seen: list[list[str]] = []
    with storage.registry.claim_due_dags(T0, limit=2) as first:
        seen.append(ids(first.dags))
        # another scheduler, on another thread (and connection), at the same time
        thread = threading.Thread(
            target=lambda: _claim_into(storage, seen), name="second-scheduler"
        )
        thread.start()
        thread.join(timeout=30)
    assert seen == [["d3", "d2"], ["d1", "d0"]]
    with storage.registry.claim_due_dags(T0, limit=10) as after:  # released
        assert ids(after.dags) == ["d3", "d2", "d1", "d0"]


def _claim_into(storage: Storage, seen: list[list[str]]) -> None:
    with storage.registry.claim_due_dags(T0, limit=10) as second:
        seen.append(ids(second.dags))


# --- SQL specifics ---------------------------------------------------------------------


def test_the_due_query_uses_the_next_due_index_on_sqlite(sqlite_url: str, tmp_path: Path) -> None:
    with SqlStorage(sqlite_url, tmp_path / "storage") as store:
        registry = store.registry
        assert isinstance(registry, SqlDagRegistry)
        query = registry.due_query(T0, 10)
        compiled = query.compile(store.engine, compile_kwargs={"literal_binds": True})
        with store.engine.connect() as connection:
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
    details = " ".join(str(row[-1]) for row in plan)
    assert "USING INDEX ix_dag_next_dagrun_create_after" in details
    assert "TEMP B-TREE" not in details  # the index gives the order too


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])]
)
def test_upgrading_a_database_from_before_the_registry_adds_it_and_keeps_its_runs(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("sqlite_url" if database == "sqlite" else "pg_fresh_database_url")
    before = revision_before("0011")
    tables = upgrade_with(
        url,
        before,
        OLD_RUN,
    )
    assert "dag" not in tables
    with SqlStorage(url, tmp_path / "storage") as store:  # migrates to head on open
        assert store.runs.get_run("old").state is RunState.SUCCESS
        store.registry.record_parse(parse(parsed("etl")))
        assert ids(store.registry.list_dags()) == ["etl"]
    engine = create_sql_engine(url)
    try:
        assert current_revision(engine) == head_revision()
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), before)
        tables = inspect(engine).get_table_names()
        assert "dag" not in tables and "import_error" not in tables and "dag_run" in tables
    finally:
        engine.dispose()


def test_a_page_of_dags_by_id_search_and_tag(storage: Storage) -> None:
    names = ["etl_daily", "etl_hourly", "ETL_Big", "load_100%", "load_1x0", "report"]
    tagged = {"etl_daily": ("team-a", "daily"), "etl_hourly": ("team-a",), "report": ("daily",)}
    storage.registry.record_parse(
        parse(*(parsed(n, tags=tagged.get(n, ())) for n in names), parsed("gone"))
    )
    storage.registry.record_parse(parse(*(parsed(n, tags=tagged.get(n, ())) for n in names)))
    page = storage.registry.page_dags

    assert page(limit=2) == (storage.registry.list_dags()[:2], 6)  # "gone" is inactive
    assert ids(page(limit=2, offset=4)[0]) == ["load_1x0", "report"]
    assert page(search="etl", limit=10)[1] == 3  # a part of the id, any case
    assert ids(page(search="etl_*ly", limit=10)[0]) == ["etl_daily", "etl_hourly"]
    assert ids(page(search="load_100%", limit=10)[0]) == ["load_100%"]  # % and _ are literal
    assert ids(page(search="load_1?0", limit=10)[0]) == ["load_1x0"]
    assert ids(page(tag="daily", limit=10)[0]) == ["etl_daily", "report"]
    assert page(tag="team-a", search="hour", limit=10)[1] == 1
    assert page(tag="nobody", limit=10) == ([], 0)


def test_a_page_of_dags_by_exact_glob_every_tag_and_paused(storage: Storage) -> None:
    names = ["etl_daily", "etl_hourly", "ETL_Big", "load_1x0", "load_[a]"]
    tagged = {"etl_daily": ("team-a", "daily"), "etl_hourly": ("team-a",), "ETL_Big": ("daily",)}
    storage.registry.record_parse(parse(*(parsed(n, tags=tagged.get(n, ())) for n in names)))
    storage.registry.set_paused("etl_hourly", True)
    page = storage.registry.page_dags

    assert ids(page(pattern="etl_*", limit=10)[0]) == ["etl_daily", "etl_hourly"]  # case counts
    assert page(pattern="etl", limit=10) == ([], 0)  # the whole id, not a part
    assert ids(page(pattern="load_1?0", limit=10)[0]) == ["load_1x0"]
    assert page(pattern="LOAD_1?0", limit=10)[1] == 0
    assert ids(page(pattern="load_[a]", limit=10)[0]) == ["load_[a]"]  # [ is not special
    assert ids(page(tags=["team-a", "daily"], limit=10)[0]) == ["etl_daily"]
    assert ids(page(tag="daily", tags=["team-a"], limit=10)[0]) == ["etl_daily"]
    assert ids(page(paused=True, limit=10)[0]) == ["etl_hourly"]
    assert page(paused=False, tags=["team-a"], limit=10)[1] == 1
