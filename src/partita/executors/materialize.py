"""``materialize([asset1, asset2])``: run assets in this process now, as ``dag.test()`` runs a DAG.

It builds an ephemeral asset job over the given assets (the selection picks
which of them run; the others are only known, so their values are loaded
from their IO managers) and runs it through ``run_dag``: a fresh in-memory
store and an in-memory IO manager unless a store or an ``"io_manager"``
resource is given, so nothing is left behind. The ``RunResult`` answers
``.output("asset2")`` / ``.output(AssetKey([...]))`` with the assets' values
and ``.materializations`` with what was recorded.

The design decision: ``materialize`` is a thin wrapper over the DAG path
(``build_asset_dag`` + ``run_dag``); assets get no second engine. Its DAG's
``label`` names the assets, so errors read ``materialize([a, b]): ...``
rather than naming the internal ``__materialize__`` DAG.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from partita.definitions.asset import AssetsDefinition
from partita.definitions.asset_graph import AssetGraph
from partita.definitions.asset_job import build_asset_dag
from partita.definitions.definitions import MATERIALIZE_DAG_ID, materialize_label
from partita.definitions.ids import reserved_ids_allowed
from partita.engine.result import RunResult
from partita.executors.in_process import run_dag
from partita.storage.base import Storage


def materialize(
    assets: Iterable[AssetsDefinition],
    *,
    resources: Mapping[str, Any] | None = None,
    run_config: Any = None,
    selection: Any = None,
    storage: Storage | None = None,
    logical_date: datetime | None = None,
    partition_key: str | None = None,
) -> RunResult:
    """Materialize ``assets`` (or the ``selection`` of them) in this process and return the result.

    ``run_config`` is a dict (``{"tasks": {...}}``) or a ``RunConfig``;
    ``storage`` records the run (and its materializations) in a persistent
    store instead of a throwaway memory one. ``partition_key`` picks the
    partition of partitioned assets to materialize (a key that is not one of
    their partitions is refused, naming the nearest valid keys).
    """
    graph = AssetGraph(list(assets))
    with reserved_ids_allowed():
        dag = build_asset_dag(MATERIALIZE_DAG_ID, graph, selection, resources=resources)
    dag.label = materialize_label(dag.asset_tasks)
    return run_dag(
        dag, storage=storage, run_conf=run_config, logical_date=logical_date,
        partition_key=partition_key,
    )  # fmt: skip


__all__ = ["materialize"]
