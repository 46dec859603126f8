"""The reads behind the web UI at scale, on memory, SQLite and PostgreSQL: a run's tasks in
summary, a page of its instances, the newest runs of many DAGs at once, the registry's tags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from msgspec.structs import replace

from partita.definitions.states import RunState, TaskState
from partita.storage.base import Storage
from partita.storage.dag_records import DagParse, ParsedDag
from partita.storage.records import DagRunRecord, TaskInstanceRecord, TaskSummary, WriteBatch

T0 = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


def _run(run_id: str, dag_id: str = "etl", minute: int | None = 0) -> DagRunRecord:
    queued = T0 + timedelta(minutes=minute) if minute is not None else None
    return DagRunRecord(run_id, dag_id, "v1", RunState.SUCCESS, queued_at=queued)


def _ti(task: str, index: int, state: TaskState, start: int | None = None) -> TaskInstanceRecord:
    began = T0 + timedelta(seconds=start) if start is not None else None
    ended = began + timedelta(seconds=5) if began is not None else None
    return TaskInstanceRecord("r1", task, index, 1, 1, state, "op", began, ended, 5.0)


def _mapped_run(storage: Storage) -> None:
    tis = [_ti("extract", -1, TaskState.SUCCESS, 0)]
    tis += [
        _ti("work", i, TaskState.FAILED if i % 4 == 0 else TaskState.SUCCESS, 10 + i)
        for i in range(12)
    ]
    tis += [_ti("load", -1, TaskState.NONE)]
    storage.write(WriteBatch(runs=[_run("r1"), _run("r2")], task_instances=tis))
    storage.write(WriteBatch(task_instances=[replace(tis[0], run_id="r2")]))


def test_task_summaries_count_each_tasks_instances_by_state(storage: Storage) -> None:
    _mapped_run(storage)

    summaries = storage.runs.task_summaries("r1")

    assert summaries == [
        TaskSummary("extract", {"success": 1}, False, T0, T0 + timedelta(seconds=5), 1),
        TaskSummary("load", {"none": 1}, False, None, None, 1),
        TaskSummary(
            "work",
            {"failed": 3, "success": 9},
            True,
            T0 + timedelta(seconds=10),
            T0 + timedelta(seconds=26),
            1,
        ),
    ]
    assert summaries[2].count == 12
    assert storage.runs.task_summaries("unknown") == []


def test_a_page_of_task_instances_by_task_and_state(storage: Storage) -> None:
    _mapped_run(storage)
    page = storage.runs.page_task_instances

    assert [ti.key for ti in page("r1", limit=3)] == [("extract", -1), ("load", -1), ("work", 0)]
    assert [ti.map_index for ti in page("r1", task_id="work", limit=4, offset=4)] == [4, 5, 6, 7]
    failed = page("r1", task_id="work", state=TaskState.FAILED, limit=10)
    assert [ti.map_index for ti in failed] == [0, 4, 8]
    assert failed[0] == _ti("work", 0, TaskState.FAILED, 10)  # every field read back
    assert page("r1", task_id="work", limit=10, offset=12) == []
    assert page("unknown", limit=10) == []
    assert [ti.key for ti in page("r1", task_id="work", map_index=7, limit=5)] == [("work", 7)]


def test_a_page_of_output_records_by_task_and_map_index(storage: Storage) -> None:
    storage.write(WriteBatch(runs=[_run("r1")]))
    records = [
        storage.outputs.encode("r1", task, index, key, [index] * 3)
        for task, index, key in [
            ("work", 1, "b"),
            ("work", 0, "a"),
            ("work", 1, "a"),
            ("x", -1, "v"),
        ]
    ]
    storage.write(WriteBatch(outputs=records))
    page = storage.outputs.page_records

    got = [(r.task_id, r.map_index, r.key) for r in page("r1", limit=10)]
    assert got == [("work", 0, "a"), ("work", 1, "a"), ("work", 1, "b"), ("x", -1, "v")]
    assert [r.key for r in page("r1", task_id="work", map_index=1, limit=1, offset=1)] == ["b"]
    first = page("r1", limit=1)[0]
    assert first.payload is None
    assert storage.outputs.load(first) == [0, 0, 0]


def test_latest_runs_of_many_dags_in_one_read(storage: Storage) -> None:
    runs = [_run(f"a{i}", "a", i) for i in range(5)] + [_run("b0", "b", 2), _run("b1", "b", None)]
    storage.write(WriteBatch(runs=runs))

    latest = storage.runs.latest_runs(["a", "b", "none"], 3)

    assert {k: [r.run_id for r in v] for k, v in latest.items()} == {
        "a": ["a4", "a3", "a2"],
        "b": ["b0", "b1"],  # as list_runs: the never-queued run last
        "none": [],
    }
    assert latest["a"] == storage.runs.list_runs("a", limit=3)
    assert storage.runs.latest_runs([], 3) == {}


def test_the_registry_lists_the_tags_of_active_dags_once(storage: Storage) -> None:
    def parse(*dags: ParsedDag) -> DagParse:
        return DagParse("/dags", list(dags), {}, T0)

    storage.registry.record_parse(
        parse(
            ParsedDag("a", "/dags/a.py", None, tags=("team-b", "daily")),
            ParsedDag("b", "/dags/b.py", None, tags=("daily",)),
            ParsedDag("gone", "/dags/g.py", None, tags=("old",)),
        )
    )
    storage.registry.record_parse(
        parse(
            ParsedDag("a", "/dags/a.py", None, tags=("team-b", "daily")),
            ParsedDag("b", "/dags/b.py", None, tags=("daily",)),
        )
    )

    assert storage.registry.list_tags() == ["daily", "team-b"]
