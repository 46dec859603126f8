"""Asset jobs: a selection of assets turned into an ordinary DAG, one task per asset definition.

``define_asset_job("nightly", selection="raw*")`` is resolved against the
assets of a ``Definitions`` (or of a ``materialize`` call) into a ``DAG``
whose tasks materialize the selected assets, each after the selected assets
it reads. Upstream assets left out of the selection are not run: their
values are loaded through IO managers from where an earlier run stored them.

The design decision: the DAG is built from ``definitions`` data alone except
for the task of each asset, which the operators layer supplies through the
``ASSET_TASK_FACTORY`` extension point (``definitions/extensions.py``), as
``DAG.test`` gets its runner; so this layer stays free of operator and engine
imports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from partita.definitions import authoring
from partita.definitions.asset import AssetsDefinition
from partita.definitions.asset_graph import AssetGraph
from partita.definitions.asset_selection import AssetSelection
from partita.definitions.dag import DAG
from partita.definitions.extensions import ExtensionPoint
from partita.exceptions import DefinitionError

if TYPE_CHECKING:
    from partita.definitions.baseoperator import BaseOperator

AssetTaskFactory = Callable[[AssetsDefinition, AssetGraph], "BaseOperator"]
#: What builds the task of one asset definition (``operators.asset.build_asset_task``).
ASSET_TASK_FACTORY: ExtensionPoint[AssetTaskFactory] = ExtensionPoint(
    "the task of an asset in an asset job"
)


def _tag_list(tags: Mapping[str, str] | Sequence[str] | None) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, Mapping):
        return [f"{k}={v}" if v else str(k) for k, v in tags.items()]
    return [str(t) for t in tags]


def build_asset_dag(
    name: str,
    graph: AssetGraph,
    selection: Any = None,
    *,
    config: Any = None,
    description: str | None = None,
    tags: Mapping[str, str] | Sequence[str] | None = None,
    resources: Mapping[str, Any] | None = None,
    fileloc: str | None = None,
) -> DAG:
    """A DAG materializing the assets ``selection`` picks from ``graph`` (all when None)."""
    build_task = ASSET_TASK_FACTORY.get()
    keys = AssetSelection.coerce(selection).resolve(graph)
    if not keys:
        raise DefinitionError(f"asset job {name!r}: the selection selects no asset")
    definitions = graph.definitions_for(keys)
    with (
        authoring.isolated(),
        DAG(
            name,
            description=description,
            tags=_tag_list(tags),
            config=config,
            resources=resources,
            fileloc=fileloc,
        ) as dag,
    ):
        tasks: dict[int, BaseOperator] = {}
        for definition in definitions:
            tasks[id(definition)] = build_task(definition, graph)
        for definition in definitions:
            for key in definition.upstream_keys():
                upstream = graph.by_key.get(key)
                if upstream is not None and upstream is not definition and id(upstream) in tasks:
                    tasks[id(upstream)] >> tasks[id(definition)]
    dag.asset_graph = graph
    dag.asset_tasks = {
        key: definition.task_id() for definition in definitions for key in definition.keys
    }
    return dag


class UnresolvedAssetJob:
    """What ``define_asset_job`` returns; a ``Definitions`` resolves it into a DAG."""

    def __init__(
        self,
        name: str,
        selection: Any,
        *,
        config: Any,
        description: str | None,
        tags: Mapping[str, str] | Sequence[str] | None,
    ) -> None:
        self.name = name
        self.selection = selection
        self.config = config
        self.description = description
        self.tags = tags

    def resolve(
        self,
        graph: AssetGraph,
        resources: Mapping[str, Any] | None = None,
        *,
        fileloc: str | None = None,
    ) -> DAG:
        """The DAG of this job over the assets of ``graph``."""
        return build_asset_dag(
            self.name,
            graph,
            self.selection,
            config=self.config,
            description=self.description,
            tags=self.tags,
            resources=resources,
            fileloc=fileloc,
        )

    def __repr__(self) -> str:
        return f"<UnresolvedAssetJob {self.name!r} selection={self.selection!r}>"


def define_asset_job(
    name: str,
    selection: Any = None,
    *,
    config: Any = None,
    description: str | None = None,
    tags: Mapping[str, str] | Sequence[str] | None = None,
) -> UnresolvedAssetJob:
    """A job materializing a selection of assets (all assets when ``selection`` is None).

    Put it in ``Definitions(jobs=[...])`` (or ``dags=``); ``defs.get_dag(name)``
    then returns it as a DAG that ``dag.test()``, ``partita run`` and schedules
    run like any other.
    """
    if not isinstance(name, str) or not name:
        raise DefinitionError(f"define_asset_job needs a name, got {name!r}")
    return UnresolvedAssetJob(name, selection, config=config, description=description, tags=tags)


__all__ = [
    "ASSET_TASK_FACTORY",
    "AssetTaskFactory",
    "UnresolvedAssetJob",
    "build_asset_dag",
    "define_asset_job",
]
