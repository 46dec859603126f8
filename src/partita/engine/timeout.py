"""``execution_timeout``: stop a task that runs too long by raising inside it.

In the main thread a real-time interval timer (SIGALRM) raises
``TaskTimeoutError`` even while the task sleeps or waits on a pipe; the
previous handler and timer are restored afterwards. In any other thread a
watchdog thread raises the exception asynchronously in the task's thread,
which stops Python code but cannot interrupt a blocking C call until it
returns (worker-process executors run tasks in their main thread).
"""

from __future__ import annotations

import ctypes
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from partita.exceptions import TaskTimeoutError


def _message(seconds: float) -> str:
    return f"the task ran longer than its execution_timeout of {seconds:g}s and was stopped"


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise ``TaskTimeoutError`` in the current thread after ``seconds`` (None: no limit)."""
    if seconds is None:
        yield
        return
    if threading.current_thread() is threading.main_thread():
        with _alarm(seconds):
            yield
    else:
        with _watchdog(seconds):
            yield


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise TaskTimeoutError(_message(seconds))

    previous = signal.signal(signal.SIGALRM, on_alarm)
    started = time.monotonic()
    previous_timer = signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-6))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if previous_timer[0] > 0:  # an outer timer keeps its deadline
            remaining = previous_timer[0] - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-6), previous_timer[1])


@contextmanager
def _watchdog(seconds: float) -> Iterator[None]:
    target = threading.get_ident()
    done = threading.Event()

    def fire() -> None:
        if not done.wait(seconds):
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(target), ctypes.py_object(TaskTimeoutError)
            )

    watcher = threading.Thread(target=fire, name="partita-timeout", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


__all__ = ["time_limit"]
