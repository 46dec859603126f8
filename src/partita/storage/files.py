"""Writing a stored value's file atomically: a temporary file in the same folder, then a rename.

A reader sees the old file or the whole new one, never a part. There is no
fsync: the metadata database runs SQLite in WAL mode with synchronous=NORMAL,
which survives a crash or kill of the process but not a power loss, and the
value files match it (the page cache survives a process crash too).

A writer killed between the two steps leaves its temporary file behind. Its
name says whose it is (``.<name>~<host>~<pid>~<random>.tmp``), so whoever
records that process's run as dead removes them (``remove_temp_files``).
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def temp_marker(hostname: str, pid: int) -> str:
    """The part of a temporary file's name that names the process writing it."""
    return f"~{hostname}~{pid}~"


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that it appears whole or not at all; raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}{temp_marker(socket.gethostname(), os.getpid())}"
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def remove_temp_files(folder: Path, hostname: str, pid: int, written_before: datetime) -> int:
    """Remove the temporary files process ``pid`` of ``hostname`` left under ``folder``.

    Only files last written before ``written_before`` go (a live process that got
    the same pid later keeps its own); returns how many were removed.
    """
    removed = 0
    limit = written_before.timestamp()
    for path in _temp_files(folder, temp_marker(hostname, pid)):
        try:
            if path.stat().st_mtime <= limit:
                path.unlink()
                removed += 1
        except OSError:  # gone already, or not ours to remove
            continue
    return removed


def _temp_files(folder: Path, marker: str) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for root, _, names in os.walk(folder):
        for name in names:
            if name.endswith(TEMP_SUFFIX) and marker in name:
                yield Path(root, name)


__all__ = ["remove_temp_files", "temp_marker", "write_atomically"]
