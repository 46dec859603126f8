"""The text tree of ``partita dags show``: tasks under the tasks they follow, groups nested.

The tree is drawn one group level at a time. At a level, each child of the
group (a task, or a whole sub-group) is a node; an edge between tasks in two
different nodes is an edge between those nodes. Nodes with no upstream at
their level start the tree, and each node's downstream nodes hang under it.
A group node lists its own contents first (drawn the same way, one level
down), then the nodes that follow the whole group, marked ``▸``. A mapped
task, and a mapped group, carry ``[mapped]``: they run once per input value.

The design decision: a node with several upstreams is drawn in full the first
time it is reached (depth first, in definition order) and as a one-line
reference everywhere else, so the tree is as long as the DAG, not as long as
the number of paths through it.
"""

from __future__ import annotations

from rich.text import Text
from rich.tree import Tree

from partita.definitions.baseoperator import BaseOperator
from partita.definitions.dag import DAG
from partita.definitions.mapping import MappedOperator
from partita.definitions.states import TriggerRule
from partita.definitions.taskgroup import TaskGroup

Node = BaseOperator | TaskGroup


def dag_tree(dag: DAG) -> Tree:
    """A Rich tree of ``dag``'s tasks and edges."""
    count = len(dag.task_dict)
    header = Text.assemble(
        ("DAG ", "bold"),
        (dag.dag_id, "bold cyan"),
        f"  {count} task{'s' if count != 1 else ''}",
        f", schedule {dag.schedule}" if dag.schedule is not None else ", no schedule",
    )
    tree = Tree(header)
    if count == 0:
        tree.add(Text("(no tasks)", style="dim"))
    else:
        _Level(dag.task_group).draw(tree)
    return tree


class _Level:
    """The children of one task group, with the edges between them."""

    def __init__(self, group: TaskGroup) -> None:
        self.nodes: list[Node] = [c for c in group.children.values() if _has_tasks(c)]
        owner: dict[str, Node] = {}
        for node in self.nodes:
            for task in _tasks_of(node):
                owner[task.task_id] = node
        self.downstream: dict[int, list[Node]] = {id(n): [] for n in self.nodes}
        self.has_upstream: set[int] = set()
        for node in self.nodes:
            for task in _tasks_of(node):
                for down_id in task.downstream_task_ids:
                    target = owner.get(down_id)
                    if target is None or target is node:
                        continue
                    if target not in self.downstream[id(node)]:
                        self.downstream[id(node)].append(target)
                    self.has_upstream.add(id(target))
        self.drawn: set[int] = set()

    def draw(self, parent: Tree) -> None:
        for node in self.nodes:
            if id(node) not in self.has_upstream:
                self._draw(parent, node, marker="")
        for node in self.nodes:  # reachable only through a loop between groups
            if id(node) not in self.drawn:
                self._draw(parent, node, marker="")

    def _draw(self, parent: Tree, node: Node, marker: str) -> None:
        if id(node) in self.drawn:
            parent.add(Text(f"{marker}↑ {_name(node)} (shown above)", style="dim"))
            return
        self.drawn.add(id(node))
        if isinstance(node, TaskGroup):
            branch = parent.add(_group_label(node, marker))
            _Level(node).draw(branch)
            follower_marker = "▸ "
        else:
            branch = parent.add(_task_label(node, marker))
            follower_marker = ""
        for follower in self.downstream[id(node)]:
            self._draw(branch, follower, follower_marker + _edge_label(node, follower))


def _edge_label(node: Node, follower: Node) -> str:
    """``«label» `` when the edge from task ``node`` to task ``follower`` has a ``Label``."""
    if isinstance(node, TaskGroup) or isinstance(follower, TaskGroup) or node.dag is None:
        return ""
    label = node.dag.edge_labels.get((node.task_id, follower.task_id))
    return f"«{label}» " if label else ""


def _tasks_of(node: Node) -> list[BaseOperator]:
    return node.iter_tasks() if isinstance(node, TaskGroup) else [node]


def _has_tasks(node: Node) -> bool:
    return bool(_tasks_of(node))


def _name(node: Node) -> str:
    if isinstance(node, TaskGroup):
        return f"group {node.group_id}"
    return node.task_id


def _task_label(task: BaseOperator, marker: str) -> Text:
    label = Text(marker)
    label.append(task.task_id, style="bold")
    if isinstance(task, MappedOperator):
        label.append(" [mapped]", style="bold cyan")
    label.append(f"  {task.operator_name}", style="dim")
    if task.trigger_rule is not TriggerRule.ALL_SUCCESS:
        label.append(f"  trigger_rule={task.trigger_rule.value}", style="yellow")
    if task.retries:
        label.append(f"  retries={task.retries}", style="yellow")
    return label


def _group_label(group: TaskGroup, marker: str) -> Text:
    count = len(group.iter_tasks())
    label = Text(marker)
    label.append(f"▣ {group.group_id}", style="bold magenta")
    if group.expand_input is not None:
        label.append(" [mapped]", style="bold cyan")
    kind = "mapped task group" if group.expand_input is not None else "task group"
    label.append(f"  {kind}, {count} task{'s' if count != 1 else ''}", style="dim")
    return label


__all__ = ["dag_tree"]
