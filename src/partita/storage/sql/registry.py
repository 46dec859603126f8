"""The DAG registry on SQL: the ``dag`` and ``import_error`` tables.

The design decision: a parse is recorded with one upsert statement
(``INSERT ... ON CONFLICT (dag_id) DO UPDATE``, the same on SQLite and
PostgreSQL) whose update leaves ``is_paused`` alone and replaces the next
run only when the stored schedule differs from the parsed one, so two
processes recording at once cannot insert a DAG twice or unpause it. "Which
DAGs are due" is one query on the (is_paused, is_active,
next_dagrun_create_after, dag_id) index; a claim runs it ``FOR UPDATE SKIP LOCKED``
on PostgreSQL and holds the rows until the claim's transaction ends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Engine,
    Row,
    Select,
    and_,
    bindparam,
    case,
    delete,
    exists,
    false,
    func,
    or_,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from partita.definitions.timetable_base import DagRunInfo
from partita.exceptions import DagNotFoundError
from partita.storage.base import DagClaim, DagRegistry
from partita.storage.dag_records import (
    DagParse,
    DagRecord,
    ImportErrorRecord,
    ParsedDag,
    id_glob,
    unknown_dag,
)
from partita.storage.sql.errors import connect, write_transaction
from partita.storage.sql.models import dag_table as dags
from partita.storage.sql.models import import_error_table as import_errors

#: The columns a parse refreshes on a known DAG (besides the schedule and next run).
_PARSED_COLUMNS = (
    "fileloc",
    "code_location",
    "is_active",
    "last_parsed_at",
    "last_parse_duration",
    "max_active_runs",
    "tags",
    "owner",
    "description",
)
_NEXT_RUN_COLUMNS = (
    "next_dagrun",
    "next_dagrun_data_interval_start",
    "next_dagrun_data_interval_end",
    "next_dagrun_create_after",
)


def next_run_values(info: DagRunInfo | None) -> dict[str, datetime | None]:
    """The next-run columns of ``info`` (all None when there is no next run)."""
    if info is None:
        return dict.fromkeys(_NEXT_RUN_COLUMNS)
    return {
        "next_dagrun": info.logical_date,
        "next_dagrun_data_interval_start": info.data_interval_start,
        "next_dagrun_data_interval_end": info.data_interval_end,
        "next_dagrun_create_after": info.run_after,
    }


def _row_values(dag: ParsedDag, parse: DagParse) -> dict[str, Any]:
    paused = dag.is_paused_upon_creation
    return {
        "dag_id": dag.dag_id,
        "fileloc": dag.fileloc,
        "code_location": parse.code_location,
        "is_paused": parse.paused_at_creation if paused is None else paused,
        "is_active": True,
        "timetable_summary": dag.timetable_summary,
        **next_run_values(dag.next_run),
        "last_parsed_at": parse.parsed_at,
        "last_parse_duration": parse.duration,
        "max_active_runs": dag.max_active_runs,
        "tags": list(dag.tags),
        "owner": dag.owner,
        "description": dag.description,
    }


def _record(row: Row[Any]) -> DagRecord:
    next_run = None
    if row.next_dagrun is not None:
        next_run = DagRunInfo(
            row.next_dagrun, row.next_dagrun_data_interval_start, row.next_dagrun_data_interval_end
        )
    return DagRecord(
        dag_id=row.dag_id,
        fileloc=row.fileloc,
        code_location=row.code_location,
        is_paused=bool(row.is_paused),
        is_active=bool(row.is_active),
        timetable_summary=row.timetable_summary,
        next_run=next_run,
        last_parsed_at=row.last_parsed_at,
        last_parse_duration=row.last_parse_duration,
        max_active_runs=row.max_active_runs,
        tags=list(row.tags or []),
        owner=row.owner,
        description=row.description,
    )


class _SqlClaim(DagClaim):
    """Collects the next runs set during the claim; ``flush`` writes them in one statement."""

    def __init__(self, claimed: list[DagRecord]) -> None:
        self.dags = claimed
        self._ids = {d.dag_id for d in claimed}
        self._changes: dict[str, DagRunInfo | None] = {}

    def set_next_run(self, dag_id: str, next_run: DagRunInfo | None) -> None:
        if dag_id not in self._ids:
            raise DagNotFoundError(f"DAG {dag_id!r} is not one of the DAGs of this claim")
        self._changes[dag_id] = next_run

    def flush(self, connection: Connection) -> None:
        if not self._changes:
            return
        change = update(dags).where(dags.c.dag_id == bindparam("claimed_id"))
        rows = [
            {"claimed_id": dag_id, **next_run_values(next_run)}
            for dag_id, next_run in self._changes.items()
        ]
        connection.execute(change, rows)


class SqlDagRegistry(DagRegistry):
    """The DAG registry in the ``dag`` and ``import_error`` tables."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name

    def _transaction(self, operation: str) -> AbstractContextManager[Connection]:
        return write_transaction(self._engine, operation)

    def record_parse(self, parse: DagParse) -> None:
        where = f"record the parse of {parse.code_location!r}"
        with self._transaction(where) as connection:
            if parse.dags:
                rows = [_row_values(dag, parse) for dag in parse.dags]
                connection.execute(self._upsert(), rows)
            self._deactivate_missing(connection, parse)
            self._replace_import_errors(connection, parse)

    def _upsert(self) -> Any:
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        statement = insert(dags)
        new = statement.excluded
        schedule_changed = dags.c.timetable_summary.is_distinct_from(new.timetable_summary)
        refreshed: dict[str, Any] = {name: new[name] for name in _PARSED_COLUMNS}
        refreshed["timetable_summary"] = new.timetable_summary
        for name in _NEXT_RUN_COLUMNS:
            refreshed[name] = case((schedule_changed, new[name]), else_=dags.c[name])
        return statement.on_conflict_do_update(index_elements=[dags.c.dag_id], set_=refreshed)

    def _deactivate_missing(self, connection: Connection, parse: DagParse) -> None:
        missing = [dags.c.code_location == parse.code_location, dags.c.is_active == true()]
        if parse.dags:
            missing.append(dags.c.dag_id.not_in([d.dag_id for d in parse.dags]))
        if parse.import_errors:
            failed = list(parse.import_errors)
            missing.append(or_(dags.c.fileloc.is_(None), dags.c.fileloc.not_in(failed)))
        connection.execute(update(dags).where(and_(*missing)).values(is_active=False))

    def _replace_import_errors(self, connection: Connection, parse: DagParse) -> None:
        replaced = {d.fileloc for d in parse.dags if d.fileloc is not None}
        replaced.update(parse.import_errors)
        stale = import_errors.c.code_location == parse.code_location
        if replaced:
            stale = or_(stale, import_errors.c.fileloc.in_(sorted(replaced)))
        connection.execute(delete(import_errors).where(stale))
        if parse.import_errors:
            connection.execute(
                import_errors.insert(),
                [
                    {
                        "fileloc": fileloc,
                        "code_location": parse.code_location,
                        "error": error,
                        "timestamp": parse.parsed_at,
                    }
                    for fileloc, error in parse.import_errors.items()
                ],
            )

    def get_dag(self, dag_id: str) -> DagRecord | None:
        query = select(dags).where(dags.c.dag_id == dag_id)
        with connect(self._engine, f"read DAG {dag_id!r} of the registry") as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else _record(row)

    def list_dags(
        self,
        *,
        code_location: str | None = None,
        paused: bool | None = None,
        active: bool | None = True,
    ) -> list[DagRecord]:
        # byte order on both backends (PostgreSQL's default collation ignores '_' and case)
        by_id = dags.c.dag_id.collate("C") if self._dialect == "postgresql" else dags.c.dag_id
        query = select(dags).order_by(by_id)
        if code_location is not None:
            query = query.where(dags.c.code_location == code_location)
        if paused is not None:
            query = query.where(dags.c.is_paused == (true() if paused else false()))
        if active is not None:
            query = query.where(dags.c.is_active == (true() if active else false()))
        with connect(self._engine, "list the DAGs of the registry") as connection:
            return [_record(row) for row in connection.execute(query)]

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
        by_id = dags.c.dag_id.collate("C") if self._dialect == "postgresql" else dags.c.dag_id
        where = [dags.c.is_active == true()]
        if search:
            where.append(dags.c.dag_id.ilike(_like(id_glob(search)), escape="\\"))
        if pattern:
            where.append(self._matches_exactly(pattern))
        if paused is not None:
            where.append(dags.c.is_paused == (true() if paused else false()))
        for wanted in {*tags, *([tag] if tag is not None else [])}:
            where.append(self._has_tag(wanted))
        page = select(dags).where(*where).order_by(by_id).limit(limit).offset(offset)
        count = select(func.count()).select_from(dags).where(*where)
        with connect(self._engine, "list a page of the DAG registry") as connection:
            records = [_record(row) for row in connection.execute(page)]
            return records, int(connection.execute(count).scalar_one())

    def _matches_exactly(self, pattern: str) -> Any:
        """The ids a glob matches whole, case and all: LIKE on PostgreSQL (which minds case),
        GLOB on SQLite (whose LIKE does not), with every other special character escaped."""
        if self._dialect == "postgresql":
            return dags.c.dag_id.like(_like(pattern), escape="\\")
        escaped = "".join("[[]" if c == "[" else c for c in pattern)
        return dags.c.dag_id.op("GLOB")(escaped)

    def _has_tag(self, tag: str) -> Any:
        if self._dialect == "postgresql":
            return type_coerce(dags.c.tags, postgresql.JSONB).contains([tag])
        each = func.json_each(dags.c.tags).table_valued("value")
        return exists(select(1).select_from(each).where(each.c.value == tag))

    def list_tags(self) -> list[str]:
        if self._dialect == "postgresql":
            each = func.jsonb_array_elements_text(type_coerce(dags.c.tags, postgresql.JSONB))
        else:
            each = func.json_each(dags.c.tags)
        value = each.table_valued("value")
        query = (
            select(value.c.value)
            .select_from(dags.join(value, true()))
            .where(dags.c.is_active == true())
            .distinct()
        )
        with connect(self._engine, "list the tags of the DAG registry") as connection:
            return sorted(str(tag) for tag in connection.execute(query).scalars())

    def set_paused(self, dag_id: str, paused: bool) -> DagRecord:
        change = update(dags).where(dags.c.dag_id == dag_id).values(is_paused=paused)
        with self._transaction(f"pause DAG {dag_id!r}") as connection:
            if connection.execute(change).rowcount == 0:
                raise unknown_dag(dag_id)
            row = connection.execute(select(dags).where(dags.c.dag_id == dag_id)).one()
        return _record(row)

    def set_next_run(self, dag_id: str, next_run: DagRunInfo | None) -> None:
        change = update(dags).where(dags.c.dag_id == dag_id).values(**next_run_values(next_run))
        with self._transaction(f"set the next run of DAG {dag_id!r}") as connection:
            if connection.execute(change).rowcount == 0:
                raise unknown_dag(dag_id)

    def due_query(self, now: datetime, limit: int) -> Select[Any]:
        """The one indexed query of due DAGs (public so that a test can read its plan)."""
        return (
            select(dags)
            .where(
                dags.c.is_paused == false(),
                dags.c.is_active == true(),
                dags.c.next_dagrun_create_after <= now,
            )
            .order_by(dags.c.next_dagrun_create_after, dags.c.dag_id)
            .limit(limit)
        )

    def due_dags(self, now: datetime, limit: int) -> list[DagRecord]:
        with connect(self._engine, "find the due DAGs") as connection:
            return [_record(row) for row in connection.execute(self.due_query(now, limit))]

    @contextmanager
    def claim_due_dags(self, now: datetime, limit: int) -> Iterator[DagClaim]:
        query = self.due_query(now, limit)
        if self._dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        with self._transaction("claim the due DAGs") as connection:
            claim = _SqlClaim([_record(row) for row in connection.execute(query)])
            yield claim
            claim.flush(connection)

    def list_import_errors(self, code_location: str | None = None) -> list[ImportErrorRecord]:
        query = select(import_errors).order_by(import_errors.c.fileloc)
        if code_location is not None:
            query = query.where(import_errors.c.code_location == code_location)
        with connect(self._engine, "list the import errors") as connection:
            rows: Sequence[Row[Any]] = connection.execute(query).all()
        return [
            ImportErrorRecord(row.fileloc, row.error, row.timestamp, row.code_location)
            for row in rows
        ]


def _like(glob: str) -> str:
    """A DAG id glob (``*``, ``?``) as a LIKE pattern escaped with a backslash."""
    escaped = glob.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


__all__ = ["SqlDagRegistry", "next_run_values"]
