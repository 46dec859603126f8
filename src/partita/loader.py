"""Load DAGs from a Python file, a dotted module name or a folder of DAG files.

The design decision: a file that cannot be loaded never stops the others.
Each file is imported on its own, under a module name unique to its path
(``partita_dagfile_<hash>_<stem>``), with a time limit; whatever goes wrong
(a syntax error, an exception, a hang, a DAG defined wrongly) becomes an entry
of ``LoadResult.errors`` keyed by the file, and every other file still loads.
DAGs are collected while the file imports (``authoring.collect_dags``), so a
DAG built in a factory and never bound to a global is found too.

``extract_definitions`` is the one place that decides what a module
defines: when it has a module-level ``Definitions`` (a code location, usually
``defs``), exactly the DAGs and asset jobs that object holds; otherwise its
DAGs, plus, when it defines ``@asset``s or ``define_asset_job``s at module
level, an implicit ``Definitions`` of those (so a plain file of assets works
with ``partita assets ...``).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import linecache
import os
import re
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from types import FrameType, ModuleType, TracebackType
from typing import Protocol, TypeVar

from partita.definitions import authoring
from partita.definitions.asset import AssetsDefinition
from partita.definitions.asset_check import AssetChecksDefinition
from partita.definitions.asset_job import UnresolvedAssetJob
from partita.definitions.dag import DAG, DagFactory
from partita.definitions.definitions import Definitions
from partita.definitions.schedules import ScheduleDefinition
from partita.definitions.sensors import SensorDefinition
from partita.exceptions import CycleError, DagLoadError, DagNotFoundError, DefinitionError

DEFAULT_IMPORT_TIMEOUT = 30.0
MODULE_PREFIX = "partita_dagfile_"
#: Set in the environment once the Airflow compat notice is printed, so that a
#: command prints it once, whichever of its processes imported the file first.
AIRFLOW_NOTICE_SHOWN = "_PARTITA_AIRFLOW_NOTICE_SHOWN"
_IMPORTLIB_DIR = os.path.dirname(importlib.__file__ or "<importlib>")
_DOTTED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass
class LoadResult:
    """What loading found: DAGs by id, and the sources that failed.

    ``errors`` maps a file path (or module name) to a message whose first line
    is a one-line summary; the lines after it, if any, are the traceback.
    ``sources`` maps each DAG id to the file or module it was loaded from.
    ``definitions`` maps a source to its ``Definitions`` (when it has assets or one).
    """

    dags: dict[str, DAG] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    definitions: dict[str, Definitions] = field(default_factory=dict)
    #: The import failures among ``errors``, as data (``errors`` also holds duplicate-id errors).
    problems: dict[str, ImportProblem] = field(default_factory=dict)

    def merged_definitions(self, target: str) -> Definitions:
        """Everything loaded, as one ``Definitions`` (assets of every file together)."""
        found = list(self.definitions.values())
        if not any(d.assets for d in found):
            message = f"no assets in {target!r}: define @asset functions (or a Definitions)"
            if self.errors:
                message += (
                    f"; {len(self.errors)} file(s) failed to import: run "
                    f"'partita dags list {target}' to see the errors"
                )
            raise DagLoadError(message)
        return found[0] if len(found) == 1 else Definitions.merge(*found)

    @property
    def schedules(self) -> list[ScheduleDefinition]:
        """The schedules of every ``Definitions`` loaded, in load order."""
        return [s for d in self.definitions.values() for s in d.schedules]

    @property
    def sensors(self) -> list[SensorDefinition]:
        """The sensors of every ``Definitions`` loaded, in load order."""
        return [s for d in self.definitions.values() for s in d.sensors]

    def add_problem(self, source: str, problem: ImportProblem) -> None:
        self.problems[source] = problem
        self.add_error(source, problem.text)

    def add_error(self, source: str, message: str) -> None:
        previous = self.errors.get(source)
        self.errors[source] = message if previous is None else f"{previous}\n{message}"


class ImportTimeout(BaseException):
    """Raised inside a DAG file that imports for longer than the time limit.

    A ``BaseException`` so that ``except Exception`` in the file does not swallow it.
    """


def load_dags(
    path_or_module: str | os.PathLike[str],
    *,
    import_timeout: float | None = DEFAULT_IMPORT_TIMEOUT,
    default_timezone: str | tzinfo | None = None,
    known_failures: Mapping[str, str] | None = None,
) -> LoadResult:
    """Load every DAG of a ``.py`` file, a folder (recursively) or a dotted module name.

    ``default_timezone`` (the settings' ``default_timezone``) becomes the zone of
    every DAG that names none (no ``timezone=``, no aware ``start_date``).

    In a folder, files and folders whose names start with ``_`` or ``.`` are
    skipped (so ``__init__.py`` and helper modules like ``_common.py`` are not
    loaded as DAG files); the others load in sorted order. A source (resolved
    path or module name) in ``known_failures`` is not imported: its error there
    is recorded instead. Raises ``DagLoadError`` only when the path or module
    does not exist.
    """
    result = LoadResult()
    skip = known_failures or {}
    target = os.fspath(path_or_module)
    path = Path(target)
    if path.is_dir():
        root = path.resolve()
        files = dag_files(root)
    elif path.is_file():
        if path.suffix != ".py":
            raise DagLoadError(
                f"{target!r} is not a Python file; give a .py file, a folder or a module"
            )
        root, files = None, [path.resolve()]
    elif is_module_name(target):
        if target in skip:
            result.add_error(target, skip[target])
        else:
            _load_module(target, result, import_timeout)
        return _zoned(result, default_timezone)
    else:
        raise DagLoadError(f"no such file, folder or module: {target!r}")
    for file in files:
        if str(file) in skip:
            result.add_error(str(file), skip[str(file)])
        else:
            _load_file(file, result, import_timeout, extra_path=root)
    return _zoned(result, default_timezone)


def _zoned(result: LoadResult, default_timezone: str | tzinfo | None) -> LoadResult:
    """``result`` with ``default_timezone`` given to every DAG that names no zone of its own."""
    if default_timezone is not None:
        for dag in result.dags.values():
            dag.use_default_timezone(default_timezone)
    return result


def load_file(
    path: Path,
    *,
    folder: Path | None = None,
    import_timeout: float | None = DEFAULT_IMPORT_TIMEOUT,
) -> LoadResult:
    """Load the DAG file ``path`` as ``load_dags(folder)`` would (``folder`` importable)."""
    result = LoadResult()
    _load_file(path.resolve(), result, import_timeout, extra_path=folder)
    return result


def load_module(name: str, *, import_timeout: float | None = DEFAULT_IMPORT_TIMEOUT) -> LoadResult:
    """Load the dotted module ``name``; ``DagLoadError`` when there is no such module."""
    result = LoadResult()
    _load_module(name, result, import_timeout)
    return result


def is_module_name(target: str) -> bool:
    """Whether ``target`` reads as a dotted module name (and not as a ``.py`` path)."""
    return bool(_DOTTED_NAME.match(target)) and not target.endswith(".py")


def load_definitions(
    path_or_module: str | os.PathLike[str],
    *,
    import_timeout: float | None = DEFAULT_IMPORT_TIMEOUT,
    default_timezone: str | tzinfo | None = None,
) -> tuple[Definitions, LoadResult]:
    """The assets (and the rest) of ``path_or_module`` as one ``Definitions``, with the load result.

    Raises ``DagLoadError`` when nothing loaded defines an asset.
    """
    result = load_dags(
        path_or_module, import_timeout=import_timeout, default_timezone=default_timezone
    )
    return result.merged_definitions(os.fspath(path_or_module)), result


def get_dag(
    path_or_module: str | os.PathLike[str],
    dag_id: str,
    *,
    import_timeout: float | None = DEFAULT_IMPORT_TIMEOUT,
    default_timezone: str | tzinfo | None = None,
) -> DAG:
    """The DAG ``dag_id`` defined in ``path_or_module``; ``DagNotFoundError`` lists what exists."""
    result = load_dags(
        path_or_module, import_timeout=import_timeout, default_timezone=default_timezone
    )
    try:
        return result.dags[dag_id]
    except KeyError:
        raise DagNotFoundError(
            _not_found_message(os.fspath(path_or_module), dag_id, result)
        ) from None


def dag_files(folder: Path) -> list[Path]:
    """The ``.py`` files under ``folder`` that are loaded as DAG files, in sorted order."""
    found: list[Path] = []
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
        found.extend(
            Path(current, name)
            for name in sorted(files)
            if name.endswith(".py") and not name.startswith(("_", "."))
        )
    return found


def module_name_for(path: Path) -> str:
    """The unique module name a DAG file is imported under."""
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    stem = re.sub(r"\W", "_", path.stem)
    return f"{MODULE_PREFIX}{digest}_{stem}"


def extract_definitions(
    module: ModuleType, created: list[DAG]
) -> tuple[list[DAG], Definitions | None]:
    """The DAGs ``module`` defines and its ``Definitions`` (explicit, implicit, or None)."""
    namespace = vars(module)
    explicit = [v for v in namespace.values() if isinstance(v, Definitions)]
    if len({id(d) for d in explicit}) > 1:
        names = [k for k, v in namespace.items() if isinstance(v, Definitions)]
        raise DefinitionError(
            f"the module defines {len(names)} Definitions objects ({', '.join(names)}); a code "
            "location has one: merge them with Definitions.merge(...)"
        )
    if explicit:
        return explicit[0].dags, explicit[0]
    dags = extract_dags(module, created)
    assets = [v for v in namespace.values() if isinstance(v, AssetsDefinition)]
    checks = [v for v in namespace.values() if isinstance(v, AssetChecksDefinition)]
    jobs = [v for v in namespace.values() if isinstance(v, UnresolvedAssetJob)]
    if not assets and not jobs:
        return dags, None
    implicit = Definitions(
        assets=assets, asset_checks=checks, jobs=jobs, fileloc=getattr(module, "__file__", None)
    )
    return dags + implicit.dags, implicit


def extract_dags(module: ModuleType, created: list[DAG]) -> list[DAG]:
    """The DAGs ``module`` defines: those created while it imported and its global DAGs.

    A ``@dag`` function defined in the module whose DAG was never built (the
    function was not called) is called once here, with its default params.
    """
    found: dict[int, DAG] = {id(d): d for d in created}
    namespace = vars(module)
    for value in namespace.values():
        if isinstance(value, DAG):
            found.setdefault(id(value), value)
    built = {d.dag_id for d in found.values()}
    for value in list(namespace.values()):
        if (
            isinstance(value, DagFactory)
            and value.function.__module__ == module.__name__
            and (value.dag_kwargs.get("dag_id") or value.function.__name__) not in built
        ):
            dag = value()
            built.add(dag.dag_id)
            found.setdefault(id(dag), dag)
    return list(found.values())


# -- loading one source -----------------------------------------------------------------
def _load_file(
    path: Path, result: LoadResult, timeout: float | None, extra_path: Path | None
) -> None:
    source = str(path)
    name = module_name_for(path)
    spec = importlib.util.spec_from_file_location(name, path)
    loader = spec.loader if spec is not None else None
    if spec is None or loader is None:  # pragma: no cover - only for non-.py paths
        result.add_error(source, f"cannot import {source}: not a Python source file")
        return
    module = importlib.util.module_from_spec(spec)

    def execute() -> ModuleType:
        sys.modules[name] = module
        loader.exec_module(module)
        return module

    search = [str(path.parent)] + ([str(extra_path)] if extra_path is not None else [])
    _serve_airflow_imports(path)
    try:
        _make_importable(search)
        dags, definitions = _import_dags(execute, timeout)
    except _ImportFailed as failed:
        sys.modules.pop(name, None)
        result.add_problem(source, describe_error(failed.error, path, timeout))
        return
    _add_dags(dags, source, result)
    if definitions is not None:
        result.definitions[source] = definitions


def _load_module(name: str, result: LoadResult, timeout: float | None) -> None:
    """Import a dotted module name (the working directory is importable, as with ``-m``)."""

    def execute() -> ModuleType:
        if name in sys.modules:  # imported before: run it again so its DAGs are rebuilt
            return importlib.reload(sys.modules[name])
        return importlib.import_module(name)

    _make_importable([os.getcwd()])
    try:
        found = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        found = None
    except Exception as exc:  # a parent package failed to import
        result.add_problem(name, describe_error(exc, None, timeout))
        return
    if found is None:
        raise DagLoadError(f"no such file, folder or module: {name!r}")
    if found.origin and found.has_location:
        _serve_airflow_imports(Path(found.origin))
    try:
        dags, definitions = _import_dags(execute, timeout)
    except _ImportFailed as failed:
        sys.modules.pop(name, None)
        origin = Path(found.origin) if found.origin else None
        result.add_problem(name, describe_error(failed.error, origin, timeout))
        return
    _add_dags(dags, name, result)
    if definitions is not None:
        result.definitions[name] = definitions


def _serve_airflow_imports(path: Path) -> None:
    """Install the Airflow import hook when the source of ``path`` mentions ``airflow``."""
    try:
        mentions = b"airflow" in path.read_bytes()
    except OSError:
        return
    if mentions:
        from partita.compat.airflow import install

        install()


class _ImportFailed(Exception):
    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _import_dags(
    execute: Callable[[], ModuleType], timeout: float | None
) -> tuple[list[DAG], Definitions | None]:
    """Run ``execute`` under a time limit; return the module's DAGs (validated), Definitions."""
    try:
        with authoring.collect_dags() as created, _time_limit(timeout):
            module = execute()
            dags, definitions = extract_definitions(module, created)
        for dag in dags:
            dag.validate()
    except (Exception, SystemExit, ImportTimeout) as exc:
        raise _ImportFailed(exc) from None
    return dags, definitions


def _add_dags(dags: list[DAG], source: str, result: LoadResult) -> None:
    merge_dags(dags, source, result.dags, result.sources, result.add_error)


class NamedDag(Protocol):
    """What duplicate detection needs of a DAG: a ``DAG`` or a summary of one."""

    @property
    def dag_id(self) -> str: ...

    @property
    def fileloc(self) -> str | None: ...


DagT = TypeVar("DagT", bound=NamedDag)


def merge_dags(
    dags: Sequence[DagT],
    source: str,
    known: dict[str, DagT],
    sources: dict[str, str],
    add_error: Callable[[str, str], None],
) -> None:
    """Add the DAGs ``source`` defines to ``known``; a DAG id defined twice is an error of it."""
    seen: dict[str, DagT] = {}
    for dag in dags:
        if dag.dag_id in seen:
            add_error(
                source,
                f"DuplicateDagError: DAG id {dag.dag_id!r} is defined twice in {source}; "
                "give each DAG its own dag_id",
            )
            continue
        seen[dag.dag_id] = dag
    for dag_id, dag in seen.items():
        first = known.get(dag_id)
        if first is None:
            known[dag_id] = dag
            sources[dag_id] = source
        elif _same_definition(first, dag):
            # The same DAG reached twice (one file imports another): keep the one
            # loaded from the file that defines it.
            if dag.fileloc is not None and _same_file(dag.fileloc, source):
                known[dag_id] = dag
                sources[dag_id] = source
        else:
            first_source = sources[dag_id]
            add_error(
                source,
                f"DuplicateDagError: DAG id {dag_id!r} is defined in both {first_source} and "
                f"{source}; give one of them another dag_id (the DAG from {first_source} is kept)",
            )


def _same_definition(a: NamedDag, b: NamedDag) -> bool:
    return a.fileloc is not None and b.fileloc is not None and _same_file(a.fileloc, b.fileloc)


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a == b


def _not_found_message(target: str, dag_id: str, result: LoadResult) -> str:
    known = ", ".join(sorted(result.dags)[:30]) or "none"
    message = f"no DAG {dag_id!r} in {target!r}; the DAGs found there are: {known}"
    if result.errors:
        count = len(result.errors)
        files = f"{count} file{'s' if count > 1 else ''}"
        message += (
            f"; {files} failed to import (it may be in one of them): "
            f"run 'partita dags list {target}' to see the errors"
        )
    return message


# -- error messages --------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportProblem:
    """Why a file or module failed to import, as plain data (it crosses processes).

    ``summary`` is one line (``KeyError: 'x' (line 5)``); ``details`` the
    traceback from the user's code ("" for definition errors); ``filename`` and
    ``lineno`` the user's line it points at (for a cycle: the ``>>`` line).
    """

    summary: str
    details: str = ""
    filename: str | None = None
    lineno: int | None = None
    #: The user's frames, outermost first: (file, line, function, source line).
    frames: tuple[tuple[str, int, str, str], ...] = ()

    @property
    def text(self) -> str:
        """The summary, then the details on the lines after it (``LoadResult.errors``'s form)."""
        return f"{self.summary}\n{self.details}" if self.details else self.summary


def describe_error(exc: BaseException, path: Path | None, timeout: float | None) -> ImportProblem:
    """A one-line summary, then (except for definition errors) the traceback from user code."""
    tb = _user_traceback(exc.__traceback__)
    filename, line = _site_of(exc, tb, path)
    where = f" (line {line})" if line is not None else ""
    if isinstance(exc, ImportTimeout):
        summary = (
            f"ImportTimeout: importing took longer than {timeout:g}s and was stopped{where}; "
            "move slow work (network, large files) out of module level"
        )
    elif isinstance(exc, SyntaxError):
        file = (
            f"{exc.filename}, "
            if exc.filename and (path is None or exc.filename != str(path))
            else ""
        )
        summary = f"SyntaxError: {exc.msg} ({file}line {exc.lineno})"
        filename, line = exc.filename or filename, exc.lineno
    else:
        first = (str(exc).strip().splitlines() or [""])[0]
        summary = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        summary += where
    details = ""
    if not isinstance(exc, DefinitionError):
        details = "".join(traceback.format_exception(type(exc), exc, tb)).rstrip()
    return ImportProblem(summary, details, filename, line, _user_frames(exc, tb, filename, line))


def _user_frames(
    exc: BaseException, tb: TracebackType | None, filename: str | None, line: int | None
) -> tuple[tuple[str, int, str, str], ...]:
    """The frames of ``tb`` in user code (not partita's), or the one line the error points at."""
    package = os.path.dirname(__file__)
    frames = tuple(
        (f.filename, f.lineno or 0, f.name, (f.line or "").strip())
        for f in traceback.extract_tb(tb)
        if not f.filename.startswith(package)
    )
    if isinstance(exc, (DefinitionError, SyntaxError)) or not frames:
        if filename is None or line is None:
            return ()
        return ((filename, line, "", linecache.getline(filename, line).strip()),)
    return frames


def _site_of(
    exc: BaseException, tb: TracebackType | None, path: Path | None
) -> tuple[str | None, int | None]:
    """The user's file and line an error points at: a cycle's ``>>`` line, else the traceback's."""
    site = getattr(exc, "site", None) if isinstance(exc, CycleError) else None
    if site is not None:
        return site[0], site[1]
    line = _line_in(tb, path)
    return (str(path) if line is not None and path is not None else None), line


def _user_traceback(tb: TracebackType | None) -> TracebackType | None:
    """``tb`` without the leading frames of this module and of importlib."""
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not (filename == __file__ or filename.startswith(("<frozen", _IMPORTLIB_DIR))):
            break
        tb = tb.tb_next
    return tb


def _line_in(tb: TracebackType | None, path: Path | None) -> int | None:
    """The line of the innermost frame of ``tb`` that is in ``path``."""
    if path is None:
        return None
    line = None
    wanted = str(path)
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == wanted:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


# -- import environment -----------------------------------------------------------------------
def _make_importable(folders: list[str]) -> None:
    """Put ``folders`` first on ``sys.path`` unless they are on it already.

    They stay there: a task that imports a sibling module when it *runs* (an
    import inside the function) needs the folder as much as the file did.
    """
    sys.path[:0] = [f for f in dict.fromkeys(folders) if f not in sys.path]


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise ``ImportTimeout`` after ``seconds`` (SIGALRM; only in the main thread)."""
    if not seconds or seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise ImportTimeout(f"importing took longer than {seconds:g}s")

    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, on_alarm)
    previous_timer = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if previous_timer[0] > 0:
            remaining = previous_timer[0] - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-3), previous_timer[1])


__all__ = [
    "DEFAULT_IMPORT_TIMEOUT",
    "ImportProblem",
    "ImportTimeout",
    "LoadResult",
    "NamedDag",
    "dag_files",
    "describe_error",
    "extract_dags",
    "extract_definitions",
    "get_dag",
    "is_module_name",
    "load_dags",
    "load_definitions",
    "load_file",
    "load_module",
    "merge_dags",
    "module_name_for",
]
