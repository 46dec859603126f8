"""The partitioned-asset jobs: one hidden asset job per partitions definition of a location.

``partita backfill create PATH --assets SELECTION --partitions FIRST...LAST``
needs a DAG the scheduler and its workers can load by id to run a partition
of the selected assets. A code location with partitioned assets gets one
job per distinct partitions definition, ``__asset_job_<file>_0__``,
``__asset_job_<file>_1__``... (numbered in the order the assets are given,
as Dagster's implicit asset jobs are; ``<file>`` is the name of the file
that makes the ``Definitions``, so two files of a folder do not clash), over
every asset of that definition.
A backfill's runs name the assets to materialize in their conf
(``ASSET_SELECTION_KEY``); the tasks of the other assets skip, and the
job's trigger rule (``none_failed``) lets a selected asset run after a
skipped upstream, whose value its IO manager loads from an earlier run.

The design decision: the jobs are ordinary DAGs of the location, built the
same way wherever the file is loaded (the scheduler, a worker process), so a
run needs nothing but its job id, its partition key and its conf.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from partita.definitions.asset import AssetsDefinition
from partita.definitions.asset_graph import AssetGraph
from partita.definitions.asset_job import build_asset_dag
from partita.definitions.asset_key import AssetKey
from partita.definitions.asset_selection import AssetSelection
from partita.definitions.backfill_policy import BackfillPolicy
from partita.definitions.dag import DAG
from partita.definitions.ids import reserved_ids_allowed
from partita.definitions.partitions import PartitionsDefinition
from partita.definitions.states import TriggerRule
from partita.exceptions import DefinitionError

#: The run conf key listing the assets (``schema/table``) a partitioned-asset run materializes.
ASSET_SELECTION_KEY = "asset_selection"
#: The id prefix of the partitioned-asset jobs.
ASSET_JOB_PREFIX = "__asset_job_"
_NOT_IN_ID = re.compile(r"[^A-Za-z0-9_]")


def asset_job_id(index: int, fileloc: str | None = None) -> str:
    """``__asset_job_assets_0__``: the ``index``-th partitioned-asset job of the file ``fileloc``.

    The file's name (not its path: a worker elsewhere has the same name) keeps
    the jobs of two files of one DAG folder apart.
    """
    return f"{ASSET_JOB_PREFIX}{file_part(fileloc)}{index}__"


def file_part(fileloc: str | None) -> str:
    """``assets_``: the part of partita's job ids naming the file ``fileloc`` ("" without one)."""
    return _NOT_IN_ID.sub("_", Path(fileloc).stem) + "_" if fileloc else ""


def build_partitioned_asset_jobs(
    graph: AssetGraph,
    assets: Sequence[AssetsDefinition],
    resources: Mapping[str, Any],
    fileloc: str | None,
) -> list[DAG]:
    """One job per partitions definition of ``assets``, in the order first seen."""
    groups: list[tuple[PartitionsDefinition, list[AssetsDefinition]]] = []
    for definition in assets:
        partitions = definition.partitions_def
        if partitions is None:
            continue
        for known, members in groups:
            if known == partitions:
                members.append(definition)
                break
        else:
            groups.append((partitions, [definition]))
    jobs = []
    for index, (partitions, members) in enumerate(groups):
        with reserved_ids_allowed():
            dag = build_asset_dag(
                asset_job_id(index, fileloc), graph, AssetSelection.assets(*members),
                resources=resources, fileloc=fileloc, partitions_def=partitions,
                description=f"Runs partitions of the assets of {partitions!r} (asset backfills)",
            )  # fmt: skip
        dag.is_paused_upon_creation = False  # its runs are a backfill's: nothing to unpause
        for task_id in set(dag.asset_tasks.values()):
            dag.task_dict[task_id].trigger_rule = TriggerRule.NONE_FAILED
        jobs.append(dag)
    return jobs


def backfill_policy_of(dag: DAG, keys: Collection[AssetKey]) -> BackfillPolicy | None:
    """The one backfill policy of the assets ``keys`` of ``dag`` (None: a run per partition).

    A backfill's runs hold all its assets, so they must agree on how many
    partitions a run covers; assets that do not are refused, named.
    """
    graph = dag.asset_graph
    policies: dict[BackfillPolicy | None, list[str]] = {}
    for key in sorted(keys, key=lambda k: k.to_user_string()):
        definition = graph.by_key.get(key) if graph is not None else None
        policy = getattr(definition, "backfill_policy", None)
        policies.setdefault(policy, []).append(key.to_user_string())
    if len(policies) > 1:
        named = "; ".join(
            f"{', '.join(names[:5])}: {policy or 'no backfill_policy (a run per partition)'}"
            for policy, names in policies.items()
        )
        raise DefinitionError(
            f"the selected assets have different backfill policies ({named}); one backfill "
            "splits its range into runs one way, so backfill the assets of each policy "
            "separately, or give them the same backfill_policy"
        )
    return next(iter(policies), None)


def job_for_assets(dags: Collection[DAG], keys: Collection[AssetKey]) -> DAG:
    """The partitioned-asset job that materializes every key of ``keys``."""
    for dag in dags:
        if dag.dag_id.startswith(ASSET_JOB_PREFIX) and set(keys) <= set(dag.asset_tasks):
            return dag
    named = ", ".join(sorted(k.to_user_string() for k in keys)[:10])
    raise DefinitionError(
        f"the assets {named} do not share one partitions definition, so no run can hold them "
        "all; backfill the assets of each partitions definition separately"
    )


__all__ = [
    "ASSET_JOB_PREFIX",
    "ASSET_SELECTION_KEY",
    "asset_job_id",
    "backfill_policy_of",
    "build_partitioned_asset_jobs",
    "file_part",
    "job_for_assets",
]
