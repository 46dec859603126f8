"""``release_memory``: give the memory a finished run used back to the system.

A long-lived process (the scheduler, a worker) that ran a big run keeps the
heap it grew: glibc keeps freed heap pages for the next ``malloc``. After a
10,000-task run that is tens of MiB per process, held while the process idles.

The design decision: when a process has no run left (the scheduler drives
none, a worker holds none), a short-lived thread asks glibc to return its
free pages (``malloc_trim``). ctypes releases the GIL for the call, so the
process goes on (a run triggered meanwhile starts at once); no garbage
collection is forced (it would hold the GIL). Never on the hot path: once per
going idle. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes  # only once a process goes idle

    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim  # the process's own libc
    except (OSError, AttributeError):  # not glibc
        return None
    return trim


def release_memory() -> None:
    """Hand free heap pages back to the system, from a thread of its own, where glibc can."""
    trim = _malloc_trim()
    if trim is not None:
        threading.Thread(target=trim, args=(0,), name="partita-trim", daemon=True).start()


__all__ = ["release_memory"]
