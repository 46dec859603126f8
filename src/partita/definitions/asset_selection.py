"""Which assets a job or a ``materialize`` call covers: ``"a*"``, ``"group:sales"``, ...

The string syntax (Dagster's, for assets written ``schema/table``)::

    a            the asset a
    a*  / *a     a and everything downstream / upstream of it
    a+  / +a     a and one level downstream / upstream (``++a``: two levels)
    *            every asset
    group:name   every asset of a group
    tag:k=v      every asset tagged k=v (``tag:k``: with tag k, any value)
    a, b*        a union (commas)

``AssetSelection`` builds the same from code: ``AssetSelection.keys("a")
.downstream() | AssetSelection.groups("sales")``.

The design decision: a selection is a small expression tree resolved against
an ``AssetGraph``; naming an asset or a group that does not exist is an error
that lists what does, never an empty job.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from partita.definitions.asset import AssetsDefinition
from partita.definitions.asset_graph import AssetGraph
from partita.definitions.asset_key import AssetKey, as_asset_key
from partita.exceptions import DefinitionError

_TERM = re.compile(r"^(?P<up>\*|\+*)(?P<key>[A-Za-z0-9_\-/]+)(?P<down>\*|\+*)$")


class AssetSelection:
    """A set of assets, resolved against an asset graph when a job is built."""

    def __init__(self, resolve: Callable[[AssetGraph], set[AssetKey]], text: str) -> None:
        self._resolve = resolve
        self.text = text

    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        """The selected keys (only keys some definition produces)."""
        return {k for k in self._resolve(graph) if not graph.is_external(k)}

    # -- builders -------------------------------------------------------------------------
    @staticmethod
    def all() -> AssetSelection:
        return AssetSelection(lambda g: set(g.defined_keys), "*")

    @staticmethod
    def keys(*keys: Any) -> AssetSelection:
        wanted = [as_asset_key(k, "selected key") for k in keys]

        def resolve(graph: AssetGraph) -> set[AssetKey]:
            for key in wanted:
                if graph.is_external(key):
                    raise DefinitionError(f"selection: {graph.unknown_key_message(key)}")
            return set(wanted)

        return AssetSelection(resolve, ", ".join(k.to_user_string() for k in wanted))

    @staticmethod
    def assets(*definitions: AssetsDefinition) -> AssetSelection:
        return AssetSelection.keys(*[k for d in definitions for k in d.keys])

    @staticmethod
    def groups(*names: str) -> AssetSelection:
        def resolve(graph: AssetGraph) -> set[AssetKey]:
            found = {
                k for k in graph.defined_keys if graph.definition(k).spec(k).group_name in names
            }
            if not found:
                groups = sorted(
                    {graph.definition(k).spec(k).group_name for k in graph.defined_keys}
                )
                raise DefinitionError(
                    f"selection group:{','.join(names)} matches no asset; the groups are: "
                    f"{', '.join(groups) or 'none'}"
                )
            return found

        return AssetSelection(resolve, ", ".join(f"group:{n}" for n in names))

    @staticmethod
    def tag(key: str, value: str | None = None) -> AssetSelection:
        def resolve(graph: AssetGraph) -> set[AssetKey]:
            found = set()
            for k in graph.defined_keys:
                tags = graph.definition(k).spec(k).tags
                if key in tags and (value is None or tags[key] == value):
                    found.add(k)
            if not found:
                raise DefinitionError(f"selection {_tag_text(key, value)} matches no asset")
            return found

        return AssetSelection(resolve, _tag_text(key, value))

    # -- combinators ----------------------------------------------------------------------
    def upstream(self, depth: int | None = None) -> AssetSelection:
        """These assets and their ancestors (``depth`` levels; all when None)."""
        return AssetSelection(
            lambda g: g.upstream(self._resolve(g), depth), f"upstream({self.text})"
        )

    def downstream(self, depth: int | None = None) -> AssetSelection:
        """These assets and their descendants (``depth`` levels; all when None)."""
        return AssetSelection(
            lambda g: g.downstream(self._resolve(g), depth), f"downstream({self.text})"
        )

    def __or__(self, other: AssetSelection) -> AssetSelection:
        return AssetSelection(
            lambda g: self._resolve(g) | other._resolve(g), f"{self.text}, {other.text}"
        )

    def __and__(self, other: AssetSelection) -> AssetSelection:
        return AssetSelection(
            lambda g: self._resolve(g) & other._resolve(g), f"({self.text}) & ({other.text})"
        )

    def __sub__(self, other: AssetSelection) -> AssetSelection:
        return AssetSelection(
            lambda g: self._resolve(g) - other._resolve(g), f"({self.text}) - ({other.text})"
        )

    def __repr__(self) -> str:
        return f"AssetSelection({self.text!r})"

    # -- parsing ------------------------------------------------------------------------
    @classmethod
    def from_string(cls, text: str) -> AssetSelection:
        """Parse the selection syntax (see the module docstring)."""
        terms = [t.strip() for t in text.split(",")]
        if not text.strip() or any(not t for t in terms):
            raise DefinitionError(
                f"selection {text!r} is empty or has an empty term; write e.g. 'a', 'a*', "
                "'group:name' or 'a, b'"
            )
        selection = _term(terms[0])
        for term in terms[1:]:
            selection = selection | _term(term)
        selection.text = text.strip()
        return selection

    @classmethod
    def coerce(cls, value: Any) -> AssetSelection:
        """A selection from a string, a key, a definition, a list of them, or None (all)."""
        if value is None:
            return cls.all()
        if isinstance(value, AssetSelection):
            return value
        if isinstance(value, str):
            return cls.from_string(value)
        if isinstance(value, AssetKey):
            return cls.keys(value)
        if isinstance(value, AssetsDefinition):
            return cls.assets(value)
        if isinstance(value, (Sequence, Iterable)):
            parts = [cls.coerce(v) for v in value]
            if not parts:
                raise DefinitionError("an empty selection selects nothing; leave it out for all")
            selection = parts[0]
            for part in parts[1:]:
                selection = selection | part
            return selection
        raise DefinitionError(
            f"selection must be a string like 'a*', an AssetKey, an asset, a list of them or an "
            f"AssetSelection, got {value!r}"
        )


def _tag_text(key: str, value: str | None) -> str:
    return f"tag:{key}" + (f"={value}" if value is not None else "")


def _depth(marks: str) -> int | None:
    return None if marks == "*" else len(marks)


def _term(term: str) -> AssetSelection:
    if term == "*":
        return AssetSelection.all()
    if term.startswith("group:"):
        return AssetSelection.groups(term[len("group:") :].strip())
    if term.startswith("tag:"):
        body = term[len("tag:") :].strip()
        key, sep, value = body.partition("=")
        return AssetSelection.tag(key.strip(), value.strip() if sep else None)
    match = _TERM.match(term)
    if match is None:
        raise DefinitionError(
            f"selection term {term!r} is not understood; write an asset key ('a' or "
            "'schema/table'), optionally with '*' or '+' before or after, 'group:name' or "
            "'tag:key=value'"
        )
    base = AssetSelection.keys(AssetKey.from_user_string(match["key"]))
    selection = base
    if match["up"]:
        selection = selection | base.upstream(_depth(match["up"]))
    if match["down"]:
        selection = selection | base.downstream(_depth(match["down"]))
    selection.text = term
    return selection


__all__ = ["AssetSelection"]
