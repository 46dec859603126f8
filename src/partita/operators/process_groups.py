"""Keeping a task's subprocesses from outliving partita, even after ``kill -9``.

A command runs in its own process group (``start_new_session=True``). Two
things stop the group when partita dies without a chance to clean up:

* ``die_with_parent`` (``preexec_fn``, Linux): the kernel sends SIGKILL to
  the direct child when the thread that started it dies
  (``prctl(PR_SET_PDEATHSIG)``). It reaches only that child, not what the
  child started.
* ``GroupReaper``: one small helper process per partita process, started on
  first use in a session of its own. partita tells it, through a pipe, which
  process groups are live; when the pipe closes (partita exited or was
  killed), it sends SIGKILL to every group still listed, then exits.

The design decision: the reaper reads only its stdin, needs nothing but the
standard library (it runs with ``python -I -S``), and the pipe's write end is
never inherited by other children (Python's pipes are close-on-exec), so the
pipe closes exactly when partita's process is gone.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO

_PR_SET_PDEATHSIG = 1
_SIGKILL = 9

_REAPER_CODE = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
groups = set()
for line in sys.stdin:
    line = line.strip()
    if line[:1] == "+":
        groups.add(int(line[1:]))
    elif line[:1] == "-":
        groups.discard(int(line[1:]))
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
"""


def _load_prctl() -> Callable[[int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    prctl: Callable[[int, int], int] = libc.prctl
    return prctl


_prctl = _load_prctl()


def _set_parent_death_signal() -> None:
    # Runs in the child between fork and exec: one C call, nothing that takes a lock.
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, _SIGKILL)


#: The ``preexec_fn`` that makes a child die with the thread that started it (None off Linux).
die_with_parent: Callable[[], None] | None = _set_parent_death_signal if _prctl else None


class GroupReaper:
    """Kills the listed process groups when this process dies; one helper process per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._helper: subprocess.Popen[str] | None = None
        self._owner = 0
        #: Live groups of this process -> the thread that started each (``signal_groups``).
        self._live: dict[int, int] = {}

    def watch(self, pgid: int) -> None:
        """List ``pgid``: it is killed if this process dies before ``forget(pgid)``."""
        self._live[pgid] = threading.get_ident()
        self._send(f"+{pgid}\n")

    def child_setup(self) -> Callable[[], None] | None:
        """A ``preexec_fn`` that lists the child's new group with the helper from the child itself.

        It runs in the child after ``setsid`` and before ``exec``, so the group is
        listed before the command can start anything: a kill of this process
        right after the child started still takes the whole group down. It also
        sets the parent-death signal (Linux). Writing a short line to a pipe is
        one atomic system call, safe between fork and exec.
        """
        with self._lock:
            pipe = self._pipe()
            fd = pipe.fileno() if pipe is not None else -1
        if fd < 0:
            return die_with_parent

        def setup() -> None:
            _set_parent_death_signal()
            os.write(fd, b"+%d\n" % os.getpid())

        return setup

    def forget(self, pgid: int) -> None:
        """Take ``pgid`` off the list (the group has ended or was killed)."""
        self._live.pop(pgid, None)
        self._send(f"-{pgid}\n")

    def signal_groups(self, signum: int, thread: int | None = None) -> int:
        """Send ``signum`` to the live groups (those ``thread`` started, if given); how many."""
        sent = 0
        for pgid, starter in list(self._live.items()):
            if thread is not None and starter != thread:
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signum)
                sent += 1
        return sent

    @property
    def helper_pid(self) -> int | None:
        """The helper's pid, once started (for tests)."""
        return self._helper.pid if self._helper is not None else None

    def _send(self, line: str) -> None:
        with self._lock:
            pipe = self._pipe()
            if pipe is None:
                return
            try:
                pipe.write(line)
                pipe.flush()
            except OSError:  # the helper is gone: start another next time
                self._helper = None

    def _pipe(self) -> IO[str] | None:
        if self._helper is None or self._owner != os.getpid() or self._helper.poll() is not None:
            self._helper, self._owner = None, os.getpid()  # a forked child starts its own
            with contextlib.suppress(OSError):
                self._helper = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", _REAPER_CODE],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    text=True,
                    start_new_session=True,
                )
                atexit.register(self.close)
        return self._helper.stdin if self._helper is not None else None

    def close(self) -> None:
        """Close the pipe (the helper kills what is still listed) and wait for the helper."""
        with self._lock:
            helper, self._helper = self._helper, None
            if helper is None or self._owner != os.getpid():
                return
            with contextlib.suppress(OSError):
                if helper.stdin is not None:
                    helper.stdin.close()
            helper.wait()


#: This process's reaper.
reaper = GroupReaper()


__all__ = ["GroupReaper", "die_with_parent", "reaper"]
