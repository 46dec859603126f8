"""Asset jobs: a selection of assets turned into an ordinary DAG, one task per asset definition.

``define_asset_job("nightly", selection="raw*")`` is resolved against the
assets of a ``Definitions`` (or of a ``materialize`` call) into a ``DAG``
whose tasks materialize the selected assets, each after the selected assets
it reads. Upstream assets left out of the selection are not run: their
values are loaded through IO managers from where an earlier run stored them.

The design decision: the DAG is built from ``definitions`` data alone except
for the task of each asset and of each asset check, which the operators
layer supplies through the ``ASSET_TASK_FACTORY`` and
``ASSET_CHECK_TASK_FACTORY`` extension points (``definitions/extensions.py``),
as ``DAG.test`` gets its runner; so this layer stays free of operator and
engine imports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from partita.definitions import authoring
from partita.definitions.asset import AssetsDefinition
from partita.definitions.asset_check import AssetChecksDefinition
from partita.definitions.asset_graph import AssetGraph
from partita.definitions.asset_key import AssetKey
from partita.definitions.asset_selection import AssetSelection
from partita.definitions.dag import DAG
from partita.definitions.extensions import ExtensionPoint
from partita.definitions.partitions import PartitionsDefinition
from partita.exceptions import DefinitionError

if TYPE_CHECKING:
    from partita.definitions.baseoperator import BaseOperator

#: Builds the task of a definition; the keys are those it materializes in this job.
AssetTaskFactory = Callable[[AssetsDefinition, AssetGraph, frozenset[AssetKey]], "BaseOperator"]
#: Builds the task of an asset check.
AssetCheckTaskFactory = Callable[[AssetChecksDefinition, AssetGraph], "BaseOperator"]
#: What builds the task of one asset definition (``operators.asset.build_asset_task``).
ASSET_TASK_FACTORY: ExtensionPoint[AssetTaskFactory] = ExtensionPoint(
    "the task of an asset in an asset job"
)
#: What builds the task of one asset check (``operators.asset_check.build_asset_check_task``).
ASSET_CHECK_TASK_FACTORY: ExtensionPoint[AssetCheckTaskFactory] = ExtensionPoint(
    "the task of an asset check in an asset job"
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
    partitions_def: PartitionsDefinition | None = None,
) -> DAG:
    """A DAG materializing the assets ``selection`` picks from ``graph`` (all when None)."""
    build_task, build_check_task = ASSET_TASK_FACTORY.get(), ASSET_CHECK_TASK_FACTORY.get()
    keys = AssetSelection.coerce(selection).resolve(graph)
    if not keys:
        raise DefinitionError(f"asset job {name!r}: the selection selects no asset")
    definitions = graph.definitions_for(keys)
    partitions_def = job_partitions_def(name, definitions, partitions_def)
    with (
        authoring.isolated(),
        DAG(
            name,
            description=description,
            tags=_tag_list(tags),
            config=config,
            resources=resources,
            fileloc=fileloc,
            partitions_def=partitions_def,
        ) as dag,
    ):
        tasks: dict[int, BaseOperator] = {}
        produced: dict[AssetKey, str] = {}
        for definition in definitions:
            selected = subset_of(definition, keys)
            tasks[id(definition)] = build_task(definition, graph, selected)
            task_id = definition.task_id()
            produced.update((key, task_id) for key in definition.keys if key in selected)
        for definition in definitions:
            for key in definition.upstream_keys():
                upstream = graph.by_key.get(key)
                if upstream is not None and upstream is not definition and key in produced:
                    tasks[id(upstream)] >> tasks[id(definition)]
        task_of = {d.task_id(): tasks[id(d)] for d in definitions}
        _add_check_tasks(build_check_task, graph, produced, task_of)
    dag.asset_graph = graph
    dag.asset_tasks = produced
    return dag


def job_partitions_def(
    name: str, definitions: Sequence[AssetsDefinition], given: PartitionsDefinition | None
) -> PartitionsDefinition | None:
    """The one partitions definition the partitioned assets of a job share (None: none is).

    A run is for one partition key, so two partitioned assets with different
    definitions cannot run in one job; unpartitioned assets may join any job.
    """
    found = {d.partitions_def for d in definitions if d.partitions_def is not None}
    if given is not None:
        found.add(given)
    if len(found) > 1:
        shown = "; ".join(
            f"{d.name}: {d.partitions_def!r}" for d in definitions if d.partitions_def is not None
        )
        raise DefinitionError(
            f"asset job {name!r}: its partitioned assets have different partitions ({shown}); "
            "a run is for one partition key, so select assets with the same partitions_def "
            "(or run them in separate jobs)"
        )
    return next(iter(found), None)


def _add_check_tasks(
    factory: AssetCheckTaskFactory,
    graph: AssetGraph,
    produced: Mapping[AssetKey, str],
    tasks: Mapping[str, BaseOperator],
) -> None:
    """A task per check of each asset the job materializes, right after the asset's task.

    A blocking check also runs before every task downstream of its asset, so
    its failure stops them (``upstream_failed``).
    """
    for key, task_id in produced.items():
        for check in graph.checks_by_key.get(key, ()):
            check_task = factory(check, graph)
            tasks[task_id] >> check_task
            if not check.blocking:
                continue
            for child in graph.children.get(key, ()):
                child_task = tasks.get(produced.get(child, ""))
                if child_task is not None and child_task is not tasks[task_id]:
                    check_task >> child_task


def subset_of(definition: AssetsDefinition, selected: set[AssetKey]) -> frozenset[AssetKey]:
    """The keys of ``definition`` its task materializes: the selected ones if it can subset."""
    if definition.can_subset:
        return frozenset(k for k in definition.keys if k in selected)
    return frozenset(definition.keys)


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
        partitions_def: PartitionsDefinition | None = None,
    ) -> None:
        self.name = name
        #: The job's partitions when given (else those of its partitioned assets, once resolved).
        self.partitions_def = partitions_def
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
            partitions_def=self.partitions_def,
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
    partitions_def: PartitionsDefinition | None = None,
) -> UnresolvedAssetJob:
    """A job materializing a selection of assets (all assets when ``selection`` is None).

    Put it in ``Definitions(jobs=[...])`` (or ``dags=``); ``defs.get_dag(name)``
    then returns it as a DAG that ``dag.test()``, ``partita run`` and schedules
    run like any other. ``partitions_def`` is that of its partitioned assets
    (found from them when not given); ``build_schedule_from_partitioned_job``
    needs it given.
    """
    if not isinstance(name, str) or not name:
        raise DefinitionError(f"define_asset_job needs a name, got {name!r}")
    if partitions_def is not None and not isinstance(partitions_def, PartitionsDefinition):
        raise DefinitionError(
            f"define_asset_job {name!r}: partitions_def must be a PartitionsDefinition, got "
            f"{partitions_def!r}"
        )
    return UnresolvedAssetJob(
        name, selection, config=config, description=description, tags=tags,
        partitions_def=partitions_def,
    )  # fmt: skip


__all__ = [
    "ASSET_CHECK_TASK_FACTORY",
    "ASSET_TASK_FACTORY",
    "AssetCheckTaskFactory",
    "AssetTaskFactory",
    "UnresolvedAssetJob",
    "build_asset_dag",
    "define_asset_job",
    "job_partitions_def",
    "subset_of",
]
