"""Import DAG files in a separate, long-lived process that is killed when a file overruns.

A DAG file is user code: it can loop forever, and even catch the
``ImportTimeout`` the in-process loader raises (``except BaseException``).
The ``Importer`` therefore imports files in a child process (forked, so it
starts with partita already imported) and gets back, per file, plain data: the
DAGs it defines (``DagSummary``), its asset keys and its ``ImportProblem``.

The design decision: the deadline is enforced by the parent. The child arms
the loader's own time limit (so a well-behaved slow file reports the line it
was stuck on); if it has not answered ``KILL_GRACE`` seconds after the
deadline, the parent SIGKILLs it, records a timeout for that file, and starts
a new child for the next file. One child serves many files, so the guarantee
costs one fork per session (and one per killed file), not one per file.
Requests and answers are pickled dataclasses over a ``multiprocessing.Pipe``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import TracebackType

from partita.definitions.dag import DAG
from partita.definitions.timetable_base import DagRunInfo
from partita.exceptions import DagLoadError
from partita.loader import (
    AIRFLOW_NOTICE_SHOWN,
    DEFAULT_IMPORT_TIMEOUT,
    ImportProblem,
    LoadResult,
    load_file,
    load_module,
)

#: Seconds the parent waits past the deadline (for the child's own time limit) before killing it.
KILL_GRACE = 1.0
#: How often the child checks that its parent is still alive.
_ORPHAN_CHECK_SECONDS = 1.0


@dataclass(frozen=True)
class DagSummary:
    """What ``partita dags list`` shows of a DAG, without the DAG object.

    The fields after ``fileloc`` are what the DAG registry keeps of the DAG
    (``registry_sync.parsed_summary``), worked out in the child, which holds the
    DAG and its timetable; they take no part in comparing summaries.
    """

    dag_id: str
    task_count: int
    schedule: str | None
    tags: tuple[str, ...]
    fileloc: str | None
    timetable_summary: str | None = field(default=None, compare=False)
    #: The next automated run the timetable asks for from scratch, as of the import.
    next_run: DagRunInfo | None = field(default=None, compare=False)
    max_active_runs: int = field(default=16, compare=False)
    owner: str | None = field(default=None, compare=False)
    description: str | None = field(default=None, compare=False)
    is_paused_upon_creation: bool | None = field(default=None, compare=False)

    @classmethod
    def of(cls, dag: DAG, now: datetime | None = None) -> DagSummary:
        schedule = str(dag.schedule) if dag.schedule is not None else None
        now = now if now is not None else datetime.now(UTC)
        owner = dag.default_args.get("owner")
        return cls(
            dag.dag_id,
            len(dag.task_dict),
            schedule,
            tuple(dag.tags),
            dag.fileloc,
            timetable_summary=dag.timetable.summary,
            next_run=dag.timetable.next_dagrun_info(None, dag.time_restriction, now=now),
            max_active_runs=dag.max_active_runs,
            owner=None if owner is None else str(owner),
            description=dag.description,
            is_paused_upon_creation=dag.is_paused_upon_creation,
        )


@dataclass(frozen=True)
class FileResult:
    """What importing one file (or module) found.

    ``source`` is the resolved path (or the module name). ``error`` holds the
    error text as ``LoadResult.errors`` does (import failure and/or duplicate
    DAG ids in the file); ``problem`` the import failure as data.
    """

    source: str
    dags: tuple[DagSummary, ...] = ()
    asset_keys: tuple[str, ...] = ()
    error: str | None = None
    problem: ImportProblem | None = None
    seconds: float = 0.0

    @property
    def dag_ids(self) -> list[str]:
        return [d.dag_id for d in self.dags]


@dataclass(frozen=True)
class _Request:
    target: str
    is_module: bool
    folder: str | None
    timeout: float
    #: The settings' ``default_timezone``, given to each DAG that names no zone of its own.
    default_timezone: str | None = None


@dataclass(frozen=True)
class _Answer:
    result: FileResult
    #: A module that does not exist: ``DagLoadError``'s message, raised in the parent.
    missing: str | None = None
    #: The child printed the Airflow compat notice; the parent then does not print it again.
    airflow_notice: bool = False


class Importer:
    """A child process that imports DAG files one by one; use as a context manager.

    ``import_files(paths, deadline)`` imports each path with a hard deadline
    (seconds, per file) and returns one ``FileResult`` per path, in order.
    The child starts with the first request and serves every later one until
    ``close()`` (or until a file overruns; the next request starts a new one).
    One ``Importer`` serves one thread at a time.
    """

    def __init__(self, *, default_timezone: str | None = None) -> None:
        #: The zone of DAGs that name none (so the next runs summaries carry are right).
        self.default_timezone = default_timezone
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        #: How many children were lost to a file (killed for overrunning, or died importing it).
        self.restarts = 0

    def __enter__(self) -> Importer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def import_files(
        self,
        paths: Sequence[Path],
        deadline: float = DEFAULT_IMPORT_TIMEOUT,
        *,
        folder: Path | None = None,
    ) -> list[FileResult]:
        """Import each of ``paths`` (``folder`` importable, as ``load_dags(folder)`` does)."""
        base = str(folder) if folder is not None else None
        zone = self.default_timezone
        return [self._ask(_Request(str(p), False, base, deadline, zone)).result for p in paths]

    def import_module(self, name: str, deadline: float = DEFAULT_IMPORT_TIMEOUT) -> FileResult:
        """Import the dotted module ``name``; ``DagLoadError`` when there is no such module."""
        answer = self._ask(_Request(name, True, None, deadline, self.default_timezone))
        if answer.missing is not None:
            raise DagLoadError(answer.missing)
        return answer.result

    def close(self) -> None:
        """Stop the child (politely: it exits when its pipe closes; killed if it does not)."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            process.join(0.5)
            if process.is_alive():
                _kill(process)
            process.close()

    # -- one request ------------------------------------------------------------------------
    def _ask(self, request: _Request) -> _Answer:
        started = time.monotonic()
        conn = self._send(request)
        limit = request.timeout + KILL_GRACE if request.timeout > 0 else None
        if conn.poll(limit):
            try:
                answer: _Answer = conn.recv()
                if answer.airflow_notice:
                    os.environ[AIRFLOW_NOTICE_SHOWN] = "1"
                return answer
            except (EOFError, OSError):
                code = self._discard()
                self.restarts += 1
                return _Answer(_died(request, code, time.monotonic() - started))
        self._discard()
        self.restarts += 1
        return _Answer(_killed(request, time.monotonic() - started))

    def _send(self, request: _Request) -> Connection:
        """Send ``request`` to the child, starting a new one if the last one is gone."""
        try:
            conn = self._connection()
            conn.send(request)
        except (BrokenPipeError, ConnectionResetError):  # it died after its last answer
            self._discard()
            conn = self._connection()
            conn.send(request)
        return conn

    def _connection(self) -> Connection:
        if self._conn is None:
            context = multiprocessing.get_context("fork")
            parent_end, child_end = context.Pipe()
            process = context.Process(
                target=_serve,
                args=(child_end, parent_end, os.getpid()),
                name="partita-importer",
                daemon=True,
            )
            process.start()
            child_end.close()
            self._process, self._conn = process, parent_end
        return self._conn

    def _discard(self) -> int | None:
        """Kill the child (it overran or died) so the next request starts a new one."""
        process = self._process
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None
        if process is None:
            return None
        _kill(process)
        code = process.exitcode
        process.close()
        return code


def _kill(process: BaseProcess) -> None:
    if process.pid is not None and process.exitcode is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
    process.join()


def _killed(request: _Request, seconds: float) -> FileResult:
    summary = (
        f"ImportTimeout: importing took longer than {request.timeout:g}s and did not stop "
        "(does the file catch BaseException?), so its importer process was killed; "
        "move slow work (network, large files) out of module level"
    )
    problem = ImportProblem(summary, filename=None if request.is_module else request.target)
    return FileResult(request.target, error=summary, problem=problem, seconds=seconds)


def _died(request: _Request, code: int | None, seconds: float) -> FileResult:
    summary = (
        f"ImporterDied: the importer process exited (code {code}) while importing this file; "
        "a DAG file must not exit the process or crash the interpreter"
    )
    problem = ImportProblem(summary, filename=None if request.is_module else request.target)
    return FileResult(request.target, error=summary, problem=problem, seconds=seconds)


# -- the child ---------------------------------------------------------------------------------
def _serve(conn: Connection, parent_end: Connection, parent_pid: int) -> None:
    """The child's loop: answer requests until the parent closes its end of the pipe."""
    parent_end.close()  # else the child's copy keeps the pipe open after the parent's close
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler, if it had one
    watchdog = threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), daemon=True)
    watchdog.start()
    while True:
        try:
            request: _Request = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(_answer(request))


def _answer(request: _Request) -> _Answer:
    started = time.monotonic()
    timeout = request.timeout if request.timeout > 0 else None
    if request.is_module:
        try:
            loaded = load_module(request.target, import_timeout=timeout)
        except DagLoadError as exc:
            return _Answer(FileResult(request.target), missing=str(exc))
    else:
        folder = Path(request.folder) if request.folder is not None else None
        loaded = load_file(Path(request.target), folder=folder, import_timeout=timeout)
    if request.default_timezone is not None:
        for dag in loaded.dags.values():
            dag.use_default_timezone(request.default_timezone)
    result = _file_result(request.target, loaded, time.monotonic() - started)
    return _Answer(result, airflow_notice=bool(os.environ.get(AIRFLOW_NOTICE_SHOWN)))


def _file_result(source: str, loaded: LoadResult, seconds: float) -> FileResult:
    keys = sorted(
        key.to_user_string()
        for definitions in loaded.definitions.values()
        for asset in definitions.assets
        for key in asset.keys
    )
    return FileResult(
        source,
        dags=tuple(DagSummary.of(dag) for dag in loaded.dags.values()),
        asset_keys=tuple(keys),
        error=next(iter(loaded.errors.values()), None),
        problem=next(iter(loaded.problems.values()), None),
        seconds=seconds,
    )


def _exit_when_orphaned(parent_pid: int) -> None:
    """A child whose parent died (even by SIGKILL) exits, even if a DAG file never returns."""
    while os.getppid() == parent_pid:
        time.sleep(_ORPHAN_CHECK_SECONDS)
    os._exit(1)


__all__ = ["KILL_GRACE", "DagSummary", "FileResult", "Importer"]
