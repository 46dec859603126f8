"""The DAG page: the graph (layered, task groups collapsible, coloured by the latest run), the
grid (runs x tasks, a mapped task as ``name [N]``), the run history one page at a time, and
the code.

The design decision: the tasks come from importing the DAG's file (as the
API's detail does), the states from the store; the grid reads each shown
run's tasks in summary (``task_summaries``: one grouped query per run), so
its cost grows neither with the DAG's history nor with a mapped task's
width. The graph alone is also served as a fragment (``/dags/{id}/graph``)
that the page's script swaps in when a group is opened or closed.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from partita.definitions.serialize import serialize_dag
from partita.server.api.dags import get_source, load_dag
from partita.server.problems import ApiProblem
from partita.server.state import ServerState, server_state
from partita.server.ui.dag_graph import describe, graph_view, parse_expanded, summary_state
from partita.server.ui.graph_box import graph_box
from partita.server.ui.render import PageRefused, render, signed_in
from partita.storage.dag_records import DagRecord
from partita.storage.records import DagRunRecord, TaskInstanceRecord, TaskSummary

router = APIRouter()
#: Runs per page of the history; the grid shows the newest page's runs.
RUNS_PAGE = 20
Expand = Query([], max_length=100, description="The task groups shown open.")


def cell_state(instances: list[TaskInstanceRecord]) -> str:
    """One state for a task's instances in a run: the one that needs attention first."""
    return summary_state(Counter(str(ti.state) for ti in instances))


def _grid(
    storage: Any, task_ids: list[str], runs: list[DagRunRecord]
) -> tuple[list[dict[str, Any]], dict[str, dict[str, int]], dict[str, int]]:
    """Grid rows (a label and one cell per run, oldest first), the newest run's counts per
    task, and the width of each mapped task."""
    columns = list(reversed(runs))
    by_run: dict[str, dict[str, TaskSummary]] = {
        r.run_id: {s.task_id: s for s in storage.runs.task_summaries(r.run_id)} for r in columns
    }
    rows: list[dict[str, Any]] = []
    widths: dict[str, int] = {}
    for task_id in task_ids:
        cells: list[dict[str, Any]] = []
        for run in columns:
            summary = by_run[run.run_id].get(task_id)
            counts = summary.states if summary is not None else {}
            if summary is not None and summary.mapped:
                widths[task_id] = max(widths.get(task_id, 0), summary.count)
            cells.append({"run": run, "state": summary_state(counts), "title": describe(counts)})
        width = widths.get(task_id)
        label = f"{task_id} [{width}]" if width else task_id
        rows.append({"task_id": task_id, "label": label, "cells": cells})
    newest = by_run[runs[0].run_id] if runs else {}
    return rows, {t: s.states for t, s in newest.items()}, widths


def _structure(state: ServerState, dag_id: str) -> tuple[DagRecord, dict[str, Any]]:
    record = state.storage.registry.get_dag(dag_id)
    if record is None:
        raise PageRefused(404, f"no DAG {dag_id!r} in the DAG registry; /dags lists them")
    try:
        return record, serialize_dag(load_dag(state, record))
    except ApiProblem as exc:
        raise PageRefused(exc.status, exc.detail) from exc


def _picture(
    state: ServerState, dag_id: str, structure: dict[str, Any], expand: list[str], page: int
) -> tuple[str, list[dict[str, Any]], list[DagRunRecord]]:
    """The graph box (HTML), the grid rows, and the page of runs."""
    runs = state.storage.runs.list_runs(dag_id, limit=RUNS_PAGE, offset=(page - 1) * RUNS_PAGE)
    task_ids = [t["task_id"] for t in structure["tasks"]]
    rows, newest, widths = _grid(state.storage, task_ids, runs)

    def href(groups: frozenset[str]) -> str:
        query = urlencode({"page": page, "expand": ",".join(sorted(groups))})
        return f"/dags/{dag_id}?{query}"

    view = graph_view(structure, newest, parse_expanded(expand), href, widths)
    return graph_box(view, f"/dags/{dag_id}/graph"), rows, runs


@router.get("/dags/{dag_id}", response_class=HTMLResponse)
def dag_page(
    dag_id: str,
    request: Request,
    page: int = Query(1, ge=1, le=1_000_000),
    expand: list[str] = Expand,
    state: ServerState = Depends(server_state),
) -> HTMLResponse:
    """One DAG: graph, grid, run history and code."""
    viewer = signed_in(request, state)
    record, structure = _structure(state, dag_id)
    try:
        source = get_source(dag_id, state)
    except ApiProblem as exc:
        raise PageRefused(exc.status, exc.detail) from exc
    box, rows, runs = _picture(state, dag_id, structure, expand, page)
    total = state.storage.runs.count_runs(dag_id)
    return render(
        request,
        "dag.html",
        viewer,
        dag=record,
        graph=box,
        rows=rows,
        runs=runs,
        total=total,
        page=page,
        pages=max(1, -(-total // RUNS_PAGE)),
        source=source,
    )


@router.get("/dags/{dag_id}/graph", response_class=HTMLResponse)
def dag_graph_fragment(
    dag_id: str,
    request: Request,
    page: int = Query(1, ge=1, le=1_000_000),
    expand: list[str] = Expand,
    state: ServerState = Depends(server_state),
) -> HTMLResponse:
    """The DAG page's graph alone (what the script swaps in when a group opens or closes)."""
    signed_in(request, state)
    _, structure = _structure(state, dag_id)
    return HTMLResponse(_picture(state, dag_id, structure, expand, page)[0])


__all__ = ["cell_state", "router"]
