"""The DAG index: which DAG file defines which DAG, as of each file's size and mtime.

``partita run FOLDER DAG`` uses it to import the one file that defines DAG
instead of the whole folder. It is a cache, kept in ``$PARTITA_HOME/dag_index.json``:
an entry counts only while its file still has the recorded size and mtime,
and an index that is missing or unreadable is simply empty.

The design decision: the index says only where to look, never what a DAG is.
The file it points at is imported again before anything runs, so a stale
entry costs a wrong first guess, not a wrong DAG.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partita.importer import FileResult
from partita.storage.files import write_atomically

INDEX_VERSION = 1


@dataclass(frozen=True)
class IndexEntry:
    """One file as last imported: its size and mtime then, its DAG ids, its import error."""

    mtime_ns: int
    size: int
    dag_ids: tuple[str, ...]
    error: str | None = None

    def matches(self, stat: os.stat_result) -> bool:
        return self.mtime_ns == stat.st_mtime_ns and self.size == stat.st_size


class DagIndex:
    """The entries of one index file; ``load``, ``fresh``/``record``, then ``save``."""

    def __init__(self, path: Path | None, entries: dict[str, IndexEntry] | None = None) -> None:
        self.path = path
        self.entries: dict[str, IndexEntry] = dict(entries or {})
        self._changed = False

    @classmethod
    def load(cls, path: Path | None) -> DagIndex:
        """The index stored at ``path``; empty when there is none or it cannot be read."""
        if path is None:
            return cls(None)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(path, _entries_of(data))
        except (OSError, ValueError, TypeError, KeyError):
            return cls(path)

    def fresh(self, file: Path) -> IndexEntry | None:
        """The entry of ``file`` if the file has not changed since it was recorded."""
        entry = self.entries.get(str(file))
        if entry is None:
            return None
        try:
            return entry if entry.matches(file.stat()) else None
        except OSError:
            return None

    def record(self, file: Path, stat: os.stat_result, result: FileResult) -> None:
        """Remember what importing ``file`` (whose stat before the import was ``stat``) found."""
        summary = result.error.splitlines()[0] if result.error else None
        entry = IndexEntry(stat.st_mtime_ns, stat.st_size, tuple(result.dag_ids), summary)
        if self.entries.get(str(file)) != entry:
            self.entries[str(file)] = entry
            self._changed = True

    def forget_missing(self, folder: Path, present: list[Path]) -> None:
        """Drop the entries of files under ``folder`` that are not among ``present``."""
        keep = {str(p) for p in present}
        prefix = str(folder) + os.sep
        for name in [n for n in self.entries if n.startswith(prefix) and n not in keep]:
            del self.entries[name]
            self._changed = True

    def save(self) -> None:
        """Write the index atomically if it changed; a home that cannot be written is ignored."""
        if self.path is None or not self._changed:
            return
        data = {
            "version": INDEX_VERSION,
            "files": {
                name: {
                    "mtime_ns": e.mtime_ns,
                    "size": e.size,
                    "dag_ids": list(e.dag_ids),
                    "error": e.error,
                }
                for name, e in sorted(self.entries.items())
            },
        }
        try:
            write_atomically(self.path, json.dumps(data, indent=1).encode())
        except OSError:
            return  # a cache: the next command imports the files again
        self._changed = False


def _entries_of(data: Any) -> dict[str, IndexEntry]:
    if data.get("version") != INDEX_VERSION:
        return {}
    return {
        name: IndexEntry(
            int(item["mtime_ns"]),
            int(item["size"]),
            tuple(str(d) for d in item["dag_ids"]),
            None if item.get("error") is None else str(item["error"]),
        )
        for name, item in data["files"].items()
    }


__all__ = ["DagIndex", "IndexEntry"]
