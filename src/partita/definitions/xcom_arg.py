"""References to values known only at run time: a task's output (``XComArg``) and a DAG param.

Calling a ``@task`` with another task's result passes an ``XComArg``; it wires
the dependency when the task is defined and is replaced by the stored value
when the task runs. ``DagParam`` does the same for the parameters of a
``@dag`` function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from partita.definitions.dependencies import DependencyMixin

if TYPE_CHECKING:
    from partita.definitions.baseoperator import BaseOperator

RETURN_KEY = "return_value"


class XComArg(DependencyMixin):
    """The output ``key`` of ``operator``; ``result["k"]`` selects one key of a dict output."""

    __slots__ = ("key", "operator")

    def __init__(self, operator: BaseOperator, key: str = RETURN_KEY) -> None:
        self.operator = operator
        self.key = key

    def __getitem__(self, key: str) -> XComArg:
        return XComArg(self.operator, key)

    def __iter__(self) -> Iterator[Any]:
        raise TypeError(
            f"the output of task {self.operator.task_id!r} is not known until it runs and cannot "
            "be iterated while the DAG is defined; pass it to another task instead"
        )

    def dependency_roots(self) -> list[BaseOperator]:
        return [self.operator]

    def dependency_leaves(self) -> list[BaseOperator]:
        return [self.operator]

    def __repr__(self) -> str:
        return f"XComArg({self.operator.task_id!r}, key={self.key!r})"


class DagParam:
    """A parameter of a ``@dag`` function: resolves to ``params[name]`` of the run."""

    __slots__ = ("default", "name")

    def __init__(self, name: str, default: Any) -> None:
        self.name = name
        self.default = default

    def __repr__(self) -> str:
        return f"DagParam({self.name!r})"


def find_refs(value: Any) -> Iterator[XComArg | DagParam]:
    """Every ``XComArg`` or ``DagParam`` inside nested lists, tuples, sets and dicts."""
    if isinstance(value, (XComArg, DagParam)):
        yield value
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from find_refs(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from find_refs(item)


def resolve_refs(value: Any, resolve: Callable[[XComArg | DagParam], Any]) -> Any:
    """``value`` with every reference replaced by ``resolve(ref)``; containers are rebuilt."""
    if isinstance(value, (XComArg, DagParam)):
        return resolve(value)
    if isinstance(value, list):
        return [resolve_refs(v, resolve) for v in value]
    if isinstance(value, tuple):
        return tuple(resolve_refs(v, resolve) for v in value)
    if isinstance(value, (set, frozenset)):
        return type(value)(resolve_refs(v, resolve) for v in value)
    if isinstance(value, dict):
        return {k: resolve_refs(v, resolve) for k, v in value.items()}
    return value


__all__ = ["RETURN_KEY", "DagParam", "XComArg", "find_refs", "resolve_refs"]
