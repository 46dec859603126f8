"""Wake-up calls for the schedulers of one ``$PARTITA_HOME``: an idle scheduler sleeps until one.

An idle scheduler does not poll the database for new queued runs many times
a second: it sleeps until its next due DAG, its ``poll_interval``, or a
wake-up call, whichever comes first. ``partita trigger`` (and the control
commands that put a run back in the queue) call ``wake_schedulers(home)``
after their change is committed, so the run starts within milliseconds.

The design decision: each scheduler binds a Unix datagram socket of its own
under ``$PARTITA_HOME/wake/`` (so several schedulers on one host each get the
call); a call is one empty datagram to each, best effort. A socket whose
scheduler died is removed by the next caller. Schedulers on other hosts
(PostgreSQL) are not reached and pick the change up at their next poll.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import socket
from pathlib import Path

logger = logging.getLogger("partita.scheduler")

WAKE_DIR = "wake"
#: The longest path a Unix socket address can have on Linux.
_MAX_ADDRESS = 107


def _wake_dir(home: Path) -> Path:
    return home / WAKE_DIR


class WakeSocket:
    """The socket one scheduler is woken through; ``None`` paths mean wake-ups are off."""

    def __init__(self, home: Path) -> None:
        self.path: Path | None = _wake_dir(home) / f"{os.getpid()}.sock"
        self._socket: socket.socket | None = None
        if len(str(self.path)) > _MAX_ADDRESS:
            logger.info("wake-ups off: the socket path %s is too long; polling instead", self.path)
            self.path = None
            return
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()  # left by a dead process with our pid
            sock.bind(str(self.path))
        except OSError as exc:
            sock.close()
            logger.info("wake-ups off (%s); polling instead", exc)
            self.path = None
            return
        sock.setblocking(False)
        self._socket = sock

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds or until a call; True if called (calls drained)."""
        if self._socket is None:
            select.select([], [], [], max(timeout, 0.0))
            return False
        readable, _, _ = select.select([self._socket], [], [], max(timeout, 0.0))
        return bool(readable) and self.drain()

    def drain(self) -> bool:
        """Take every pending call without waiting; True if there was one."""
        called = False
        while self._socket is not None:
            try:
                self._socket.recv(16)
            except (BlockingIOError, InterruptedError):
                break
            called = True
        return called

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()

    def __enter__(self) -> WakeSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wake_schedulers(home: Path) -> int:
    """Send a wake-up call to every scheduler of ``home`` on this host; return how many got it."""
    folder = _wake_dir(home)
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


__all__ = ["WakeSocket", "wake_schedulers"]
