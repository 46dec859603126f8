"""Records of the DAG registry: what a parse found, and the row the scheduler keeps per DAG.

The design decision: the next automated run is stored as the timetable's own
``DagRunInfo`` (logical date, data interval), and the time it may be created
(``next_dagrun_create_after``, the indexed "next due" column) is derived from
it (``DagRunInfo.run_after``), so the two can never disagree. Times are
timezone-aware UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from partita.definitions.timetable_base import DagRunInfo
from partita.exceptions import DagNotFoundError


@dataclass(frozen=True, slots=True)
class ParsedDag:
    """One DAG as a parse found it: where it lives, when it runs next, and its labels."""

    dag_id: str
    fileloc: str | None = None
    timetable_summary: str | None = None
    #: The next automated run the timetable asks for from scratch; None when it asks for none.
    next_run: DagRunInfo | None = None
    max_active_runs: int = 16
    tags: tuple[str, ...] = ()
    owner: str | None = None
    description: str | None = None
    #: The DAG's own ``is_paused_upon_creation``; None defers to the setting.
    is_paused_upon_creation: bool | None = None


@dataclass(frozen=True, slots=True)
class DagParse:
    """What one parse of a code location found; recorded by ``DagRegistry.record_parse``."""

    #: The file, folder or module parsed (its DAGs not found this time become inactive).
    code_location: str
    dags: Sequence[ParsedDag]
    #: File (or module) -> error message, for the sources that failed to import.
    import_errors: Mapping[str, str]
    parsed_at: datetime
    #: Seconds the parse of the whole code location took.
    duration: float | None = None
    #: ``dags_paused_at_creation``: whether a new DAG with no opinion of its own starts paused.
    paused_at_creation: bool = False


@dataclass(slots=True)
class DagRecord:
    """A row of the DAG registry: one DAG the scheduler knows, with its scheduling state."""

    dag_id: str
    fileloc: str | None = None
    code_location: str | None = None
    is_paused: bool = False
    #: False once a parse of its code location no longer finds it.
    is_active: bool = True
    timetable_summary: str | None = None
    next_run: DagRunInfo | None = None
    last_parsed_at: datetime | None = None
    last_parse_duration: float | None = None
    max_active_runs: int = 16
    tags: list[str] = field(default_factory=list)
    owner: str | None = None
    description: str | None = None

    @property
    def next_dagrun_create_after(self) -> datetime | None:
        """When the next run may be created (the end of its data interval); None if never."""
        return None if self.next_run is None else self.next_run.run_after


@dataclass(frozen=True, slots=True)
class ImportErrorRecord:
    """The error of a file (or module) that failed to import at its last parse."""

    fileloc: str
    error: str
    timestamp: datetime
    code_location: str | None = None


def id_glob(search: str) -> str:
    """The glob a DAG id search means: itself when it has ``*`` or ``?``, else ``*search*``.

    In the glob only ``*`` (any run) and ``?`` (one character) are special, and
    case does not count, on every store.
    """
    return search if any(c in search for c in "*?") else f"*{search}*"


def id_glob_regex(glob: str, ignore_case: bool = True) -> re.Pattern[str]:
    """``id_glob``'s glob as a regular expression (the memory store's matcher)."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile("".join(parts), (re.IGNORECASE if ignore_case else 0) | re.DOTALL)


def unknown_dag(dag_id: str) -> DagNotFoundError:
    """The error for a DAG id the registry does not hold (the same on every backend)."""
    return DagNotFoundError(
        f"DAG {dag_id!r} is not known: run `partita dags list PATH` or start the scheduler"
    )


__all__ = [
    "DagParse",
    "DagRecord",
    "ImportErrorRecord",
    "ParsedDag",
    "id_glob",
    "id_glob_regex",
    "unknown_dag",
]
