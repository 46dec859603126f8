"""Pictures drawn on the server as SVG markup: the Gantt chart of a run's task timings.

The design decision: the SVG is built from escaped strings in Python (no
drawing library, no script in the picture), so it is inline in the page,
obeys the CSP, and a 10,000-task run is one string join.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from partita.storage.records import TaskInstanceRecord

ROW = 18
LABEL = 180
WIDTH = 900


def instance_name(ti: TaskInstanceRecord) -> str:
    """``task_id``, or ``task_id [N]`` for a mapped instance."""
    return ti.task_id if ti.map_index < 0 else f"{ti.task_id} [{ti.map_index}]"


def gantt(instances: Sequence[TaskInstanceRecord], now: datetime) -> str:
    """One bar per task instance that started, from its start to its end (or ``now``)."""
    timed = [ti for ti in instances if ti.start_date is not None]
    if not timed:
        return '<p class="muted">No task has started yet.</p>'
    start = min(ti.start_date for ti in timed if ti.start_date is not None)
    end = max((ti.end_date or now) for ti in timed)
    span = max((end - start).total_seconds(), 1e-6)
    scale = (WIDTH - LABEL - 10) / span
    height = ROW * len(timed) + 24
    parts = [
        f'<svg class="gantt" viewBox="0 0 {WIDTH} {height}" width="100%" '
        'role="img" aria-label="Gantt chart of task timings">'
    ]
    for row, ti in enumerate(timed):
        assert ti.start_date is not None
        y = row * ROW + 2
        x = LABEL + (ti.start_date - start).total_seconds() * scale
        w = max(((ti.end_date or now) - ti.start_date).total_seconds() * scale, 2)
        name = escape(instance_name(ti))
        seconds = ((ti.end_date or now) - ti.start_date).total_seconds()
        parts.append(
            f'<text x="{LABEL - 6}" y="{y + 12}" text-anchor="end">{name}</text>'
            f'<rect class="st-{escape(str(ti.state))}" x="{x:.1f}" y="{y}" width="{w:.1f}" '
            f'height="{ROW - 4}" rx="2"><title>{name}: {escape(str(ti.state))}, '
            f"{seconds:.3f} s</title></rect>"
        )
    axis_y = ROW * len(timed) + 16
    parts.append(
        f'<text x="{LABEL}" y="{axis_y}">0 s</text>'
        f'<text x="{WIDTH - 10}" y="{axis_y}" text-anchor="end">{span:.3f} s</text></svg>'
    )
    return "".join(parts)


__all__ = ["gantt", "instance_name"]
