"""``wake_schedulers``: the one call everything that queues a run makes afterwards.

A scheduler of ``$PARTITA_HOME`` sleeps on a Unix datagram socket under
``$PARTITA_HOME/wake/`` (``partita.scheduler.wakeup.WakeSocket``); one empty
datagram to it starts a pass at once. ``partita trigger``, the control
commands (retry, clear, mark, cancel), the REST API and the UI's forms, and
``TriggerDagRunOperator`` (from a worker) all call ``wake_schedulers`` once
their change is committed.

The design decision: this module sits below every layer (the engine calls it
for ``TriggerDagRunOperator``) and knows nothing but the socket folder; a
call is best effort, and a scheduler it does not reach (another host) finds
the change at its next poll.
"""

from __future__ import annotations

import contextlib
import errno
import socket
from pathlib import Path

WAKE_DIR = "wake"


def wake_dir(home: Path) -> Path:
    """The folder holding the wake-up sockets of the schedulers of ``home``."""
    return home / WAKE_DIR


def wake_schedulers(home: Path) -> int:
    """Send a wake-up call to every scheduler of ``home`` on this host; return how many got it."""
    folder = wake_dir(home)
    try:
        paths = list(folder.glob("*.sock"))
    except OSError:
        return 0
    woken = 0
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for path in paths:
            try:
                sock.sendto(b"", str(path))
                woken += 1
            except BlockingIOError:
                woken += 1  # its queue is full of calls already: it is awake
            except OSError as exc:
                if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
                    with contextlib.suppress(OSError):
                        path.unlink()  # its scheduler died
    return woken


def wake_schedulers_of_settings() -> int:
    """``wake_schedulers`` for the home the settings name (for code without settings at hand)."""
    from partita.settings import load_settings

    try:
        home = load_settings().home
    except Exception:  # a broken partita.yaml: the change is made, the scheduler polls
        return 0
    return wake_schedulers(home)


__all__ = ["WAKE_DIR", "wake_dir", "wake_schedulers", "wake_schedulers_of_settings"]
