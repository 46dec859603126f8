"""Stopping a run that an operator cancelled: the request, and interrupting the running task.

``partita runs cancel`` records a request on the run (``Storage.request_cancel``);
the run's owner reads it at its heartbeat (``RunRecorder``, every few
seconds) and the driver stops: it submits nothing more, its executor sends
SIGTERM to the running task's subprocesses or else interrupts the task
(``TaskInterrupter``), SIGKILL and another interrupt after the grace
period, and the unfinished task instances and the run are recorded
``cancelled``.

The design decision: the running task is interrupted the way
``execution_timeout`` interrupts it (``engine.timeout``): in the main thread
a signal whose handler raises, which also breaks a ``time.sleep`` or a
blocking read; in another thread an asynchronous exception. The exception,
``RunCancelled``, derives from ``BaseException`` like ``KeyboardInterrupt``,
so user code's ``except Exception`` does not swallow it and the task runner
lets it through instead of recording a failure. The interrupter raises only
while a task runs (``armed``); between tasks the driver sees the request itself.
"""

from __future__ import annotations

import ctypes
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import FrameType
from typing import Any

#: The signal that interrupts a task in the main thread (its handler is ours only during a run).
INTERRUPT_SIGNAL = signal.SIGUSR1


class RunCancelled(BaseException):
    """The run was cancelled by an operator; raised inside the running task and the driver."""


@dataclass(frozen=True, slots=True)
class CancelRequest:
    """An operator's request to cancel a run: when, and the grace between SIGTERM and SIGKILL."""

    requested_at: datetime
    grace: float

    def message(self) -> str:
        return f"cancelled by an operator at {self.requested_at.isoformat()}"


class TaskInterrupter:
    """Raises ``RunCancelled`` in the thread that made it, while a task runs there.

    Make it in the thread that runs the tasks; ``installed()`` there for as
    long as tasks run; ``armed()`` around each task; ``interrupt()`` from any
    thread.
    """

    def __init__(self) -> None:
        self._ident = threading.get_ident()
        self._main = threading.current_thread() is threading.main_thread()
        self._lock = threading.Lock()
        self._armed = False
        self._reason: str | None = None

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Own ``INTERRUPT_SIGNAL`` in the main thread for the block (no-op in other threads).

        Several interrupters may be installed at once (a scheduler drives many
        runs in its main thread, one in-process executor each) and leave in any
        order: one handler serves them all, and the previous one comes back
        when the last leaves.
        """
        if not self._main:
            yield
            return
        global _previous_handler
        if not _installed:
            _previous_handler = signal.signal(INTERRUPT_SIGNAL, _dispatch)
        _installed.append(self)
        try:
            yield
        finally:
            _installed.remove(self)
            if not _installed:
                signal.signal(INTERRUPT_SIGNAL, _previous_handler)
                _previous_handler = None

    def arm(self) -> None:
        """Before one task: an interrupt now raises inside it (at once, if one came before)."""
        with self._lock:
            if self._reason is not None:
                raise RunCancelled(self._reason)
            self._armed = True

    def disarm(self) -> None:
        """After the task (whatever happened): interrupts no longer raise."""
        with self._lock:
            self._armed = False

    @contextmanager
    def armed(self) -> Iterator[None]:
        """Around one task: ``arm()`` before, ``disarm()`` after."""
        self.arm()
        try:
            yield
        finally:
            self.disarm()

    @property
    def ident(self) -> int:
        """The thread the tasks run in."""
        return self._ident

    def while_armed(self, action: Callable[[], int]) -> int | None:
        """``action()`` while this interrupter's task runs, kept running meanwhile; else None.

        Several interrupters share one thread in a scheduler (one per run): what
        the thread started belongs to this one's run only while it is armed.
        """
        with self._lock:
            if not self._armed:
                return None
            return action()

    @property
    def interrupted(self) -> bool:
        return self._reason is not None

    def interrupt(self, reason: str) -> None:
        """Raise ``RunCancelled(reason)`` in the task running now, if one is."""
        with self._lock:
            self._reason = reason
            if not self._armed:
                return
            if self._main:
                signal.pthread_kill(self._ident, INTERRUPT_SIGNAL)
            else:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(self._ident), ctypes.py_object(RunCancelled)
                )

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._armed and self._reason is not None:
            raise RunCancelled(self._reason)


#: The interrupters installed in the main thread; ``_dispatch`` serves them all.
_installed: list[TaskInterrupter] = []
_previous_handler: Any = None


def _dispatch(signum: int, frame: FrameType | None) -> None:
    # Tasks run one at a time in the main thread: at most one interrupter is armed.
    for interrupter in list(_installed):
        interrupter._on_signal(signum, frame)


__all__ = ["INTERRUPT_SIGNAL", "CancelRequest", "RunCancelled", "TaskInterrupter"]
