"""The name of this host as partita records it on runs and task instances, and a pid check.

The design decision: one constant, read once per process, in a module that
imports nothing, so the CLI's orphan check (which compares it with recorded
runs) does not load the task runner to learn it.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

HOSTNAME = socket.gethostname()


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists on this host and is not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's process
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): the signal check is all there is
    # The state letter follows the command name, which is in parentheses.
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


__all__ = ["HOSTNAME", "pid_alive"]
