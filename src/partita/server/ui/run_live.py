"""The run page's graph and its live states: the graph box drawn from the run's own DAG
version, the same box alone (for in-place updates), and a server-sent event stream of the
run's states while it runs.

The design decision: the graph comes from the DAG version the run was made
from (stored with the run), not from today's file, so an old run draws as it
ran. The stream reads the run's tasks in summary (one grouped query) each
poll and sends a ``states`` event only when something changed: the state of
the run, of each node of the picture the reader has open (task or collapsed
group) and of each task (for the task list); then one ``end`` event once the
run has finished. The page's script applies them in place, without a reload;
only when the run's shape changes (its first task instances appear, its DAG
version is stored) does the script load the page anew, once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode
from weakref import WeakKeyDictionary

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, StreamingResponse

from partita.exceptions import RunNotFoundError
from partita.server.state import ServerState, server_state
from partita.server.ui.dag_graph import (
    GraphView,
    describe,
    graph_view,
    parse_expanded,
    summary_state,
)
from partita.server.ui.graph_box import graph_box
from partita.server.ui.render import PageRefused, signed_in
from partita.storage.base import Storage
from partita.storage.records import DagRunRecord, TaskSummary

router = APIRouter()
#: Decoded DAG versions kept in memory (a version is named by its content's hash, so it
#: never changes): a 10,000-task version is read and decoded once, not on every poll.
#: Kept per store, so two apps in one process (tests) share nothing.
VERSIONS_KEPT = 64
_VERSIONS: WeakKeyDictionary[Storage, dict[tuple[str, str], dict[str, Any]]] = WeakKeyDictionary()
Expand = Query([], max_length=100, description="The task groups shown open.")


def _structure(
    state: ServerState, run: DagRunRecord, summaries: list[TaskSummary]
) -> tuple[dict[str, Any], str]:
    """The run's DAG as serialized when it ran (or, before its version is stored, its task
    instances so far), and its shape: what, when it changes, the page must draw anew."""
    key = (run.dag_id, run.dag_version)
    kept = _VERSIONS.setdefault(state.storage, {})
    serialized = kept.get(key)
    if serialized is None:
        version = state.storage.dags.get_dag_version(run.dag_id, run.dag_version)
        if version is not None:
            serialized = kept[key] = version.serialized
            while len(kept) > VERSIONS_KEPT:
                kept.pop(next(iter(kept)))
    if serialized is not None:
        return serialized, f"{run.dag_version}:{len(summaries)}"
    tasks: list[dict[str, Any]] = [
        {"task_id": s.task_id, "upstream": [], "group": None} for s in summaries
    ]
    return {"tasks": tasks}, f"-:{len(summaries)}"


def _view(
    state: ServerState, run: DagRunRecord, summaries: list[TaskSummary], expanded: frozenset[str]
) -> tuple[GraphView, str]:
    def href(groups: frozenset[str]) -> str:
        query = urlencode({"expand": ",".join(sorted(groups))})
        return f"/runs/{run.run_id}?{query}"

    counts = {s.task_id: s.states for s in summaries}
    widths = {s.task_id: s.count for s in summaries if s.mapped}
    structure, shape = _structure(state, run, summaries)
    return graph_view(structure, counts, expanded, href, widths), shape


def run_graph_box(
    state: ServerState, run: DagRunRecord, summaries: list[TaskSummary], expanded: frozenset[str]
) -> str:
    """The run page's graph box; while the run goes on it names its live stream."""
    stream = ""
    if not run.state.finished:
        stream = f"/runs/{run.run_id}/live?" + urlencode({"expand": ",".join(sorted(expanded))})
    view, shape = _view(state, run, summaries, expanded)
    return graph_box(view, f"/runs/{run.run_id}/graph", stream, shape)


def _run(state: ServerState, run_id: str) -> DagRunRecord:
    try:
        return state.storage.runs.get_run(run_id)
    except RunNotFoundError as exc:
        raise PageRefused(404, str(exc)) from exc


@router.get("/runs/{run_id}/graph", response_class=HTMLResponse)
def run_graph_fragment(
    run_id: str,
    request: Request,
    expand: list[str] = Expand,
    state: ServerState = Depends(server_state),
) -> HTMLResponse:
    """The run page's graph box alone (what the script swaps in when a group opens)."""
    signed_in(request, state)
    run = _run(state, run_id)
    summaries = state.storage.runs.task_summaries(run_id)
    return HTMLResponse(run_graph_box(state, run, summaries, parse_expanded(expand)))


def snapshot(
    state: ServerState, run_id: str, expanded: frozenset[str]
) -> tuple[DagRunRecord, dict[str, Any]]:
    """The run and what the page shows of its states now."""
    run = state.storage.runs.get_run(run_id)
    summaries = state.storage.runs.task_summaries(run_id)
    view, shape = _view(state, run, summaries, expanded)
    return run, {
        "run": str(run.state),
        "shape": shape,
        "nodes": {n.node_id: [n.state, n.title] for n in view.nodes},
        "tasks": {s.task_id: [summary_state(s.states), describe(s.states)] for s in summaries},
    }


@router.get("/runs/{run_id}/live")
def run_live(
    run_id: str,
    request: Request,
    expand: list[str] = Expand,
    state: ServerState = Depends(server_state),
) -> StreamingResponse:
    """The run's states as server-sent events: ``states`` on each change, then ``end``."""
    signed_in(request, state)
    _run(state, run_id)
    stream = _follow(request, state, run_id, parse_expanded(expand))
    return StreamingResponse(
        stream, media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
    )


async def _follow(
    request: Request, state: ServerState, run_id: str, expanded: frozenset[str]
) -> AsyncIterator[str]:
    sent: dict[str, Any] | None = None
    while True:
        began = time.perf_counter()
        run, now = await run_in_threadpool(snapshot, state, run_id, expanded)
        took = time.perf_counter() - began
        if now != sent:
            yield f"event: states\ndata: {json.dumps(now)}\n\n"
            sent = now
        if run.state.finished:
            yield f"event: end\ndata: {json.dumps({'state': str(run.state)})}\n\n"
            return
        if await request.is_disconnected():
            return
        yield ": waiting\n\n"  # a comment: keeps proxies from closing an idle stream
        # A big run's snapshot is a grouped read of many rows: poll it less often, so that
        # a reader costs the server at most a third of one thread.
        await asyncio.sleep(max(state.config.log_poll_interval, 2 * took))


__all__ = ["router", "run_graph_box", "snapshot"]
