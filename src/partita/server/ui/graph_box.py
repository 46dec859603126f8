"""The graph box of the DAG and run pages: the group toggles and the picture, as one HTML
fragment the pages embed and the script swaps in place.

The design decision: one template renders the box for both pages and for
the fragment routes, so a page and its in-place update can never differ; a
picture of more than ``MAX_NODES`` nodes is not drawn (its layout and markup
would make the page slow), the box says so and points at the task list.
"""

from __future__ import annotations

from partita.server.ui.dag_graph import MAX_NODES, GraphView
from partita.server.ui.render import ENV
from partita.server.ui.svg import graph


def draw(view: GraphView) -> str:
    """The SVG of ``view`` (or a note when it has too many nodes to draw)."""
    if len(view.nodes) > MAX_NODES:
        return (
            f'<p class="muted too-big">The graph has {len(view.nodes):,} nodes, more than the '
            f"{MAX_NODES} drawn; close task groups or read the task list below.</p>"
        )
    return graph(
        view.upstream,
        {n.node_id: n.state for n in view.nodes},
        {n.node_id: n.label for n in view.nodes},
        edge_labels=view.labels,
        titles={n.node_id: n.title for n in view.nodes},
        links={n.node_id: n.href for n in view.nodes if n.group},
    )


def graph_box(view: GraphView, fragment: str, stream: str = "", shape: str = "") -> str:
    """The box: toggles and picture; ``fragment`` is the URL serving this box alone (the
    script adds the query of a toggle's link), ``stream`` the live states' URL and
    ``shape`` what the stream's events are compared with (run page)."""
    return ENV.get_template("graph_box.html").render(
        view=view, svg=draw(view), fragment=fragment, stream=stream, shape=shape
    )


__all__ = ["draw", "graph_box"]
