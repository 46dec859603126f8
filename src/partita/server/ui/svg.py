"""Pictures drawn on the server as SVG markup: a run's Gantt chart, a DAG's layered graph.

The design decision: the SVG is built from escaped strings in Python (no
drawing library, no script in the picture), so it is inline in the page,
obeys the CSP, and a 10,000-task run is one string join.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from partita.definitions.states import TaskState
from partita.server.ui.dag_graph import summary_state
from partita.storage.records import TaskInstanceRecord, TaskSummary

ROW = 18
LABEL = 180
WIDTH = 900


def instance_name(ti: TaskInstanceRecord) -> str:
    """``task_id``, or ``task_id [N]`` for a mapped instance."""
    return ti.task_id if ti.map_index < 0 else f"{ti.task_id} [{ti.map_index}]"


Bar = tuple[str, str, datetime, datetime | None]


def gantt(instances: Sequence[TaskInstanceRecord], now: datetime) -> str:
    """One bar per task instance that started, from its start to its end (or ``now``)."""
    bars: list[Bar] = [
        (instance_name(ti), str(ti.state), ti.start_date, ti.end_date)
        for ti in instances
        if ti.start_date is not None
    ]
    return _bars(bars, now, len(bars))


def gantt_summaries(
    summaries: Sequence[TaskSummary], now: datetime, most: int, width: int = WIDTH
) -> str:
    """One bar per task that started (a mapped task ``name [N]``: from its first instance's
    start to its last one's end), the ``most`` that started first; a line says how many
    more there are. A task with an instance not finished yet runs to ``now``."""
    timed = sorted(
        (s for s in summaries if s.first_start is not None),
        key=lambda s: (s.first_start, s.task_id),
    )
    bars: list[Bar] = []
    for s in timed[:most]:
        assert s.first_start is not None
        done = all(TaskState(state).finished for state in s.states)
        name = f"{s.task_id} [{s.count}]" if s.mapped else s.task_id
        bars.append((name, summary_state(s.states), s.first_start, s.last_end if done else None))
    end = max((s.last_end for s in timed[most:] if s.last_end is not None), default=None)
    return _bars(bars, now, len(summaries), len(timed), width, end)


def _bars(
    bars: list[Bar],
    now: datetime,
    tasks: int,
    started: int | None = None,
    width: int = WIDTH,
    later_end: datetime | None = None,
) -> str:
    """``bars`` drawn; of ``tasks`` in all, ``started`` started (the bars are the first of
    them; ``later_end`` is the last end of those not drawn, so the time axis covers all)."""
    if not bars:
        return '<p class="muted">No task has started yet.</p>'
    start = min(b[2] for b in bars)
    end = max([(b[3] or now) for b in bars] + ([later_end] if later_end else []))
    span = max((end - start).total_seconds(), 1e-6)
    scale = (width - LABEL - 10) / span
    shown = bars
    started = len(bars) if started is None else started
    height = ROW * len(shown) + 24
    parts = [
        f'<svg class="gantt" viewBox="0 0 {width} {height}" width="100%" '
        'role="img" aria-label="Gantt chart of task timings">'
    ]
    for row, (text, state, began, ended) in enumerate(shown):
        y = row * ROW + 2
        x = LABEL + (began - start).total_seconds() * scale
        seconds = ((ended or now) - began).total_seconds()
        w = max(seconds * scale, 2)
        name = escape(text if len(text) <= 28 else text[:27] + "…")
        parts.append(
            f'<text x="{LABEL - 6}" y="{y + 12}" text-anchor="end">{name}</text>'
            f'<rect class="st-{escape(state)}" x="{x:.1f}" y="{y}" width="{w:.1f}" '
            f'height="{ROW - 4}" rx="2"><title>{escape(text)}: {escape(state)}, '
            f"{seconds:.3f} s</title></rect>"
        )
    axis_y = ROW * len(shown) + 16
    parts.append(
        f'<text x="{LABEL}" y="{axis_y}">0 s</text>'
        f'<text x="{width - 10}" y="{axis_y}" text-anchor="end">{span:.3f} s</text></svg>'
    )
    waiting = tasks - started
    if len(shown) < started:
        parts.append(
            f'<p class="muted gantt-more">{len(shown):,} of {tasks:,} tasks drawn, the first '
            f"to start; {waiting:,} not started. The task list has them all.</p>"
        )
    elif waiting:
        parts.append(f'<p class="muted gantt-more">{waiting:,} not started.</p>')
    return "".join(parts)


NODE_W, NODE_H, GAP_X, GAP_Y = 150, 28, 60, 14


def layers(upstream: dict[str, list[str]]) -> list[list[str]]:
    """Tasks in layers (a task one layer right of its furthest upstream), each layer ordered
    by the mean position of its upstream tasks (fewer crossing edges)."""
    depth: dict[str, int] = {}

    def depth_of(task: str) -> int:
        if task not in depth:
            depth[task] = 0  # a guard: the graph is acyclic, this is never read back
            depth[task] = 1 + max(
                (depth_of(u) for u in upstream[task] if u in upstream), default=-1
            )
        return depth[task]

    for task in upstream:
        depth_of(task)
    result: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    position: dict[str, float] = {}
    for level, _ in enumerate(result):
        tasks = sorted(t for t in upstream if depth[t] == level)
        ups = {t: [position[u] for u in upstream[t] if u in position] for t in tasks}
        tasks.sort(key=lambda t: sum(ups[t]) / len(ups[t]) if ups[t] else 0.0)
        result[level] = tasks
        position.update({t: float(i) for i, t in enumerate(tasks)})
    return result


def graph(
    upstream: dict[str, list[str]],
    states: dict[str, str],
    labels: dict[str, str] | None = None,
    *,
    edge_labels: dict[tuple[str, str], str] | None = None,
    titles: dict[str, str] | None = None,
    links: dict[str, str] | None = None,
) -> str:
    """The graph drawn left to right in layers; each node coloured by ``states`` (its state),
    named by ``labels`` (or its id), with ``titles`` as tooltips; an edge carries its text
    from ``edge_labels``; a node in ``links`` (a collapsed task group) is a link there."""
    if not upstream:
        return '<p class="muted">This DAG has no tasks.</p>'
    columns = layers(upstream)
    gap = GAP_X + 50 if edge_labels else GAP_X  # room for the labels between the columns
    where: dict[str, tuple[float, float]] = {}
    for col, tasks in enumerate(columns):
        for row, task in enumerate(tasks):
            where[task] = (10 + col * (NODE_W + gap), 10 + row * (NODE_H + GAP_Y))
    width = 20 + len(columns) * (NODE_W + gap) - gap
    height = 20 + max(len(c) for c in columns) * (NODE_H + GAP_Y) - GAP_Y
    parts = [
        f'<svg class="graph" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'role="img" aria-label="graph of the tasks">'
    ]
    texts: list[str] = []
    for task, ups in upstream.items():
        x2, y2 = where[task]
        for up in ups:
            if up in where:
                x1, y1 = where[up]
                sx, sy, ex, ey = x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2
                mid = (sx + ex) / 2
                parts.append(
                    f'<path class="edge" d="M{sx:.0f},{sy:.0f} C{mid:.0f},{sy:.0f} '
                    f'{mid:.0f},{ey:.0f} {ex:.0f},{ey:.0f}"/>'
                )
                text = (edge_labels or {}).get((up, task))
                if text:  # drawn after the edges, so no edge crosses a label
                    texts.append(
                        f'<text class="edge-label" x="{mid:.0f}" y="{(sy + ey) / 2 - 3:.0f}" '
                        f'text-anchor="middle">{escape(_cut(text, 18))}</text>'
                    )
    parts.extend(texts)
    for task, (x, y) in where.items():
        state = escape(states.get(task, "none"))
        label = escape(_cut((labels or {}).get(task, task), 22))
        title = escape((titles or {}).get(task, f"{task}: {state}"))
        href = (links or {}).get(task)
        kind = "node group" if href else "node"
        box = (
            f'<g class="{kind}" data-node="{escape(task)}"><rect class="st-{state}" x="{x}" '
            f'y="{y}" width="{NODE_W}" height="{NODE_H}" rx="4"><title>{title}</title>'
            f'</rect><text x="{x + NODE_W / 2}" y="{y + 18}" text-anchor="middle">{label}'
            "</text></g>"
        )
        if href:
            box = f'<a href="{escape(href)}" data-graph-link="">{box}</a>'
        parts.append(box)
    parts.append("</svg>")
    return "".join(parts)


def _cut(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


__all__ = ["gantt", "gantt_summaries", "graph", "instance_name", "layers"]
