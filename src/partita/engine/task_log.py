"""A running task's log: lines buffered per try, streamed to the log store while it runs.

The design decision: each try of a task instance writes into its own
``TaskLog``, a short buffer that is emptied into the store (one
``WriteBatch`` of ``log_lines``) when it holds ``flush_chars`` characters,
by the thread that wrote the line, and when its oldest line is
``flush_interval`` seconds old, by the run's one ``LiveLogs`` flusher
thread; what is left when the try ends travels in the task's outcome and is
written in the same batch as its end state. So a reader (``partita logs
--follow``, another process) sees a running task's lines within about a
second, memory holds at most a buffer per running task, and a task that logs
nothing costs one small object: no lock, no thread, no write.

A try's lines are numbered (``seq``) from 0 as they are written; a line
longer than ``MAX_LINE_CHARS`` is stored as several pieces, one per number.
A rescheduled try (a sensor's next poke) goes on numbering after the lines
its earlier runs wrote (``continue_at``), so one try stays one log.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from partita.masking import MASKER
from partita.storage.base import Storage
from partita.storage.records import LogLineRecord, WriteBatch

#: The longest line stored as one row; longer ones are split into pieces of this size.
MAX_LINE_CHARS = 64 * 1024
#: A task's buffer is written out when it holds this many characters...
FLUSH_CHARS = 1024 * 1024
#: ...or when its oldest line is this many seconds old.
FLUSH_INTERVAL = 0.5
#: The widest level name stored (the column's width).
MAX_LEVEL_CHARS = 32


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a task instance's log."""

    timestamp: datetime
    level: str
    message: str


class LogSink(Protocol):
    """Where the lines of a running task go: a ``TaskLog``, or a plain list in tests."""

    def append(self, line: LogLine, /) -> None: ...


class TaskLog:
    """The log of one try of one task instance; ``append`` is safe from any thread."""

    __slots__ = (
        "_live",
        "_lock",
        "_oldest",
        "_pending",
        "_pending_chars",
        "closed",
        "key",
        "next_seq",
    )

    def __init__(
        self, run_id: str, task_id: str, map_index: int, try_number: int, live: LiveLogs | None
    ) -> None:
        # Only what a task that logs nothing needs; the rest is set with the first line.
        self.key = (run_id, task_id, map_index, try_number)
        self._live = live
        self._lock: threading.Lock | None = None
        #: The seq of the first line not yet written to the store.
        self.next_seq = 0

    def continue_at(self, seq: int) -> None:
        """Number the lines from ``seq`` (the try's earlier runs wrote those before it)."""
        self.next_seq = seq

    def append(self, line: LogLine, /) -> None:
        """Add a line (split into pieces if very long); write the buffer out when it is full.

        Secrets registered in this process are masked first (``partita.masking``).
        """
        if MASKER.pattern is not None:
            line = LogLine(line.timestamp, line.level, MASKER.mask(line.message))
        if len(line.message) > MAX_LINE_CHARS or len(line.level) > MAX_LEVEL_CHARS:
            for piece in _pieces(line):
                self.append(piece)
            return
        lock = self._lock
        if lock is None:  # the first line: from now on the buffer is shared with the flusher
            self._pending: list[LogLine] = []
            self._pending_chars = 0
            self._oldest = 0.0
            self.closed = False
            lock = self._lock = threading.Lock()
            if self._live is not None:
                self._live.watch(self)
        with lock:
            if not self._pending:
                self._oldest = time.monotonic()
            self._pending.append(line)
            self._pending_chars += len(line.message) + 40
            full = self._pending_chars >= FLUSH_CHARS
        if full and self._live is not None:
            self._live.flush_full(self)

    def flush(self) -> None:
        """Write the buffered lines to the store now (nothing to do when there are none)."""
        lock, live = self._lock, self._live
        if lock is None or live is None:
            return
        with lock:  # held while writing, so that lines reach the store in seq order
            if self.closed or not self._pending:
                return
            records = log_line_records(*self.key, self.next_seq, self._pending)
            live.write(records)  # raises: the lines stay buffered, to be written later
            self.next_seq += len(records)
            self._pending = []
            self._pending_chars = 0

    def due(self, now: float, interval: float) -> bool:
        """True when the oldest buffered line has waited ``interval`` seconds."""
        return bool(self._pending) and now - self._oldest >= interval

    def take_rest(self) -> tuple[int, list[LogLine]]:
        """Close the log: the seq of the first line not written, and the lines not written."""
        lock = self._lock
        if lock is None:  # nothing was logged (and nothing will be streamed: no lock)
            return self.next_seq, []
        with lock:
            self.closed = True
            rest, self._pending = self._pending, []
            if self._live is not None:
                self._live.forget(self)
            return self.next_seq, rest


def _pieces(line: LogLine) -> list[LogLine]:
    level = line.level[:MAX_LEVEL_CHARS]
    text = line.message
    size = MAX_LINE_CHARS
    return [LogLine(line.timestamp, level, text[i : i + size]) for i in range(0, len(text), size)]


def log_line_records(
    run_id: str,
    task_id: str,
    map_index: int,
    try_number: int,
    first_seq: int,
    lines: list[LogLine],
) -> list[LogLineRecord]:
    """``lines`` as the records of that try, numbered from ``first_seq``."""
    return [
        LogLineRecord(
            run_id, task_id, map_index, try_number, first_seq + offset, line.timestamp,
            line.level, line.message,
        )
        for offset, line in enumerate(lines)
    ]  # fmt: skip


class LiveLogs:
    """Streams the logs of one run's running tasks to ``storage``; one flusher thread at most.

    The thread starts with the first line logged, and only for a persistent
    store that may be written from another thread (``Storage.threadsafe``;
    nobody else reads the memory store while a run goes on); otherwise the
    buffers are written when full, by the thread that filled them, if it is
    the one that made this object, and at the end of the try.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        flush_interval: float = FLUSH_INTERVAL,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.storage = storage
        self.flush_interval = flush_interval
        self._owner = threading.get_ident()
        self._watched: set[TaskLog] = set()
        #: A thread flushes by age only for a store read from elsewhere, and written safely.
        self._background = storage.persistent and storage.threadsafe
        self._guard = threading.Lock()
        self._stop = threading.Event()
        #: Set while logs are watched: with none, the flusher sleeps on it (no timer).
        self._wanted = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_error = on_error or _warn

    def open(self, run_id: str, task_id: str, map_index: int, try_number: int) -> TaskLog:
        """The log of one try, streamed by this object."""
        return TaskLog(run_id, task_id, map_index, try_number, self)

    def write(self, records: list[LogLineRecord]) -> None:
        self.storage.write(WriteBatch(log_lines=records))

    def watch(self, log: TaskLog) -> None:
        if not self._background:
            return
        with self._guard:
            self._watched.add(log)
            if not self._wanted.is_set():
                self._wanted.set()
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._flush_loop, name="partita-log-flusher", daemon=True
                )
                self._thread.start()

    def forget(self, log: TaskLog) -> None:
        with self._guard:
            self._watched.discard(log)

    def flush_full(self, log: TaskLog) -> None:
        if self.storage.threadsafe or threading.get_ident() == self._owner:
            self._flush(log)

    def stop(self) -> None:
        """Stop the flusher thread (the lines still buffered stay with their task's outcome)."""
        self._stop.set()
        self._wanted.set()
        thread = self._thread
        if thread is not None:
            thread.join()

    def _flush_loop(self) -> None:
        interval = self.flush_interval
        while not self._stop.is_set():
            with self._guard:
                if not self._watched:
                    self._wanted.clear()
            if self._stop.is_set():  # set before ``stop`` sets ``_wanted``: never missed
                return
            self._wanted.wait()  # returns at once while logs are watched
            if self._stop.wait(interval / 2):
                return
            now = time.monotonic()
            with self._guard:
                due = [log for log in self._watched if log.due(now, interval)]
            for log in due:
                self._flush(log)

    def _flush(self, log: TaskLog) -> None:
        try:
            log.flush()
        except Exception as exc:  # the store is down: the lines wait for the next flush
            self._on_error(exc)


def _warn(exc: BaseException) -> None:
    # sys.stdout and sys.stderr may be a task's captured streams: write to the real one.
    stream = sys.__stderr__
    if stream is not None:
        print(f"partita: could not write task log lines yet ({exc}); will retry", file=stream)


__all__ = [
    "FLUSH_CHARS",
    "FLUSH_INTERVAL",
    "MAX_LINE_CHARS",
    "LiveLogs",
    "LogLine",
    "LogSink",
    "TaskLog",
    "log_line_records",
]
