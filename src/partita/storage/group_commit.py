"""Writers that make batches durable: in the caller's thread, helped by a thread of their own.

The design decision: a producer that is busy never waits for a thread, and
one that is stuck in something long (a task) still gets its records
committed. ``GroupCommitWriter.submit`` snapshots a batch in the caller's
thread (``Storage.prepare``) and queues it; ``push`` commits everything
queued, in one transaction, in the caller's thread, unless a commit is
already on; ``wait(seq)`` returns once batch ``seq`` is committed (committing
it itself when the thread is idle). Every ``interval`` seconds the writer's
thread calls ``collect`` (the producer hands over what it has pending if it
has been still for a while), commits that and whatever has sat in the queue
since its previous look, and every ``heartbeat_interval`` seconds calls
``beat`` (the run owner's heartbeat). ``ImmediateWriter`` writes in the
caller's thread and has no thread: the memory store, where nothing outlives
the process anyway.

A failed commit keeps its batches queued: the error is raised to whoever
waits next (or closes), and the batches are tried again with the next ones;
an interrupt (``KeyboardInterrupt``) during a commit goes on at once.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from partita.storage.base import Storage
from partita.storage.records import WriteBatch

#: Seconds between two heartbeats of a run's owner.
HEARTBEAT_INTERVAL = 5.0
#: Seconds between two looks of the thread at what its producer has pending.
COMMIT_INTERVAL = 0.025


class BatchWriter(Protocol):
    """Takes batches and makes them durable; ``wait(seq)`` blocks until batch ``seq`` is."""

    #: True when ``wait`` means "on disk" (a persistent store).
    durable: bool

    def submit(self, batch: WriteBatch) -> int: ...

    def push(self) -> None: ...

    def wait(self, seq: int) -> None: ...

    def close(self) -> None: ...


class ImmediateWriter:
    """Writes each batch at once, in the caller's thread."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.durable = storage.persistent
        self._seq = 0

    def submit(self, batch: WriteBatch) -> int:
        self.storage.write(batch)
        self._seq += 1
        return self._seq

    def push(self) -> None:
        """Nothing is queued: ``submit`` wrote the batch."""

    def wait(self, seq: int) -> None:
        """Nothing to wait for: ``submit`` wrote the batch."""

    def close(self) -> None:
        """Nothing is pending."""


class GroupCommitWriter:
    """Commits queued batches in a thread of its own, all queued ones in one transaction."""

    durable = True

    def __init__(
        self,
        storage: Storage,
        *,
        collect: Callable[[], None] | None = None,
        beat: Callable[[], object] | None = None,
        interval: float = COMMIT_INTERVAL,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
    ) -> None:
        self.storage = storage
        self.collect = collect
        self.beat = beat
        self.interval = interval
        self.heartbeat_interval = heartbeat_interval
        self._cond = threading.Condition()
        #: Held by whoever commits (the thread, or a waiting producer), so commits keep order.
        self._commit_lock = threading.Lock()
        self._queue: list[Any] = []
        self._submitted = 0
        self._committed = 0
        self._waiting = False
        self._closing = False
        self._error: BaseException | None = None
        self._failed_at = -1
        #: The last sequence number queued when the thread last looked.
        self._seen = 0
        self._last_beat = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="partita-writer", daemon=True)
        self._thread.start()

    # -- the producer's side ------------------------------------------------------------
    def submit(self, batch: WriteBatch) -> int:
        """Queue a snapshot of ``batch``; returns its sequence number.

        Raises (queueing nothing) when the store cannot hold one of its values.
        """
        prepared = self.storage.prepare(batch)
        with self._cond:
            self._queue.append(prepared)
            self._submitted += 1
            if self._error is not None or self._waiting:
                self._cond.notify_all()
            return self._submitted

    def push(self) -> None:
        """Commit what is queued now, in the caller's thread, unless a commit is already on.

        A failed commit stays queued and is raised by ``wait`` and ``close``; an
        interrupt (``KeyboardInterrupt``) goes on at once.
        """
        if self._commit_lock.acquire(blocking=False):
            try:
                self._commit_queued()
            finally:
                self._commit_lock.release()

    def wait(self, seq: int) -> None:
        """Block until batch ``seq`` is committed; raises the writer's error if it cannot be.

        When the thread is not committing, the caller commits what is queued itself
        (saving a hand-over between threads); otherwise it waits for the thread.
        """
        while True:
            with self._cond:
                if self._committed >= seq:
                    self._waiting = False
                    return
                if self._error is not None and self._failed_at >= self._submitted:
                    raise self._error
            if self._commit_lock.acquire(blocking=False):
                try:
                    self._commit_queued()
                finally:
                    self._commit_lock.release()
                continue
            with self._cond:
                if self._committed < seq:
                    self._waiting = True
                    self._cond.notify_all()
                    self._cond.wait()

    def close(self) -> None:
        """Commit everything queued, stop the thread; raises if the last commit failed."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join()
        if self._error is not None and self._committed < self._submitted:
            raise self._error

    # -- the thread -----------------------------------------------------------------------
    def _run(self) -> None:
        # Signals are for the main thread (where Python runs the handlers anyway).
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        while True:
            closing = self._sleep()
            most = self._due(closing)
            if most != 0:
                with self._commit_lock:
                    if not self._commit_queued(most) and closing:
                        return
            if time.monotonic() - self._last_beat >= self.heartbeat_interval:
                self._heartbeat()
            if closing:
                with self._cond:
                    if not self._queue:
                        return

    def _due(self, closing: bool) -> int | None:
        """How many queued batches the thread commits now (None: all of them).

        What ``collect`` hands over, and anything queued since before the previous
        look (a producer that queued it and went on to something long); not what a
        busy producer has just queued, which it commits itself.
        """
        with self._cond:
            before = self._submitted
        if self.collect is not None:
            self.collect()
        with self._cond:
            queued, aged = len(self._queue), max(self._seen - self._committed, 0)
            collected = self._submitted > before
            self._seen = self._submitted
            if closing or self._waiting or collected:
                return None
            return min(queued, aged)

    def _sleep(self) -> bool:
        """Wait for the next commit's time (at once if someone waits); True when closing."""
        deadline = time.monotonic() + self.interval
        with self._cond:
            while not self._closing:
                if self._error is not None and self._failed_at >= self._submitted:
                    self._cond.wait()  # nothing new to try until the next submit
                    continue
                left = deadline - time.monotonic()
                if left <= 0 or (self._waiting and self._queue):
                    break
                self._cond.wait(left)
            return self._closing

    def _commit_queued(self, most: int | None = None) -> bool:
        """Commit what is queued, the ``most`` oldest at most (holding ``_commit_lock``).

        Returns False if the commit failed.
        """
        with self._cond:
            # The queue holds batches committed + 1 ... submitted, in order.
            taken = self._queue[:most]  # a copy (most=None: all of it)
            del self._queue[: len(taken)]
            upto = self._committed + len(taken)
        if not taken:
            return True
        try:
            self.storage.write_prepared(taken)
        except BaseException as exc:  # kept, raised to the producer, tried again
            with self._cond:
                self._queue[:0] = taken
                self._error = exc
                self._failed_at = self._submitted
                self._cond.notify_all()
            if not isinstance(exc, Exception):  # an interrupt: the producer must see it now
                raise
            return False
        with self._cond:
            self._committed = upto
            self._error = None
            self._cond.notify_all()
        return True

    def _heartbeat(self) -> None:
        self._last_beat = time.monotonic()
        if self.beat is not None:
            try:
                self.beat()
            except Exception:
                return


__all__ = [
    "COMMIT_INTERVAL",
    "HEARTBEAT_INTERVAL",
    "BatchWriter",
    "GroupCommitWriter",
    "ImmediateWriter",
]
