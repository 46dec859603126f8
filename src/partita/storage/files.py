"""Writing a stored value's file atomically: a temporary file in the same folder, then a rename.

A reader sees the old file or the whole new one, never a part. There is no
fsync: the metadata database runs SQLite in WAL mode with synchronous=NORMAL,
which survives a crash or kill of the process but not a power loss, and the
value files match it (the page cache survives a process crash too).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that it appears whole or not at all; raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


__all__ = ["write_atomically"]
