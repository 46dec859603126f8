"""``FolderWatch``: tells whether anything changed in a DAG folder without stat-ing every file.

Finding a changed DAG file by polling costs one ``stat`` per file per look:
with 1,000 DAG files looked at every two seconds that alone is most of an
idle scheduler's CPU. On Linux the kernel tells us instead (inotify, through
``inotify_simple``): a look is one non-blocking read of the watch's file
descriptor, whatever the number of files.

The design decision: a watch only says "something changed in this folder";
the caller then takes its usual snapshot (mtime and size of each file) and
decides what to re-load, so inotify is an optimisation, never the source of
truth. Where inotify is missing or refuses (another OS, the watch limit),
``changed()`` always answers True and the caller polls as before; a full
look every ``rescan_interval`` seconds catches what inotify cannot see
(files changed on another host of a network file system).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Any

logger = logging.getLogger("partita.scheduler")

#: Seconds between full looks at a watched folder, whatever inotify says.
DEFAULT_RESCAN_INTERVAL = 60.0


def walked_folders(folder: str) -> list[str]:
    """``folder`` and the sub-folders DAG files are loaded from (as ``loader.dag_files`` walks)."""
    found = []
    for current, dirs, _files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(("_", "."))]
        found.append(current)
    return found


class FolderWatch:
    """Change notices for one folder tree; ``changed()`` is True when a look is needed."""

    def __init__(self, folder: str, rescan_interval: float = DEFAULT_RESCAN_INTERVAL) -> None:
        self.folder = folder
        self.rescan_interval = rescan_interval
        self._inotify: Any = None
        self._mask = 0
        self._next_rescan = 0.0
        try:
            import inotify_simple
        except (ImportError, OSError):  # not Linux, or no libc inotify
            return
        flags = inotify_simple.flags
        self._mask = (
            flags.CREATE | flags.DELETE | flags.MODIFY | flags.CLOSE_WRITE | flags.ATTRIB
            | flags.MOVED_FROM | flags.MOVED_TO | flags.DELETE_SELF | flags.MOVE_SELF
        )  # fmt: skip
        try:
            self._inotify = inotify_simple.INotify()
        except OSError as exc:
            logger.info("no inotify for %s (%s): its files are polled", folder, exc)

    @property
    def active(self) -> bool:
        """True when the kernel reports changes (False: every look is a full look)."""
        return self._inotify is not None

    def changed(self) -> bool:
        """True if something may have changed since the last call (always True without inotify)."""
        if self._inotify is None:
            return True
        events = self._inotify.read(timeout=0)
        now = time.monotonic()
        if events or now >= self._next_rescan:
            self._next_rescan = now + self.rescan_interval
            self._watch_folders()  # a new sub-folder is watched before it is looked at
            return True
        return False

    def _watch_folders(self) -> None:
        # watching a folder again is a no-op in the kernel: no bookkeeping of what is watched
        for folder in walked_folders(self.folder):
            try:
                self._inotify.add_watch(folder, self._mask)
            except FileNotFoundError:
                continue  # it went away while we walked: its parent's event says so
            except OSError as exc:  # the watch limit
                logger.info("cannot watch %s (%s): its files are polled", folder, exc)
                self.close()
                return

    def close(self) -> None:
        if self._inotify is not None:
            with contextlib.suppress(OSError):
                self._inotify.close()
            self._inotify = None


__all__ = ["DEFAULT_RESCAN_INTERVAL", "FolderWatch", "walked_folders"]
