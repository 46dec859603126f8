"""Record what a parse of a code location found into the DAG registry.

``partita dags list`` calls ``record_discovery`` after the importer process
has imported a path (the DAG objects stay in that process: what the registry
needs of each DAG comes back in its ``DagSummary``), and the scheduler will
call ``record_load_result`` after each parse of loaded DAGs: the DAGs found
(with the next run their timetable asks for from scratch), the files that
failed to import, and the DAGs no longer there, in one transaction of the
registry.

The design decision: turning a loaded DAG (or its summary) into a
``ParsedDag`` is a pure function of the DAG and the time (``parsed_dag``,
``parsed_summary``), so what is recorded can be tested without a database;
the registry decides what a new parse may change on a known DAG (never its
paused flag).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from partita.definitions.dag import DAG
from partita.discovery import Discovery
from partita.importer import DagSummary
from partita.loader import LoadResult
from partita.storage.base import DagRegistry
from partita.storage.dag_records import DagParse, ParsedDag


def code_location_of(target: str | os.PathLike[str]) -> str:
    """How a loaded path or module is named in the registry: an absolute path, or the module."""
    path = Path(target)
    return str(path.resolve()) if path.exists() else os.fspath(target)


def parsed_dag(dag: DAG, source: str, now: datetime) -> ParsedDag:
    """What the registry keeps of ``dag`` (loaded from ``source``); its next run as of ``now``."""
    next_run = dag.timetable.next_dagrun_info(None, dag.time_restriction, now=now)
    owner = dag.default_args.get("owner")
    return ParsedDag(
        dag_id=dag.dag_id,
        fileloc=source,
        timetable_summary=dag.timetable.summary,
        next_run=next_run,
        max_active_runs=dag.max_active_runs,
        tags=tuple(dag.tags),
        owner=None if owner is None else str(owner),
        description=dag.description,
        is_paused_upon_creation=dag.is_paused_upon_creation,
    )


def parsed_summary(summary: DagSummary, source: str) -> ParsedDag:
    """What the registry keeps of a DAG the importer summarised (imported from ``source``)."""
    return ParsedDag(
        dag_id=summary.dag_id,
        fileloc=source,
        timetable_summary=summary.timetable_summary,
        next_run=summary.next_run,
        max_active_runs=summary.max_active_runs,
        tags=tuple(summary.tags),
        owner=summary.owner,
        description=summary.description,
        is_paused_upon_creation=summary.is_paused_upon_creation,
    )


def record_load_result(
    registry: DagRegistry,
    result: LoadResult,
    *,
    code_location: str,
    parsed_at: datetime,
    duration: float | None,
    paused_at_creation: bool,
) -> DagParse:
    """Record ``result`` (a load of ``code_location``) in the registry; return the parse."""
    parse = DagParse(
        code_location=code_location,
        dags=[
            parsed_dag(dag, result.sources[dag_id], parsed_at)
            for dag_id, dag in sorted(result.dags.items())
        ],
        import_errors=dict(result.errors),
        parsed_at=parsed_at,
        duration=duration,
        paused_at_creation=paused_at_creation,
    )
    registry.record_parse(parse)
    return parse


def record_discovery(
    registry: DagRegistry,
    found: Discovery,
    *,
    code_location: str,
    parsed_at: datetime,
    duration: float | None,
    paused_at_creation: bool,
) -> DagParse:
    """Record ``found`` (the importer's parse of ``code_location``); return the parse."""
    parse = DagParse(
        code_location=code_location,
        dags=[
            parsed_summary(summary, found.sources[dag_id])
            for dag_id, summary in sorted(found.dags.items())
        ],
        import_errors=dict(found.errors),
        parsed_at=parsed_at,
        duration=duration,
        paused_at_creation=paused_at_creation,
    )
    registry.record_parse(parse)
    return parse


__all__ = [
    "code_location_of",
    "parsed_dag",
    "parsed_summary",
    "record_discovery",
    "record_load_result",
]
