"""``>>`` and ``<<`` for tasks, task groups and task outputs, and ``chain`` / ``cross_downstream``.

Everything that can sit on either side of ``>>`` implements two methods,
``dependency_roots()`` (what an incoming edge attaches to) and
``dependency_leaves()`` (where an outgoing edge starts). A task is its own root
and leaf; a group's roots and leaves are computed when the edge is drawn.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from partita.exceptions import DefinitionError

if TYPE_CHECKING:
    from partita.definitions.baseoperator import BaseOperator


class DependencyMixin:
    """Gives ``>>``, ``<<``, ``set_upstream`` and ``set_downstream`` to its subclasses."""

    def dependency_roots(self) -> list[BaseOperator]:
        raise NotImplementedError

    def dependency_leaves(self) -> list[BaseOperator]:
        raise NotImplementedError

    def set_downstream(self, other: Any) -> None:
        """Make ``other`` (a task, group, output or a list of them) run after this."""
        targets = flatten_nodes(other)
        for target in targets:
            if isinstance(target, Label):
                target.sources.append(self)
        for leaf in self.dependency_leaves():
            for target in targets:
                for root in target.dependency_roots():
                    leaf.add_downstream_edge(root)

    def set_upstream(self, other: Any) -> None:
        """Make this run after ``other``."""
        for source in flatten_nodes(other):
            source.set_downstream(self)

    def __rshift__(self, other: Any) -> Any:
        self.set_downstream(other)
        return other

    def __lshift__(self, other: Any) -> Any:
        self.set_upstream(other)
        return other

    def __rrshift__(self, other: Any) -> Any:
        # [a, b] >> self
        self.set_upstream(other)
        return self

    def __rlshift__(self, other: Any) -> Any:
        # [a, b] << self
        self.set_downstream(other)
        return self


class Label(DependencyMixin):
    """A name on the edges it sits on: ``pick >> Label("big files") >> compress``.

    It adds no task: the tasks before it run before the tasks after it, and each
    of those edges carries the label (kept in ``dag.edge_labels``, shown by
    ``partita dags show``).
    """

    def __init__(self, label: str) -> None:
        self.label = label
        self.sources: list[DependencyMixin] = []

    def dependency_roots(self) -> list[BaseOperator]:
        return []

    def dependency_leaves(self) -> list[BaseOperator]:
        return [leaf for source in self.sources for leaf in source.dependency_leaves()]

    def set_downstream(self, other: Any) -> None:
        super().set_downstream(other)
        for leaf in self.dependency_leaves():
            for target in flatten_nodes(other):
                for root in target.dependency_roots():
                    if leaf.dag is not None:
                        leaf.dag.edge_labels[(leaf.task_id, root.task_id)] = self.label

    def __repr__(self) -> str:
        return f"Label({self.label!r})"


def flatten_nodes(obj: Any) -> list[DependencyMixin]:
    """A task, group or output, or any nesting of lists/tuples/sets of them, as a flat list."""
    if isinstance(obj, DependencyMixin):
        return [obj]
    if isinstance(obj, (list, tuple, set, frozenset)):
        out: list[DependencyMixin] = []
        for item in obj:
            out.extend(flatten_nodes(item))
        return out
    raise DefinitionError(
        f"cannot set a dependency on {obj!r} ({type(obj).__name__}); "
        "use a task, a task group, a task's output or a list of them"
    )


def chain(*elements: Any) -> None:
    """``chain(a, b, [c, d], e)``: each element runs after the one before it.

    Two adjacent lists must have the same length and are linked pairwise,
    as in Airflow.
    """
    for up, down in itertools.pairwise(elements):
        if isinstance(up, Sequence) and isinstance(down, Sequence):
            if len(up) != len(down):
                raise DefinitionError(
                    f"chain(): adjacent lists must have the same length, got {len(up)} and "
                    f"{len(down)}; use cross_downstream() to link every pair"
                )
            for a, b in zip(up, down, strict=True):
                _one(a).set_downstream(b)
        elif isinstance(up, Sequence):
            for a in up:
                _one(a).set_downstream(down)
        else:
            _one(up).set_downstream(down)


def cross_downstream(from_tasks: Iterable[Any], to_tasks: Any) -> None:
    """Every task of ``from_tasks`` runs before every task of ``to_tasks``."""
    for task in from_tasks:
        _one(task).set_downstream(to_tasks)


def _one(obj: Any) -> DependencyMixin:
    nodes = flatten_nodes(obj)
    if len(nodes) != 1:
        raise DefinitionError(f"expected one task, group or output, got {obj!r}")
    return nodes[0]


__all__ = ["DependencyMixin", "Label", "chain", "cross_downstream"]
