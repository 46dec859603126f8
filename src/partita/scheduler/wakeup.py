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
import logging
import os
import select
import socket
from pathlib import Path

from partita.wakeups import WAKE_DIR, wake_dir, wake_schedulers

logger = logging.getLogger("partita.scheduler")

#: The longest path a Unix socket address can have on Linux.
_MAX_ADDRESS = 107


class WakeSocket:
    """The socket one scheduler is woken through; ``None`` paths mean wake-ups are off."""

    def __init__(self, home: Path) -> None:
        self.path: Path | None = wake_dir(home) / f"{os.getpid()}.sock"
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


__all__ = ["WAKE_DIR", "WakeSocket", "wake_schedulers"]
