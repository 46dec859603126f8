"""The automation job: the asset job the scheduler runs for automation conditions.

A code location whose assets have an ``automation_condition`` gets one more
DAG, ``__automation_<file>__``, over those assets (``<file>`` is the name of
the file that makes the ``Definitions``, so two files of one DAG folder do
not clash, as the partitioned-asset jobs ``__asset_job_<file>_N__``). Each evaluation of the
conditions queues one run of it whose conf names the assets requested
(``AUTOMATION_SELECTION_KEY``); the tasks of the other assets skip, and the
job's trigger rule (``none_failed``) lets a requested asset run after a
skipped upstream, whose value its IO manager loads from an earlier run.

The design decision: the job is an ordinary DAG of the location, built the
same way in the scheduler and in every worker process that loads the file,
so a run of it needs nothing but its id and its conf.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from partita.definitions.asset import AssetsDefinition
from partita.definitions.asset_backfill_job import file_part
from partita.definitions.asset_graph import AssetGraph
from partita.definitions.asset_job import build_asset_dag
from partita.definitions.asset_selection import AssetSelection
from partita.definitions.dag import DAG
from partita.definitions.ids import reserved_ids_allowed
from partita.definitions.states import TriggerRule

#: The id prefix of the automation jobs (one per file with automated assets).
AUTOMATION_JOB_PREFIX = "__automation_"
#: The id of the automation job of a ``Definitions`` made without a file.
AUTOMATION_DAG_ID = "__automation__"
#: The run conf key listing the assets (``schema/table``) an automation run materializes.
AUTOMATION_SELECTION_KEY = "automation_selection"


def automation_dag_id(fileloc: str | None) -> str:
    """``__automation_assets__``: the automation job of the file ``fileloc``."""
    stem = file_part(fileloc)
    return f"{AUTOMATION_JOB_PREFIX}{stem[:-1]}__" if stem else AUTOMATION_DAG_ID


def is_automation_job(dag_id: str) -> bool:
    """Whether ``dag_id`` is an automation job's (``__automation__``, ``__automation_<file>__``)."""
    return dag_id == AUTOMATION_DAG_ID or (
        dag_id.startswith(AUTOMATION_JOB_PREFIX) and dag_id.endswith("__")
    )


def build_automation_dag(
    graph: AssetGraph,
    automated: Sequence[AssetsDefinition],
    resources: Mapping[str, Any],
    fileloc: str | None,
) -> DAG:
    """The automation job over the ``automated`` asset definitions of ``graph``."""
    selection = AssetSelection.assets(*automated)
    with reserved_ids_allowed():
        dag = build_asset_dag(
            automation_dag_id(fileloc), graph, selection, resources=resources, fileloc=fileloc,
            description="Runs the assets whose automation conditions are true",
        )  # fmt: skip
    dag.is_paused_upon_creation = False  # automation is on unless paused by hand
    for task_id in set(dag.asset_tasks.values()):
        dag.task_dict[task_id].trigger_rule = TriggerRule.NONE_FAILED
    return dag


__all__ = [
    "AUTOMATION_DAG_ID",
    "AUTOMATION_JOB_PREFIX",
    "AUTOMATION_SELECTION_KEY",
    "automation_dag_id",
    "build_automation_dag",
    "is_automation_job",
]
