"""What a file, folder or module defines, and where one DAG is, without trusting the DAG files.

``discover`` (``partita dags list``) imports every file in an ``Importer``
child, so a file that hangs or exits costs its deadline and nothing more.
``locate_dag`` (``partita run``, ``dags show``) finds the file that defines
a DAG through the ``DagIndex`` (importing, in the child, only the files that
changed, those naming the DAG first) and then imports that one file in this
process to get the DAG object; failed sibling files become warnings.

The design decision: this process never imports a file the importer has not
imported successfully just before (or per a fresh index entry); a broken or
hanging sibling never stands between ``partita run`` and the DAG it asked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from partita.dag_index import DagIndex
from partita.definitions.dag import DAG
from partita.exceptions import DagLoadError, DagNotFoundError
from partita.importer import DagSummary, FileResult, Importer
from partita.loader import (
    ImportProblem,
    LoadResult,
    dag_files,
    is_module_name,
    load_dags,
    load_file,
    load_module,
    merge_dags,
)


@dataclass
class Discovery:
    """What ``discover`` found: DAG summaries by id, their sources, and the errors by source."""

    dags: dict[str, DagSummary] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    files: list[FileResult] = field(default_factory=list)

    def add_error(self, source: str, message: str) -> None:
        previous = self.errors.get(source)
        self.errors[source] = message if previous is None else f"{previous}\n{message}"

    def add(self, result: FileResult) -> None:
        self.files.append(result)
        if result.error is not None:
            self.add_error(result.source, result.error)
        merge_dags(list(result.dags), result.source, self.dags, self.sources, self.add_error)


@dataclass(frozen=True)
class LocatedDag:
    """The DAG ``locate_dag`` found, the file it came from, and warnings about sibling files."""

    dag: DAG
    source: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Target:
    """A resolved PATH argument: DAG files (with the folder made importable) or a module."""

    files: list[Path]
    folder: Path | None = None
    module: str | None = None


def discover(
    target: str,
    *,
    import_timeout: float,
    index: DagIndex | None = None,
    default_timezone: str | None = None,
) -> Discovery:
    """Import every DAG file of ``target`` (file, folder or module) in an ``Importer`` child.

    Records each file in ``index`` (and saves it). ``default_timezone`` is the
    zone of DAGs that name none (it moves the next runs of their summaries).
    Raises ``DagLoadError`` only when ``target`` does not exist.
    """
    resolved = _resolve(target)
    found = Discovery()
    with Importer(default_timezone=default_timezone) as importer:
        if resolved.module is not None:
            found.add(importer.import_module(resolved.module, import_timeout))
            return found
        for file in resolved.files:
            stat = file.stat()
            result = importer.import_files([file], import_timeout, folder=resolved.folder)[0]
            found.add(result)
            if index is not None:
                index.record(file, stat, result)
    if index is not None:
        if resolved.folder is not None:
            index.forget_missing(resolved.folder, resolved.files)
        index.save()
    return found


def load_checked(
    target: str, *, import_timeout: float, index: DagIndex | None = None
) -> LoadResult:
    """``load_dags(target)``, importing here only the files the importer imported without error.

    For the commands that need every DAG and asset object of ``target`` in this
    process (``partita assets ...``): a file that fails or hangs in the importer
    is an error of the result, and is not imported again here.
    """
    found = discover(target, import_timeout=import_timeout, index=index)
    failed = {r.source: r.error for r in found.files if r.problem is not None and r.error}
    return load_dags(target, import_timeout=import_timeout, known_failures=failed)


def locate_dag(
    target: str, dag_id: str, *, import_timeout: float, index: DagIndex | None = None
) -> LocatedDag:
    """The DAG ``dag_id`` of ``target``, imported in this process from the file that defines it.

    Raises ``DagNotFoundError`` with the import error of the file(s) that
    failed when no file defines it, ``DagLoadError`` when ``target`` does not exist.
    """
    resolved = _resolve(target)
    if resolved.module is not None:
        return _locate_in_module(resolved.module, dag_id, import_timeout)
    index = index if index is not None else DagIndex(None)
    source = _defining_file(resolved.files, index, dag_id)
    if source is None:
        refreshed = _refresh(resolved, index, dag_id, import_timeout)
        source = _defining_file(resolved.files, index, dag_id)
        if source is None:
            raise _not_found(target, dag_id, resolved, index, refreshed)
    loaded = load_file(source, folder=resolved.folder, import_timeout=import_timeout)
    dag = loaded.dags.get(dag_id)
    if dag is None:  # the file changed since the importer read it
        raise _not_found_in(target, dag_id, loaded, str(source))
    warnings = tuple(
        f"{display_path(str(f))} failed to import: {entry.error}"
        for f in resolved.files
        if f != source and (entry := index.fresh(f)) is not None and entry.error is not None
    )
    return LocatedDag(dag, str(source), warnings)


def display_path(source: str) -> str:
    """A path relative to the working directory when it is under it."""
    try:
        relative = os.path.relpath(source)
    except ValueError:
        return source
    return source if relative.startswith("..") else relative


def describe_problem(problem: ImportProblem) -> str:
    """The user's frames of an import error, as indented ``File "...", line N`` lines."""
    lines: list[str] = []
    for filename, lineno, function, code in problem.frames:
        where = f", in {function}" if function else ""
        lines.append(f'  File "{display_path(filename)}", line {lineno}{where}')
        if code:
            lines.append(f"    {code}")
    return "\n".join(lines)


# -- finding the file -------------------------------------------------------------------------
def _resolve(target: str) -> _Target:
    path = Path(target)
    if path.is_dir():
        folder = path.resolve()
        return _Target(dag_files(folder), folder)
    if path.is_file():
        if path.suffix != ".py":
            raise DagLoadError(
                f"{target!r} is not a Python file; give a .py file, a folder or a module"
            )
        return _Target([path.resolve()])
    if is_module_name(target):
        return _Target([], module=target)
    raise DagLoadError(f"no such file, folder or module: {target!r}")


def _defining_file(files: list[Path], index: DagIndex, dag_id: str) -> Path | None:
    """The first of ``files`` whose fresh index entry defines ``dag_id`` without an error."""
    for file in files:
        entry = index.fresh(file)
        if entry is not None and entry.error is None and dag_id in entry.dag_ids:
            return file
    return None


def _refresh(
    resolved: _Target, index: DagIndex, dag_id: str, import_timeout: float
) -> dict[Path, FileResult]:
    """Import (in the child) the files whose entry is stale or failed, those naming DAG first.

    Stops as soon as a file defines ``dag_id``; saves the index; returns what it imported.
    """
    pending = [f for f in resolved.files if (e := index.fresh(f)) is None or e.error is not None]
    naming = [f for f in pending if _mentions(f, dag_id)]
    others = [f for f in pending if f not in naming]
    imported: dict[Path, FileResult] = {}
    try:
        with Importer() as importer:
            for file in naming + others:
                stat = file.stat()
                result = importer.import_files([file], import_timeout, folder=resolved.folder)[0]
                index.record(file, stat, result)
                imported[file] = result
                if result.error is None and dag_id in result.dag_ids:
                    break
    finally:
        index.save()
    return imported


def _mentions(file: Path, dag_id: str) -> bool:
    try:
        return dag_id.encode() in file.read_bytes()
    except OSError:
        return False


def _locate_in_module(name: str, dag_id: str, import_timeout: float) -> LocatedDag:
    with Importer() as importer:
        checked = importer.import_module(name, import_timeout)
    if checked.error is not None and checked.problem is not None:
        raise _one_file_failed(dag_id, name, checked.problem, checked.error)
    if dag_id not in checked.dag_ids:
        known = ", ".join(sorted(checked.dag_ids)[:30]) or "none"
        raise DagNotFoundError(f"no DAG {dag_id!r} in {name!r}; the DAGs found there are: {known}")
    loaded = load_module(name, import_timeout=import_timeout)
    dag = loaded.dags.get(dag_id)
    if dag is None:
        raise _not_found_in(name, dag_id, loaded, name)
    return LocatedDag(dag, name)


# -- not found -----------------------------------------------------------------------------
def _not_found(
    target: str,
    dag_id: str,
    resolved: _Target,
    index: DagIndex,
    imported: dict[Path, FileResult],
) -> DagNotFoundError:
    """Why ``dag_id`` is in no file of ``target``: the import errors, or the DAGs there are."""
    known = sorted(
        {d for f in resolved.files if (e := index.fresh(f)) is not None for d in e.dag_ids}
    )
    failed = [
        (f, e.error)
        for f in resolved.files
        if (e := index.fresh(f)) is not None and e.error is not None
    ]
    if len(failed) == 1:
        file = failed[0][0]
        problem = imported[file].problem if file in imported else None
        return _one_file_failed(dag_id, str(file), problem, failed[0][1] or "")
    message = f"no DAG {dag_id!r} in {target!r}; the DAGs found there are: "
    message += ", ".join(known[:30]) or "none"
    if failed:
        listed = "; ".join(f"{display_path(str(f))}: {error}" for f, error in failed[:10])
        message += f"; {len(failed)} files failed to import (it may be in one of them): {listed}"
    return DagNotFoundError(message)


def _not_found_in(target: str, dag_id: str, loaded: LoadResult, source: str) -> DagNotFoundError:
    problem = loaded.problems.get(source)
    if problem is not None or source in loaded.errors:
        return _one_file_failed(dag_id, source, problem, loaded.errors.get(source, ""))
    known = ", ".join(sorted(loaded.dags)[:30]) or "none"
    return DagNotFoundError(f"no DAG {dag_id!r} in {target!r}; the DAGs found there are: {known}")


def _one_file_failed(
    dag_id: str, source: str, problem: ImportProblem | None, summary: str
) -> DagNotFoundError:
    text = problem.summary if problem is not None else summary.splitlines()[0]
    kind = "module" if is_module_name(source) else "file"
    message = (
        f"DAG {dag_id!r} was not found: {kind} {display_path(source)} failed to import: {text}"
    )
    details = describe_problem(problem) if problem is not None else ""
    return DagNotFoundError(message, details=details)


__all__ = [
    "Discovery",
    "LocatedDag",
    "describe_problem",
    "discover",
    "display_path",
    "load_checked",
    "locate_dag",
]
