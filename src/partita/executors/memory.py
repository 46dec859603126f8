"""``release_memory``: give the memory a finished run used back to the system.

A long-lived process (the scheduler, a worker) that ran a big run keeps the
heap it grew: CPython frees an arena only when it is empty, and glibc keeps
freed heap pages for the next ``malloc``. After a 10,000-task run that is
tens of MiB per process, held while the process idles.

The design decision: when a process has no run left (the scheduler drives
none, a worker holds none), it collects garbage and asks glibc to return
its free pages (``malloc_trim``). Never on the hot path: once per going
idle. Elsewhere than glibc it only collects.
"""

from __future__ import annotations

import gc
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
    """Collect garbage, then hand free heap pages back to the system where glibc can."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


__all__ = ["release_memory"]
