"""The DAG page: the graph (layered, coloured by the latest run), the grid (runs x tasks, a
mapped task as ``name [N]``), the run history one page at a time, and the code.

The design decision: the tasks come from importing the DAG's file (as the
API's detail does), the states from the store; the grid reads the task
instances of the runs it shows only (a page of runs), so its cost does not
grow with the DAG's history.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from partita.definitions.serialize import serialize_dag
from partita.server.api.dags import get_source, load_dag
from partita.server.problems import ApiProblem
from partita.server.state import ServerState, server_state
from partita.server.ui.render import PageRefused, render, signed_in
from partita.server.ui.svg import graph
from partita.storage.records import DagRunRecord, TaskInstanceRecord

router = APIRouter()
#: Runs per page of the history; the grid shows the newest page's runs.
RUNS_PAGE = 20
#: When a mapped task's instances differ, the cell shows the first of these that occurs.
_PRECEDENCE = ("failed", "upstream_failed", "up_for_retry", "running", "queued", "scheduled")


def cell_state(instances: list[TaskInstanceRecord]) -> str:
    """One state for a task's instances in a run: the one that needs attention first."""
    states = Counter(str(ti.state) for ti in instances)
    for state in _PRECEDENCE:
        if states[state]:
            return state
    return states.most_common(1)[0][0] if states else "none"


def _grid(
    storage: Any, task_ids: list[str], runs: list[DagRunRecord]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Grid rows (a label and one cell per run, oldest first) and the newest run's states."""
    columns = list(reversed(runs))
    by_run = {r.run_id: storage.runs.get_task_instances(r.run_id) for r in columns}
    rows: list[dict[str, Any]] = []
    for task_id in task_ids:
        cells: list[dict[str, Any]] = []
        width = 0
        for run in columns:
            mine = [ti for ti in by_run[run.run_id] if ti.task_id == task_id]
            mapped = [ti for ti in mine if ti.map_index >= 0]
            width = max(width, len(mapped))
            counts = Counter(str(ti.state) for ti in mine)
            title = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no instance"
            cells.append({"run": run, "state": cell_state(mine), "title": title})
        label = f"{task_id} [{width}]" if width else task_id
        rows.append({"task_id": task_id, "label": label, "cells": cells})
    newest = {row["task_id"]: row["cells"][-1]["state"] for row in rows if row["cells"]}
    return rows, newest


@router.get("/dags/{dag_id}", response_class=HTMLResponse)
def dag_page(
    dag_id: str,
    request: Request,
    page: int = Query(1, ge=1, le=1_000_000),
    state: ServerState = Depends(server_state),
) -> HTMLResponse:
    """One DAG: graph, grid, run history and code."""
    viewer = signed_in(request, state)
    record = state.storage.registry.get_dag(dag_id)
    if record is None:
        raise PageRefused(404, f"no DAG {dag_id!r} in the DAG registry; /dags lists them")
    try:
        structure = serialize_dag(load_dag(state, record))
        source = get_source(dag_id, state)
    except ApiProblem as exc:
        raise PageRefused(exc.status, exc.detail) from exc
    upstream = {t["task_id"]: list(t["upstream"]) for t in structure["tasks"]}
    runs = state.storage.runs.list_runs(dag_id, limit=RUNS_PAGE, offset=(page - 1) * RUNS_PAGE)
    total = state.storage.runs.count_runs(dag_id)
    rows, newest = _grid(state.storage, list(upstream), runs)
    return render(
        request,
        "dag.html",
        viewer,
        dag=record,
        graph=graph(upstream, newest, {row["task_id"]: row["label"] for row in rows}),
        rows=rows,
        runs=runs,
        total=total,
        page=page,
        pages=max(1, -(-total // RUNS_PAGE)),
        source=source,
    )


__all__ = ["cell_state", "router"]
