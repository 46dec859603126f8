"""Pictures of the asset and backfill pages, drawn on the server as SVG: the asset lineage
graph (layered, each asset a link), a metadata value over time (a line chart), a
partition status strip, and a progress bar.

The design decision: as ``svg.py``, every picture is escaped markup built in
Python (inline in the page, no script, within the CSP); the lineage graph
reuses ``svg.layers`` so assets and tasks are laid out alike. A strip of
many partitions groups consecutive keys into one cell per range of equal
status beyond ``STRIP_CELLS`` keys, so its size does not grow with the keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from urllib.parse import quote

from partita.server.ui.svg import layers

NODE_W, NODE_H, GAP_X, GAP_Y = 170, 30, 56, 12
#: Beyond this many partitions, the strip draws one cell per range of equal status.
STRIP_CELLS = 400
STRIP_W, STRIP_H = 900, 26


def asset_href(name: str) -> str:
    """The page of the asset written ``name`` (``schema/table``)."""
    return "/assets/" + quote(name, safe="/")


def lineage(
    parents: Mapping[str, Sequence[str]], states: Mapping[str, str], focus: str | None = None
) -> str:
    """The assets left to right in layers (upstream first), edges from each parent, each
    asset a link to its page coloured by ``states`` (fresh, stale, missing)."""
    if not parents:
        return '<p class="muted">No asset to draw.</p>'
    upstream = {name: [p for p in ups if p in parents] for name, ups in parents.items()}
    columns = layers(upstream)
    where: dict[str, tuple[float, float]] = {}
    for col, names in enumerate(columns):
        for row, name in enumerate(names):
            where[name] = (10 + col * (NODE_W + GAP_X), 10 + row * (NODE_H + GAP_Y))
    width = 20 + len(columns) * (NODE_W + GAP_X) - GAP_X
    height = 20 + max(len(c) for c in columns) * (NODE_H + GAP_Y) - GAP_Y
    parts = [
        f'<svg class="graph lineage" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="lineage graph of the assets">'
    ]
    for name, ups in upstream.items():
        x2, y2 = where[name]
        for up in ups:
            x1, y1 = where[up]
            sx, sy, ex, ey = x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2
            mid = (sx + ex) / 2
            parts.append(
                f'<path class="edge" d="M{sx:.0f},{sy:.0f} C{mid:.0f},{sy:.0f} '
                f'{mid:.0f},{ey:.0f} {ex:.0f},{ey:.0f}"/>'
            )
    for name, (x, y) in where.items():
        state = escape(states.get(name, "missing"))
        label = escape(name if len(name) <= 24 else "…" + name[-23:])
        mark = " focus" if name == focus else ""
        parts.append(
            f'<a href="{escape(asset_href(name))}" class="node{mark}" data-asset="{escape(name)}">'
            f'<rect class="as-{state}" x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="4">'
            f"<title>{escape(name)}: {state}</title></rect>"
            f'<text x="{x + NODE_W / 2}" y="{y + 19}" text-anchor="middle">{label}</text></a>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _tick(value: float) -> str:
    return f"{value:.4g}"


def line_chart(name: str, points: Sequence[tuple[datetime, float]]) -> str:
    """One metadata value over time: a polyline with a dot per materialization."""
    if not points:
        return '<p class="muted">No value.</p>'
    width, height, left, bottom, top = 440, 160, 56, 22, 10
    first, last = points[0][0], points[-1][0]
    span = max((last - first).total_seconds(), 1e-9)
    low = min(v for _, v in points)
    high = max(v for _, v in points)
    if high == low:
        low, high = low - 1, high + 1
    plot_w, plot_h = width - left - 10, height - top - bottom

    def xy(when: datetime, value: float) -> tuple[float, float]:
        x = left + (
            plot_w / 2 if len(points) == 1 else (when - first).total_seconds() / span * plot_w
        )
        return x, top + (high - value) / (high - low) * plot_h

    coords = [xy(t, v) for t, v in points]
    shown = "%H:%M:%S" if span < 86_400 else "%Y-%m-%d %H:%M"
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    parts = [
        f'<svg class="line-chart" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(name)} over time">',
        f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}"/>',
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" '
        f'y2="{top + plot_h}"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{_tick(high)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">{_tick(low)}</text>',
        f'<text x="{left}" y="{height - 4}">{first.strftime(shown)}</text>',
        f'<text x="{left + plot_w}" y="{height - 4}" text-anchor="end">{last.strftime(shown)}'
        "</text>",
        f'<polyline class="series" points="{path}"/>',
    ]
    for (when, value), (x, y) in zip(points, coords, strict=True):
        parts.append(
            f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3">'
            f"<title>{when:%Y-%m-%d %H:%M:%S}: {_tick(value)}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def partition_strip(keys: Sequence[str], status_of: Mapping[str, str]) -> str:
    """A cell per partition coloured by its status, in key order; beyond ``STRIP_CELLS``
    keys, a cell per range of consecutive keys with one status (its width their count)."""
    if not keys:
        return '<p class="muted">No partition.</p>'
    runs: list[tuple[str, str, str, int]] = []  # status, first, last, count
    for key in keys:
        status = status_of.get(key, "missing")
        if runs and runs[-1][0] == status and len(keys) > STRIP_CELLS:
            s, first, _, count = runs[-1]
            runs[-1] = (s, first, key, count + 1)
        else:
            runs.append((status, key, key, 1))
    scale = STRIP_W / len(keys)
    parts = [
        f'<svg class="strip" viewBox="0 0 {STRIP_W} {STRIP_H}" width="100%" '
        f'preserveAspectRatio="none" role="img" aria-label="status of {len(keys)} partitions">'
    ]
    x = 0.0
    for status, first, last, count in runs:
        w = count * scale
        label = first if count == 1 else f"{first}...{last} ({count})"
        parts.append(
            f'<rect class="ps-{escape(status)}" x="{x:.2f}" y="0" width="{max(w - 0.5, 0.5):.2f}" '
            f'height="{STRIP_H}" data-partition="{escape(first)}"><title>{escape(label)}: '
            f"{escape(status)}</title></rect>"
        )
        x += w
    parts.append("</svg>")
    return "".join(parts)


def progress_bar(parts_done: Mapping[str, int], total: int) -> str:
    """A horizontal bar split by run state (counts of ``total``), the rest left empty."""
    width, height = 600, 18
    if total <= 0:
        return '<p class="muted">Nothing planned.</p>'
    out = [
        f'<svg class="progress" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="progress">'
        f'<rect class="track" x="0" y="0" width="{width}" height="{height}" rx="3"/>'
    ]
    x = 0.0
    for state, count in parts_done.items():
        if count <= 0:
            continue
        w = count / total * width
        out.append(
            f'<rect class="st-{escape(state)}" x="{x:.1f}" y="0" width="{w:.1f}" '
            f'height="{height}"><title>{count} {escape(state)}</title></rect>'
        )
        x += w
    out.append("</svg>")
    return "".join(out)


__all__ = ["asset_href", "line_chart", "lineage", "partition_strip", "progress_bar"]
