"""References to values known only at run time: a task's output (``XComArg``) and a DAG param.

Calling a ``@task`` with another task's result passes an ``XComArg``; it wires
the dependency when the task is defined and is replaced by the stored value
when the task runs. ``DagParam`` does the same for the parameters of a
``@dag`` function.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from partita.definitions.dependencies import DependencyMixin
from partita.definitions.ids import check_id_length

if TYPE_CHECKING:
    from partita.definitions.baseoperator import BaseOperator

RETURN_KEY = "return_value"
_NO_FILL: Any = object()


class XComArg(DependencyMixin):
    """The output ``key`` of ``operator``; ``result["k"]`` selects one key of a dict output."""

    __slots__ = ("key", "operator")

    def __init__(self, operator: BaseOperator, key: str = RETURN_KEY) -> None:
        self.operator = operator
        self.key = key

    def __getitem__(self, key: str) -> XComArg:
        if isinstance(key, str):
            dag = self.operator.dag
            where = f"DAG {dag.dag_id!r}: " if dag is not None else ""
            check_id_length(
                key, f"{where}task {self.operator.task_id!r}: output key", "use a shorter key"
            )
        return XComArg(self.operator, key)

    def __iter__(self) -> Iterator[Any]:
        raise TypeError(
            f"the output of task {self.operator.task_id!r} is not known until it runs and cannot "
            "be iterated while the DAG is defined; pass it to another task instead"
        )

    def as_setup(self) -> XComArg:
        """Mark the task of this output as a setup task (``@task`` style); returns the output."""
        self.operator.as_setup()
        return self

    def as_teardown(
        self, *, setups: Any = None, on_failure_fail_dagrun: bool | None = None
    ) -> XComArg:
        """Mark the task of this output as the teardown of ``setups``; returns the output."""
        self.operator.as_teardown(setups=setups, on_failure_fail_dagrun=on_failure_fail_dagrun)
        return self

    def __enter__(self) -> XComArg:
        self.operator.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.operator.__exit__(*exc)

    def dependency_roots(self) -> list[BaseOperator]:
        return [self.operator]

    def dependency_leaves(self) -> list[BaseOperator]:
        return [self.operator]

    def operators(self) -> list[BaseOperator]:
        """Every task whose output this reference reads."""
        return [self.operator]

    def resolve(self, pull: Callable[[str, str], Any]) -> Any:
        """The value at run time; ``pull(task_id, key)`` reads one stored output."""
        return pull(self.operator.task_id, self.key)

    def map(self, fn: Callable[[Any], Any]) -> XComArg:
        """This output with ``fn`` applied to each element, lazily, when it is expanded over."""
        return MapXComArg(self, fn)

    def zip(self, *others: XComArg, fillvalue: Any = _NO_FILL) -> XComArg:
        """Tuples pairing this output element-wise with ``others`` (shortest, or padded)."""
        return ZipXComArg((self, *others), fillvalue)

    def __repr__(self) -> str:
        return f"XComArg({self.operator.task_id!r}, key={self.key!r})"


class MapXComArg(XComArg):
    """``output.map(fn)``: each element of an output transformed by ``fn``."""

    __slots__ = ("base", "fn")

    def __init__(self, base: XComArg, fn: Callable[[Any], Any]) -> None:
        super().__init__(base.operator, base.key)
        self.base = base
        self.fn = fn

    def operators(self) -> list[BaseOperator]:
        return self.base.operators()

    def resolve(self, pull: Callable[[str, str], Any]) -> Any:
        return _LazyMapped(self.base.resolve(pull), self.fn)


class ZipXComArg(XComArg):
    """``a.zip(b, c)``: tuples of the elements at the same position."""

    __slots__ = ("args", "fillvalue")

    def __init__(self, args: tuple[XComArg, ...], fillvalue: Any) -> None:
        super().__init__(args[0].operator, args[0].key)
        self.args = args
        self.fillvalue = fillvalue

    def operators(self) -> list[BaseOperator]:
        return [op for arg in self.args for op in arg.operators()]

    def dependency_roots(self) -> list[BaseOperator]:
        return self.operators()

    def dependency_leaves(self) -> list[BaseOperator]:
        return self.operators()

    def resolve(self, pull: Callable[[str, str], Any]) -> Any:
        values = [list(arg.resolve(pull)) for arg in self.args]
        if self.fillvalue is _NO_FILL:
            return list(zip(*values, strict=False))
        return list(itertools.zip_longest(*values, fillvalue=self.fillvalue))


class _LazyMapped(Sequence[Any]):
    """A read-only sequence applying ``fn`` to each element of ``base`` when read."""

    __partita_lazy_sequence__ = True  # passes a ``list`` type check (definitions/types.py)

    def __init__(self, base: Any, fn: Callable[[Any], Any]) -> None:
        self._base = list(base.items()) if isinstance(base, dict) else base
        self._fn = fn

    def __len__(self) -> int:
        return len(self._base)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._fn(v) for v in self._base[index]]
        return self._fn(self._base[index])

    def __repr__(self) -> str:
        return repr(list(self))


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
