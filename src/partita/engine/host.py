"""The name of this host as partita records it on runs and task instances.

The design decision: one constant, read once per process, in a module that
imports nothing, so the CLI's orphan check (which compares it with recorded
runs) does not load the task runner to learn it.
"""

from __future__ import annotations

import socket

HOSTNAME = socket.gethostname()

__all__ = ["HOSTNAME"]
