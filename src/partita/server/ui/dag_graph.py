"""What the graph view shows of a DAG: its tasks and task groups as nodes (a collapsed group is
one node with its members' states summed), the edges between them with their labels, and
one state per node.

The design decision: the view is computed on the server from the DAG's
serialized structure (``task_groups``, ``edge_labels``) and the states of
one run counted per task (``RunStore.task_summaries``), so the picture is
the same with or without the page's script; which groups are open is a
query parameter (``expand``), and the script only swaps the picture in place
and follows the states live. Groups start collapsed, so a DAG of many
grouped tasks draws as few nodes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: When a node's instances differ, it shows the first of these that occurs.
PRECEDENCE = ("failed", "upstream_failed", "up_for_retry", "running", "queued", "scheduled")
#: Above this many nodes the graph is not drawn (the task list and its pages still are).
MAX_NODES = 400


def summary_state(counts: Mapping[str, int]) -> str:
    """One state for instances counted by state: the one that needs attention first."""
    for state in PRECEDENCE:
        if counts.get(state):
            return state
    if len(counts) == 1:  # the usual case: every instance in one state
        (state, n), *_ = counts.items()
        return state if n else "none"
    most = max(counts.items(), key=lambda pair: pair[1], default=("none", 0))
    return most[0] if most[1] else "none"


def describe(counts: Mapping[str, int]) -> str:
    """``3 success, 1 failed``: instances counted by state, most first."""
    ordered = sorted(((n, s) for s, n in counts.items() if n), key=lambda p: (-p[0], p[1]))
    return ", ".join(f"{n} {s}" for n, s in ordered) or "no instance"


@dataclass(frozen=True)
class Node:
    """One box of the graph: a task, or a collapsed task group standing for its members."""

    node_id: str
    label: str
    state: str
    title: str
    group: bool = False
    #: The URL that expands this group (group nodes only).
    href: str = ""


@dataclass(frozen=True)
class Toggle:
    """A group the reader may open or close, and the URL that does it."""

    group_id: str
    expanded: bool
    href: str
    members: int


@dataclass
class GraphView:
    """The nodes, edges (with their labels) and group toggles of one picture."""

    nodes: list[Node] = field(default_factory=list)
    upstream: dict[str, list[str]] = field(default_factory=dict)
    labels: dict[tuple[str, str], str] = field(default_factory=dict)
    toggles: list[Toggle] = field(default_factory=list)


def parse_expanded(values: Iterable[str]) -> frozenset[str]:
    """The open groups from ``expand`` query values (repeated, or comma separated)."""
    return frozenset(g for value in values for g in value.split(",") if g)


def _chain(group: str | None, parents: Mapping[str, str | None]) -> list[str]:
    """The groups around a task, outermost first."""
    chain: list[str] = []
    seen: set[str] = set()
    while group is not None and group not in seen:
        seen.add(group)
        chain.append(group)
        group = parents.get(group)
    return chain[::-1]


def graph_view(
    structure: Mapping[str, Any],
    counts: Mapping[str, Mapping[str, int]],
    expanded: frozenset[str],
    href: Callable[[frozenset[str]], str],
    mapped: Mapping[str, int] | None = None,
) -> GraphView:
    """The picture of ``structure`` (a serialized DAG) with ``counts`` (per task, its
    instances by state) and the groups in ``expanded`` open; ``mapped`` gives the width
    of each mapped task (drawn ``name [N]``); ``href(groups)`` is the URL of the picture
    with those groups open."""
    tasks = structure.get("tasks", [])
    parents: dict[str, str | None] = dict(structure.get("task_groups") or {})
    for t in tasks:  # a DAG serialized before task_groups existed: flat groups
        if t.get("group") is not None:
            parents.setdefault(t["group"], None)
    node_of: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    # Per group (not per task): its chain of groups and the outermost closed one.
    chains: dict[str | None, tuple[list[str], str | None]] = {}
    for t in tasks:
        group = t.get("group")
        if group not in chains:
            chain = _chain(group, parents)
            chains[group] = (chain, next((g for g in chain if g not in expanded), None))
        chain, closed = chains[group]
        node_of[t["task_id"]] = closed or t["task_id"]
        for g in chain:
            members.setdefault(g, []).append(t["task_id"])
    view = GraphView()
    edge_labels = {(up, down): text for up, down, text in structure.get("edge_labels") or []}
    for t in tasks:
        down = node_of[t["task_id"]]
        ups = view.upstream.setdefault(down, [])
        for up_task in t["upstream"]:
            up = node_of.get(up_task)
            if up is None or up == down:
                continue
            if up not in ups:
                ups.append(up)
            text = edge_labels.get((up_task, t["task_id"]))
            if text:
                view.labels.setdefault((up, down), text)
    widths = mapped or {}
    group_of = {t["task_id"]: t.get("group") for t in tasks}
    for node_id in view.upstream:
        if node_id in members and node_id not in node_of:  # a collapsed group
            summed: Counter[str] = Counter()
            for task_id in members[node_id]:
                summed.update(counts.get(task_id, {}))
            view.nodes.append(
                Node(
                    node_id,
                    f"▸ {node_id.rsplit('.', 1)[-1]} ({len(members[node_id])})",
                    summary_state(summed),
                    f"group {node_id}: {len(members[node_id])} tasks; {describe(summed)}",
                    group=True,
                    href=href(expanded | {node_id}),
                )
            )
            continue
        own = counts.get(node_id, {})
        group = group_of.get(node_id)
        short = node_id[len(group) + 1 :] if group and node_id.startswith(group + ".") else node_id
        width = widths.get(node_id)
        view.nodes.append(
            Node(
                node_id,
                f"{short} [{width}]" if width else short,
                summary_state(own),
                f"{node_id}: {describe(own)}",
            )
        )
    for group_id in sorted(members):
        outer = _chain(parents.get(group_id), parents)
        if all(g in expanded for g in outer):  # only the groups one can see
            is_open = group_id in expanded
            if is_open:  # closing a group closes the groups inside it too
                inside = {g for g in expanded if group_id in _chain(g, parents)}
                target = expanded - inside
            else:
                target = expanded | {group_id}
            view.toggles.append(Toggle(group_id, is_open, href(target), len(members[group_id])))
    return view


__all__ = [
    "MAX_NODES",
    "PRECEDENCE",
    "GraphView",
    "Node",
    "Toggle",
    "describe",
    "graph_view",
    "parse_expanded",
    "summary_state",
]
