"""Everything decided before a run starts: run id, dates, data interval, params.

Bad input (a conf that is not a JSON object, a logical date that is not a
date, a param value that breaks its ``Param`` rule, a required param with no
value) raises ``RunConfigError`` here, before any task instance exists.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from partita.definitions.config import run_config_dict
from partita.definitions.dag import DAG
from partita.definitions.params import ParamValidationError, resolve_param_values
from partita.definitions.partitions import DynamicPartitionsStore
from partita.definitions.timezones import make_aware
from partita.engine.partition_context import range_of_key
from partita.exceptions import PartitionKeyError, RunConfigError


def run_dates(dag: DAG, logical_date: datetime | None) -> tuple[datetime, datetime, datetime]:
    """A started-by-hand run's logical date and data interval, from the DAG's timetable.

    ``logical_date`` defaults to now; a naive one is wall time in the DAG's
    time zone. The data interval is the one Airflow 3 gives a manual run
    (``Timetable.infer_manual_data_interval``): ``[logical_date, logical_date]``
    for a cron string or a ``timedelta``, the last complete interval for the
    data-interval timetables.
    """
    if logical_date is None:
        when = datetime.now(UTC)
    else:
        when = make_aware(logical_date, dag.timezone).astimezone(UTC)
    start, end = dag.timetable.infer_manual_data_interval(when)
    return when, start, end


def check_partition_key(
    dag: DAG, partition_key: str | None, store: DynamicPartitionsStore | None
) -> str | None:
    """The run's partition key, checked against the DAG's partitions (None: not partitioned).

    A partitioned DAG needs a key that is one of its partitions (or a range
    ``FIRST...LAST`` of two); one that is not is refused with the nearest
    valid keys named.
    """
    definition = dag.partitions_def
    if definition is None:
        if partition_key is not None:
            raise RunConfigError(
                f"{dag.label} is not partitioned, so it takes no partition key (got "
                f"{partition_key!r}); run it without one, or give it partitions_def=..."
            )
        return None
    if partition_key is None:
        last = definition.get_last_partition_key(dynamic_partitions_store=store)
        example = f", e.g. partition_key={last!r}" if last is not None else ""
        raise PartitionKeyError(
            f"{dag.label} is partitioned ({definition!r}); give the partition to run{example}"
        )
    span = range_of_key(definition, partition_key, store)
    try:
        if span is not None:  # a run of a range of partitions (a backfill's): both ends
            for end in span:
                definition.validate_partition_key(end, dynamic_partitions_store=store)
            return partition_key
        return definition.validate_partition_key(partition_key, dynamic_partitions_store=store)
    except PartitionKeyError as exc:
        raise PartitionKeyError(f"{dag.label}: {exc}") from None


def resolve_params(dag: DAG, conf: Mapping[str, Any]) -> dict[str, Any]:
    """The run's params: the DAG's defaults, overridden by the run conf (as in Airflow).

    Every ``Param`` is validated, the DAG's and each task's own, so that an
    invalid or missing value stops the run here. Conf keys that no param
    declares are added as they are (Airflow's ``dag_run_conf_overrides_params``).
    """
    try:
        params = resolve_param_values(dag.params, conf)
    except ParamValidationError as exc:
        raise RunConfigError(f"{dag.label}: {exc}") from None
    for task in dag.task_dict.values():
        if task.params:
            try:
                resolve_param_values(task.params, conf)
            except ParamValidationError as exc:
                raise RunConfigError(f"{dag.label}: task {task.task_id!r}: {exc}") from None
    for name, value in conf.items():
        params.setdefault(name, value)
    return params


def check_conf(dag: DAG, conf: Any) -> dict[str, Any]:
    """The run conf as a dict (a ``RunConfig`` becomes its dict); an error if not an object."""
    if conf is None:
        return {}
    conf = run_config_dict(conf)
    if not isinstance(conf, Mapping):
        raise RunConfigError(
            f"{dag.label}: run conf must be a JSON object (a dict), got {type(conf).__name__}"
        )
    return dict(conf)


def new_run_id(run_type: str, logical_date: datetime) -> str:
    """``manual__2025-01-01T00:00:00+00:00__3fa2c1``: readable, and unique per call."""
    return f"{run_type}__{logical_date.isoformat()}__{secrets.token_hex(3)}"


__all__ = ["check_conf", "new_run_id", "resolve_params", "run_dates"]
