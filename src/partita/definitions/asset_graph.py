"""The graph of assets: which definition produces each key, and each key's parents and children.

Built from a list of ``AssetsDefinition`` (those of a ``Definitions``, or the
ones given to ``materialize``). A key that some asset reads but no definition
produces is *external*: it is in the graph (so selections and staleness see
it) but has no definition; its value is loaded through an IO manager, from
wherever an earlier run stored it.

The design decision: the graph is computed once per set of definitions and
is read-only; selections, job building and staleness all query it.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Sequence

from partita.definitions.asset import AssetOutputSpec, AssetsDefinition
from partita.definitions.asset_check import AssetChecksDefinition
from partita.definitions.asset_check_result import AssetCheckSpec
from partita.definitions.asset_key import AssetKey
from partita.exceptions import CycleError, DefinitionError


class AssetGraph:
    """Keys, their producing definitions, parents and children, and the checks of each key.

    ``assets`` may hold asset checks (``@asset_check``) too, as
    ``materialize([orders, orders_has_rows])`` gives them.
    """

    def __init__(self, assets: Sequence[AssetsDefinition | AssetChecksDefinition]) -> None:
        self.definitions: list[AssetsDefinition] = []
        self.by_key: dict[AssetKey, AssetsDefinition] = {}
        seen_names: dict[str, AssetsDefinition] = {}
        checks: list[AssetChecksDefinition] = []
        for definition in assets:
            if isinstance(definition, AssetChecksDefinition):
                if definition not in checks:
                    checks.append(definition)
                continue
            if not isinstance(definition, AssetsDefinition):
                raise DefinitionError(
                    f"assets must be @asset, @multi_asset or @asset_check definitions, got "
                    f"{definition!r}"
                )
            if any(d is definition for d in self.definitions):
                continue
            for key in definition.keys:
                other = self.by_key.get(key)
                if other is not None:
                    raise DefinitionError(
                        f"asset {key.to_user_string()!r} is defined twice (by {other.name!r} "
                        f"and {definition.name!r}); give one of them another key"
                    )
                self.by_key[key] = definition
            task_id = definition.task_id()
            if task_id in seen_names:
                raise DefinitionError(
                    f"assets {seen_names[task_id]!r} and {definition!r} would both run as task "
                    f"{task_id!r}; rename one of them"
                )
            seen_names[task_id] = definition
            self.definitions.append(definition)
        self.parents: dict[AssetKey, list[AssetKey]] = {}
        self.children: dict[AssetKey, list[AssetKey]] = {}
        for definition in self.definitions:
            upstream = definition.upstream_keys()
            for key in definition.keys:
                self.parents[key] = list(upstream)
                self.children.setdefault(key, [])
            for parent in upstream:
                self.parents.setdefault(parent, [])
                children = self.children.setdefault(parent, [])
                for key in definition.keys:
                    if key not in children:
                        children.append(key)
        self._check_acyclic()
        self.checks_by_key: dict[AssetKey, list[AssetChecksDefinition]] = {}
        self._add_checks(checks, set(seen_names))

    def _add_checks(self, checks: list[AssetChecksDefinition], task_ids: set[str]) -> None:
        for check in checks:
            if check.asset_key not in self.parents:
                raise DefinitionError(
                    f"{check.describe()}: no such asset among the assets given; "
                    f"{self.unknown_key_message(check.asset_key)}"
                )
            producer = self.by_key.get(check.asset_key)
            own = producer.check_specs if producer is not None else ()
            if any(s.name == check.name and s.asset_key == check.asset_key for s in own):
                raise DefinitionError(
                    f"{check.describe()}: the asset already has a check spec of that name; "
                    "rename one of them"
                )
            if check.task_id() in task_ids:
                raise DefinitionError(
                    f"{check.describe()} would run as task {check.task_id()!r}, which another "
                    "asset or check already uses; rename the check"
                )
            task_ids.add(check.task_id())
            self.checks_by_key.setdefault(check.asset_key, []).append(check)

    def check_specs_of(self, key: AssetKey) -> list[AssetCheckSpec]:
        """Every check of ``key``: those its asset reports itself, then the ``@asset_check``s."""
        producer = self.by_key.get(key)
        own = [s for s in producer.check_specs if s.asset_key == key] if producer else []
        return own + [c.spec for c in self.checks_by_key.get(key, ())]

    @property
    def checks(self) -> list[AssetChecksDefinition]:
        """Every asset check, by asset (upstream first), in the order they were given."""
        return [c for key in self.order for c in self.checks_by_key.get(key, ())]

    def _check_acyclic(self) -> None:
        sorter: graphlib.TopologicalSorter[AssetKey] = graphlib.TopologicalSorter()
        for key, parents in self.parents.items():
            sorter.add(key, *parents)
        try:
            self.order = list(sorter.static_order())
        except graphlib.CycleError as exc:
            cycle = " -> ".join(k.to_user_string() for k in exc.args[1])
            raise CycleError(f"the assets form a cycle: {cycle}; remove one dependency") from None

    @property
    def keys(self) -> list[AssetKey]:
        """Every key in the graph (defined and external), upstream before downstream."""
        return list(self.order)

    @property
    def defined_keys(self) -> list[AssetKey]:
        return [k for k in self.order if k in self.by_key]

    def is_external(self, key: AssetKey) -> bool:
        return key not in self.by_key

    def definition(self, key: AssetKey) -> AssetsDefinition:
        try:
            return self.by_key[key]
        except KeyError:
            raise DefinitionError(self.unknown_key_message(key)) from None

    def spec(self, key: AssetKey) -> AssetOutputSpec | None:
        definition = self.by_key.get(key)
        return None if definition is None else definition.spec(key)

    def unknown_key_message(self, key: AssetKey) -> str:
        known = ", ".join(k.to_user_string() for k in self.defined_keys[:30]) or "none"
        close = [k for k in self.defined_keys if k.name == key.name]
        hint = f" (did you mean {close[0].to_user_string()!r}?)" if close else ""
        return f"no asset {key.to_user_string()!r}{hint}; the assets are: {known}"

    def upstream(self, keys: Iterable[AssetKey], depth: int | None = None) -> set[AssetKey]:
        """``keys`` and their ancestors, ``depth`` levels up (all when None)."""
        return self._walk(keys, self.parents, depth)

    def downstream(self, keys: Iterable[AssetKey], depth: int | None = None) -> set[AssetKey]:
        """``keys`` and their descendants, ``depth`` levels down (all when None)."""
        return self._walk(keys, self.children, depth)

    @staticmethod
    def _walk(
        keys: Iterable[AssetKey], edges: dict[AssetKey, list[AssetKey]], depth: int | None
    ) -> set[AssetKey]:
        found = set(keys)
        frontier = list(found)
        level = 0
        while frontier and (depth is None or level < depth):
            level += 1
            following: list[AssetKey] = []
            for key in frontier:
                for nxt in edges.get(key, ()):
                    if nxt not in found:
                        found.add(nxt)
                        following.append(nxt)
            frontier = following
        return found

    def definitions_for(self, keys: Iterable[AssetKey]) -> list[AssetsDefinition]:
        """The definitions producing ``keys`` (external keys left out), in dependency order."""
        wanted = {id(self.by_key[k]) for k in keys if k in self.by_key}
        ordered: list[AssetsDefinition] = []
        for key in self.order:
            definition = self.by_key.get(key)
            if definition is not None and id(definition) in wanted and definition not in ordered:
                ordered.append(definition)
        return ordered


__all__ = ["AssetGraph"]
