"""The graph view and the run page at scale, through the app (TestClient): task groups drawn
collapsed with their members' states and opened by a query parameter (and by the fragment
the script swaps in), edge labels, the run page's live states, a mapped task's instances
paged, outputs, and a run of 1,000 tasks summarised. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from msgspec.structs import replace
from server_helpers import ApiWorld, load_test_dag
from test_ui_pages import log_in

from partita.definitions.states import RunState, TaskState
from partita.storage.dag_records import DagParse, ParsedDag
from partita.storage.records import DagRunRecord, TaskInstanceRecord, WriteBatch

GROUPED = '''
"""A DAG with nested task groups and a labelled edge (the graph view's tests)."""

from partita import DAG, Label, TaskGroup, task

with DAG("grouped", schedule=None, tags=["groups"]) as grouped:

    @task
    def start() -> None:
        print("start")

    with TaskGroup("prep") as prep:

        @task
        def clean() -> None:
            print("clean")

        @task
        def bad() -> None:
            raise ValueError("bad row")

        with TaskGroup("deep"):

            @task
            def inner() -> None:
                print("inner")

            inner()

        clean() >> bad()

    @task(trigger_rule="all_done")
    def report() -> None:
        print("report")

    start() >> Label("when ready") >> prep >> report()
'''


def _grouped_run(world: ApiWorld, tmp_path: Path) -> str:
    path = tmp_path / "grouped_dags" / "grouped.py"
    path.parent.mkdir()
    path.write_text(GROUPED)
    world.storage.registry.record_parse(
        DagParse(str(path.parent), [ParsedDag("grouped", str(path))], {}, datetime.now(UTC))
    )
    return load_test_dag(path, "grouped").test(storage=world.storage, verbose=False).run_id


def _node(page: str, node: str) -> str | None:
    """The state class of a node of the graph, or None when it is not drawn."""
    match = re.search(rf'data-node="{re.escape(node)}"><rect class="st-(\w+)"', page)
    return match.group(1) if match else None


def _viewer(world: ApiWorld) -> TestClient:
    client = world.client(None)
    log_in(client, "viewer")
    return client


def test_a_task_group_is_one_node_until_opened(world: ApiWorld, tmp_path: Path) -> None:
    _grouped_run(world, tmp_path)
    client = _viewer(world)

    closed = client.get("/dags/grouped").text
    assert _node(closed, "prep") == "failed"  # its member prep.bad failed
    assert _node(closed, "start") == "success" and _node(closed, "prep.clean") is None
    assert re.search(r'<g class="node group" data-node="prep">', closed)
    assert "▸ prep (3)" in closed and "group prep: 3 tasks; 2 success, 1 failed" in closed
    assert ">when ready</text>" in closed  # the edge's label
    assert 'href="/dags/grouped?page=1&amp;expand=prep"' in closed  # works without a script

    opened = client.get("/dags/grouped", params={"expand": "prep"}).text
    assert _node(opened, "prep") is None
    assert (_node(opened, "prep.clean"), _node(opened, "prep.bad")) == ("success", "failed")
    assert _node(opened, "prep.deep") == "success"  # the nested group stays closed
    assert ">clean</text>" in opened  # a member is named without its group's prefix
    both = client.get("/dags/grouped", params={"expand": "prep,prep.deep"}).text
    assert _node(both, "prep.deep.inner") == "success"
    closing = re.search(r'href="([^"]+)"[^>]*title="Close prep"', both)
    assert closing is not None and "expand=&" in closing.group(1).replace("&amp;", "&") + "&"

    fragment = client.get("/dags/grouped/graph", params={"expand": "prep"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.text.startswith('<div class="graph-box" id="graph-box"')
    assert _node(fragment.text, "prep.bad") == "failed"
    assert client.get("/dags/nope/graph").status_code == 404


def test_the_run_page_draws_the_runs_own_graph_and_its_states(
    world: ApiWorld, tmp_path: Path
) -> None:
    run_id = _grouped_run(world, tmp_path)
    client = _viewer(world)

    page = client.get(f"/runs/{run_id}").text
    assert _node(page, "prep") == "failed" and _node(page, "report") == "success"
    assert "data-stream" not in page  # the run has finished: nothing to follow
    assert 'class="gantt"' in page
    fragment = client.get(f"/runs/{run_id}/graph", params={"expand": "prep"}).text
    assert _node(fragment, "prep.bad") == "failed"

    events = client.get(f"/runs/{run_id}/live", params={"expand": "prep"}).text
    states = json.loads(re.findall(r"event: states\ndata: (.*)\n", events)[0])
    assert states["run"] == "success"
    assert states["nodes"]["prep.bad"][0] == "failed" and "prep" not in states["nodes"]
    assert states["tasks"]["prep.deep.inner"] == ["success", "1 success"]
    assert events.rstrip().endswith('event: end\ndata: {"state": "success"}')
    assert client.get("/runs/nope/live").status_code == 404


def test_a_running_run_names_its_live_stream(world: ApiWorld, tmp_path: Path) -> None:
    from partita.server.ui.run_live import snapshot

    run_id = _grouped_run(world, tmp_path)
    storage = world.storage
    run = replace(storage.runs.get_run(run_id), state=RunState.RUNNING, end_date=None)
    [report] = storage.runs.page_task_instances(run_id, task_id="report", limit=1)
    storage.write(WriteBatch(runs=[run], task_instances=[replace(report, state=TaskState.RUNNING)]))
    client = _viewer(world)

    page = client.get(f"/runs/{run_id}").text
    assert 'data-stream="/runs/' + run_id + '/live?expand=" data-shape="' in page
    assert _node(page, "report") == "running" and 'id="live-status"' in page
    state = world.app_client.app.state.partita  # type: ignore[attr-defined]
    now, shown = snapshot(state, run_id, frozenset())
    assert now.state == RunState.RUNNING and shown["run"] == "running"
    assert shown["nodes"]["report"][0] == "running" and shown["nodes"]["prep"][0] == "failed"


def _wide_run(world: ApiWorld, tasks: int, width: int) -> str:
    """A run of ``tasks`` plain tasks and one task mapped ``width`` times (no DAG version)."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    storage = world.storage
    run = DagRunRecord("wide_run", "etl", "gone", RunState.RUNNING, queued_at=t0)
    tis = [
        TaskInstanceRecord(
            "wide_run", f"t{i:04d}", -1, 1, 1, TaskState.SUCCESS, "op",
            t0 + timedelta(seconds=i), t0 + timedelta(seconds=i + 1), 1.0,
        )
        for i in range(tasks)
    ]  # fmt: skip
    tis += [
        TaskInstanceRecord(
            "wide_run", "wide", i, 1, 1, TaskState.FAILED if i % 10 == 0 else TaskState.SUCCESS
        )
        for i in range(width)
    ]
    storage.write(WriteBatch(runs=[run], task_instances=tis))
    return run.run_id


def test_a_run_of_a_thousand_tasks_and_a_wide_map_is_summarised(world: ApiWorld) -> None:
    run_id = _wide_run(world, 1000, 3000)
    client = _viewer(world)

    page = client.get(f"/runs/{run_id}").text
    assert "Page 1 of 11" in page  # 1,001 tasks, 100 a page
    assert page.count('<tr data-task="') == 100
    assert "200 of 1,001 tasks drawn" in page and "1 not started" in page
    assert "The graph has 1,001 nodes" in page  # not drawn: the list is the way in
    wide = client.get(f"/runs/{run_id}", params={"tpage": 11}).text
    assert "wide [3000]" in wide and "2700 success, 300 failed" in wide

    mapped = client.get(f"/runs/{run_id}", params={"task": "wide"}).text
    assert "Instances of wide [3000]" in mapped and "Page 1 of 30" in mapped
    assert mapped.count('<td class="task-name">wide [') == 100
    failed = client.get(f"/runs/{run_id}", params={"task": "wide", "istate": "failed", "ipage": 3})
    names = re.findall(r'<td class="task-name">wide \[(\d+)\]</td>', failed.text)
    assert names[:2] == ["2000", "2010"] and len(names) == 100 and "Page 3 of 3" in failed.text
    one = client.get(f"/runs/{run_id}", params={"task": "wide", "map_index": 7}).text
    assert "Log of wide [7], try 1" in one
    assert client.get(f"/runs/{run_id}", params={"task": "nope"}).status_code == 404
    missing = client.get(f"/runs/{run_id}", params={"task": "wide", "map_index": 5000})
    assert missing.status_code == 404
    bad = client.get(f"/runs/{run_id}", params={"istate": "sleepy"})
    assert bad.status_code == 422


def test_the_run_page_lists_outputs(world: ApiWorld) -> None:
    client = _viewer(world)
    row = r'<td class="task-name">{}</td>\s*<td><a href="/api/v1/runs/[^"]+/tasks/{}/outputs/'
    page = client.get(f"/runs/{world.etl_run}").text
    assert re.search(row.format("extract", "extract"), page)
    assert re.search(row.format("load", "load"), page)
    chosen = client.get(f"/runs/{world.etl_run}", params={"task": "load"}).text
    assert "Outputs <small" in chosen and re.search(row.format("load", "load"), chosen)
    assert not re.search(row.format("extract", "extract"), chosen)
