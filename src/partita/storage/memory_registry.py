"""The DAG registry in memory: the twin of the SQL one, for tests and ``dag.test()``-style use.

The design decision: a claim marks its DAGs as held in a set shared by every
claim (what ``FOR UPDATE SKIP LOCKED`` does on PostgreSQL), and the next runs
set through it are applied only when it ends without an error, as a
transaction would. Records are copied in and out, so callers cannot change
what is stored.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from partita.definitions.timetable_base import DagRunInfo
from partita.exceptions import DagNotFoundError
from partita.storage.base import DagClaim, DagRegistry
from partita.storage.dag_records import (
    DagParse,
    DagRecord,
    ImportErrorRecord,
    ParsedDag,
    id_glob,
    id_glob_regex,
    unknown_dag,
)


def _new_record(dag: ParsedDag, parse: DagParse) -> DagRecord:
    """The row a DAG found for the first time gets."""
    paused = dag.is_paused_upon_creation
    return DagRecord(
        dag_id=dag.dag_id,
        is_paused=parse.paused_at_creation if paused is None else paused,
        timetable_summary=dag.timetable_summary,
        next_run=dag.next_run,
    )


def _refresh_record(record: DagRecord, dag: ParsedDag, parse: DagParse) -> None:
    """Update a row from a new parse: labels and location; the next run if the schedule changed."""
    if record.timetable_summary != dag.timetable_summary:
        record.timetable_summary = dag.timetable_summary
        record.next_run = dag.next_run
    record.fileloc = dag.fileloc
    record.code_location = parse.code_location
    record.is_active = True
    record.last_parsed_at = parse.parsed_at
    record.last_parse_duration = parse.duration
    record.max_active_runs = dag.max_active_runs
    record.tags = list(dag.tags)
    record.owner = dag.owner
    record.description = dag.description


class _MemoryClaim(DagClaim):
    def __init__(self, dags: list[DagRecord]) -> None:
        self.dags = dags
        self.changes: dict[str, DagRunInfo | None] = {}

    def set_next_run(self, dag_id: str, next_run: DagRunInfo | None) -> None:
        if dag_id not in {d.dag_id for d in self.dags}:
            raise DagNotFoundError(f"DAG {dag_id!r} is not one of the DAGs of this claim")
        self.changes[dag_id] = next_run


class MemoryDagRegistry(DagRegistry):
    """The registry as dictionaries of this process; thread-safe."""

    def __init__(self) -> None:
        self._rows: dict[str, DagRecord] = {}
        self._errors: dict[str, ImportErrorRecord] = {}
        self._claimed: set[str] = set()
        self._lock = threading.Lock()

    def record_parse(self, parse: DagParse) -> None:
        with self._lock:
            found = {dag.dag_id for dag in parse.dags}
            for dag in parse.dags:
                row = self._rows.get(dag.dag_id)
                if row is None:
                    row = self._rows[dag.dag_id] = _new_record(dag, parse)
                _refresh_record(row, dag, parse)
            for row in self._rows.values():
                if (
                    row.code_location == parse.code_location
                    and row.dag_id not in found
                    and row.fileloc not in parse.import_errors
                ):
                    row.is_active = False
            replaced = {d.fileloc for d in parse.dags} | set(parse.import_errors)
            for fileloc in [
                f
                for f, e in self._errors.items()
                if e.code_location == parse.code_location or f in replaced
            ]:
                del self._errors[fileloc]
            for fileloc, error in parse.import_errors.items():
                self._errors[fileloc] = ImportErrorRecord(
                    fileloc, error, parse.parsed_at, parse.code_location
                )

    def get_dag(self, dag_id: str) -> DagRecord | None:
        row = self._rows.get(dag_id)
        return None if row is None else copy.deepcopy(row)

    def list_dags(
        self,
        *,
        code_location: str | None = None,
        paused: bool | None = None,
        active: bool | None = True,
    ) -> list[DagRecord]:
        return [
            copy.deepcopy(row)
            for _, row in sorted(self._rows.items())
            if (code_location is None or row.code_location == code_location)
            and (paused is None or row.is_paused == paused)
            and (active is None or row.is_active == active)
        ]

    def page_dags(
        self,
        *,
        search: str | None = None,
        tag: str | None = None,
        tags: Sequence[str] = (),
        pattern: str | None = None,
        paused: bool | None = None,
        limit: int,
        offset: int = 0,
    ) -> tuple[list[DagRecord], int]:
        found = id_glob_regex(id_glob(search)) if search else None
        exact = id_glob_regex(pattern, ignore_case=False) if pattern else None
        wanted = set(tags) | ({tag} if tag is not None else set())
        rows = [
            row
            for row in self.list_dags(paused=paused)
            if (found is None or found.fullmatch(row.dag_id))
            and (exact is None or exact.fullmatch(row.dag_id))
            and wanted <= set(row.tags)
        ]
        return rows[offset : offset + limit], len(rows)

    def list_tags(self) -> list[str]:
        return sorted({tag for row in self.list_dags() for tag in row.tags})

    def set_paused(self, dag_id: str, paused: bool) -> DagRecord:
        with self._lock:
            row = self._rows.get(dag_id)
            if row is None:
                raise unknown_dag(dag_id)
            row.is_paused = paused
            return copy.deepcopy(row)

    def set_next_run(self, dag_id: str, next_run: DagRunInfo | None) -> None:
        with self._lock:
            row = self._rows.get(dag_id)
            if row is None:
                raise unknown_dag(dag_id)
            row.next_run = next_run

    def due_dags(self, now: datetime, limit: int) -> list[DagRecord]:
        with self._lock:
            return [copy.deepcopy(row) for row in self._due(now, limit, skip=set())]

    @contextmanager
    def claim_due_dags(self, now: datetime, limit: int) -> Iterator[DagClaim]:
        with self._lock:
            rows = self._due(now, limit, skip=self._claimed)
            held = {row.dag_id for row in rows}
            self._claimed |= held
        claim = _MemoryClaim([copy.deepcopy(row) for row in rows])
        try:
            yield claim
            with self._lock:
                for dag_id, next_run in claim.changes.items():
                    self._rows[dag_id].next_run = next_run
        finally:
            with self._lock:
                self._claimed -= held

    def _due(self, now: datetime, limit: int, skip: set[str]) -> list[DagRecord]:
        due = [
            row
            for row in self._rows.values()
            if row.is_active
            and not row.is_paused
            and row.dag_id not in skip
            and row.next_dagrun_create_after is not None
            and row.next_dagrun_create_after <= now
        ]
        due.sort(key=lambda row: (row.next_dagrun_create_after, row.dag_id))
        return due[:limit]

    def list_import_errors(self, code_location: str | None = None) -> list[ImportErrorRecord]:
        return [
            error
            for _, error in sorted(self._errors.items())
            if code_location is None or error.code_location == code_location
        ]


__all__ = ["MemoryDagRegistry"]
