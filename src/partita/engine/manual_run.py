"""Queue a manual run of a DAG: the conf checked against its params, then one queued row.

Shared by ``partita trigger`` and the REST API's ``POST /dags/{dag_id}/runs``,
so both refuse the same inputs with the same messages.

The design decision: nothing runs here; the run is only written to the run
queue (``RunQueue.enqueue``), where any live scheduler may start it. Every
check (paused DAG, conf not an object, a param that fails, a partition key
that is not one of the DAG's partitions) happens before
that write, so a refused trigger leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from partita.definitions.dag import DAG
from partita.definitions.states import RunState
from partita.engine.prepare import (
    check_conf,
    check_partition_key,
    new_run_id,
    resolve_params,
    run_dates,
)
from partita.engine.run_config import resolve_run_config
from partita.exceptions import PartitaError
from partita.storage.base import Storage
from partita.storage.records import DagRunRecord


class DagPausedError(PartitaError):
    """A paused DAG cannot be triggered; unpause it first."""


def check_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    """A run's tags as a plain map of strings; ``PartitaError`` naming a bad one."""
    checked = dict(tags or {})
    for key, value in checked.items():
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise PartitaError(
                f"run tag {key!r}: {value!r} is not a tag; a tag is a non-empty string key "
                "with a string value, e.g. team=data"
            )
    return checked


def queue_run(
    storage: Storage,
    dag: DAG,
    conf: dict[str, Any] | None,
    logical_date: datetime | None,
    partition_key: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> DagRunRecord:
    """Check the DAG, the conf and the partition key, then queue a manual run;
    ``PartitaError`` when refused."""
    record = storage.registry.get_dag(dag.dag_id)
    if record is not None and record.is_paused:
        raise DagPausedError(
            f"DAG {dag.dag_id!r} is paused: unpause it with 'partita dags unpause {dag.dag_id}' "
            "to trigger it"
        )
    checked = check_conf(dag, conf)
    resolve_params(dag, checked)  # a conf that breaks the DAG's params stops here
    resolve_run_config(dag, checked)
    partition_key = check_partition_key(dag, partition_key, storage.partitions)
    when, start, end = run_dates(dag, logical_date)
    run = DagRunRecord(
        run_id=new_run_id("manual", when), dag_id=dag.dag_id, dag_version="",
        state=RunState.QUEUED, run_type="manual", logical_date=when, data_interval_start=start,
        data_interval_end=end, conf=checked, queued_at=datetime.now(UTC),
        partition_key=partition_key, tags=check_tags(tags),
    )  # fmt: skip
    storage.queue.enqueue([run])
    return run


__all__ = ["DagPausedError", "check_tags", "queue_run"]
