"""The Celery executor: the scheduler's side of running task instances on ``partita worker``\\s.

``CeleryHub(storage, broker_url, ...)`` is made once per scheduler; every run
gets its own view, ``hub.executor()``, implementing the engine's ``Executor``
protocol (``start``/``submit``/``poll``/``shutdown``). ``submit`` collects
tries; ``poll`` writes them ``queued`` (one batch) and publishes one
``TaskMessage`` per try to its task's ``queue=`` (default ``default``), then
reads what the workers wrote: a worker's claim of the try (the run learns it
started, and where), and its ``task_reported`` event carries the
try's outcome (the row has no room for an error, a branch choice or the
assets it materialized). ``CeleryLiveness`` pings the workers (Celery's
broadcast ``ping``): a try whose worker stops answering for the heartbeat
timeout is reported *lost*, and the engine's lost-attempts rule runs it again.

The design decision: a broker that is down is not an error of the run: the
tries stay queued here, the scheduler logs it once, publishing is tried again
every ``RETRY_SECONDS``, and the run goes on when the broker is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

from partita import __version__
from partita.definitions.states import TaskState
from partita.engine.work import TaskOutcome, TaskWork
from partita.executors.celery_app import DEFAULT_QUEUE, TASK_NAME, TaskMessage, make_app
from partita.executors.celery_worker import decode_outcome
from partita.executors.local import WorkerRunExecutor, lost_outcome
from partita.storage.base import Storage
from partita.storage.records import EventKind, TaskInstanceRecord, WriteBatch
from partita.storage.sql.engine import mask_url

logger = logging.getLogger("partita.scheduler")

#: Seconds between two tries to publish to a broker that was down.
RETRY_SECONDS = 2.0
#: Seconds between two reads of a run's claims (to learn which tries started where).
ROWS_EVERY = 0.5
#: How long ``poll`` sleeps between two reads of the store while it waits.
POLL_SLEEP = 0.01
#: Once a second, events are read again from the highest id seen this many seconds ago
#: (PostgreSQL commits ids out of order: a late commit is picked up then; seen ones are dropped).
EVENT_LAG_SECONDS = 5.0

TIKey = tuple[str, int]
#: What Celery shows as a message's arguments (its monitoring tools; partita sends no events).
_ARGSREPR = "(partita TaskMessage,)"


class CeleryLiveness(threading.Thread):
    """Pings the Celery workers every ``interval`` seconds; knows which answered when."""

    def __init__(self, app: Any, interval: float, timeout: float) -> None:
        super().__init__(name="partita-celery-liveness", daemon=True)
        self.app, self.interval, self.timeout = app, interval, timeout
        self.last_seen: dict[str, float] = {}
        self.broker_ok = True
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                replies = self.app.control.ping(timeout=self.interval)
            except Exception:
                self.broker_ok = False
                self._halt.wait(self.interval)
                continue
            self.broker_ok = True
            now = time.monotonic()
            for reply in replies:
                for node in reply:
                    self.last_seen[node] = now

    def gone(self, node: str, since: float) -> bool:
        """Whether ``node``, running a try since ``since`` (monotonic), stopped answering."""
        if not self.broker_ok:
            return False
        now = time.monotonic()
        heard = max(self.last_seen.get(node, since), since)
        return now - heard > self.timeout

    def stop(self) -> None:
        self._halt.set()


class CeleryHub:
    """One scheduler's link to Celery: the app, the publisher and the workers' liveness."""

    def __init__(
        self,
        storage: Storage,
        broker_url: str,
        *,
        heartbeat_interval: float = 1.0,
        heartbeat_timeout: float = 30.0,
        default_timezone: str | None = None,
    ) -> None:
        self.storage = storage
        self.broker_url = broker_url
        self.default_timezone = default_timezone
        self.app = make_app(broker_url, heartbeat_timeout)
        self.liveness = CeleryLiveness(self.app, heartbeat_interval, heartbeat_timeout)
        self.liveness.start()
        self.broker_down_since: float | None = None
        self._next_try = 0.0

    def executor(self) -> CeleryExecutor:
        """A view of this hub for one run (give it to ``RunDriver``)."""
        return CeleryExecutor(self)

    def publish(self, messages: list[tuple[dict[str, Any], str]]) -> bool:
        """Send ``(payload, queue)`` messages; False (logged once) while the broker is down."""
        now = time.monotonic()
        if self.broker_down_since is not None and now < self._next_try:
            return False
        try:
            with self.app.producer_or_acquire() as producer:
                for payload, queue in messages:
                    self.app.send_task(
                        TASK_NAME, args=(payload,), queue=queue, producer=producer, retry=False,
                        # no repr of the message for Celery's monitoring events (partita
                        # sends none): it was a fifth of a publish's CPU
                        argsrepr=_ARGSREPR, kwargsrepr="{}",
                    )  # fmt: skip
        except Exception as exc:
            if self.broker_down_since is None:
                self.broker_down_since = now
                logger.warning(
                    "the Celery broker %s is unreachable (%s: %s); task instances stay queued, "
                    "publishing again every %gs",
                    mask_url(self.broker_url), type(exc).__name__, exc, RETRY_SECONDS,
                )  # fmt: skip
            self._next_try = now + RETRY_SECONDS
            return False
        if self.broker_down_since is not None:
            logger.warning(
                "the Celery broker %s is back after %.0fs; queued task instances are published",
                mask_url(self.broker_url), now - self.broker_down_since,
            )  # fmt: skip
            self.broker_down_since = None
        return True

    def close(self) -> None:
        self.liveness.stop()
        self.liveness.join(self.liveness.interval * 2 + 1)
        self.app.close()

    def __enter__(self) -> CeleryHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CeleryExecutor(WorkerRunExecutor):
    """One run's view of a ``CeleryHub``: the engine's ``Executor`` protocol."""

    def __init__(self, hub: CeleryHub) -> None:
        self._hub = hub
        self._storage = hub.storage
        self._unsent: list[TaskWork] = []
        self._unwritten: list[TaskWork] = []
        #: Published tries not yet ended, by task instance.
        self._pending: dict[TIKey, TaskWork] = {}
        #: The started ones: their worker's node name and when (monotonic) it was seen.
        self._running: dict[TIKey, tuple[str, float]] = {}
        self._seen_ids: deque[tuple[float, int]] = deque()
        self._max_id = 0
        self._rows_read = 0.0
        self._lag_read = 0.0
        self._wake = threading.Event()
        self.closed = False

    def submit(self, work: TaskWork) -> None:
        self._unsent.append(work)
        self._unwritten.append(work)

    def poll(self, timeout: float | None) -> None:
        """Publish what was submitted, then wait at most ``timeout`` seconds (None: until a
        try ends) for ended tries, calling ``on_finished`` for each."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._unsent:
                self._send()
            outcomes = self._read_outcomes() + self._lost()
            for outcome in outcomes:
                self._on_finished(outcome)
            if outcomes or self._wake.is_set():
                self._wake.clear()
                return
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return
            time.sleep(POLL_SLEEP if left is None else min(POLL_SLEEP, left))

    def cancel_running(self, grace: float, reason: str) -> None:
        """The run was cancelled (any thread): wake ``poll``. Tries on workers run to their
        end; what they write after the run ended is not read by anyone."""
        self._wake.set()

    def shutdown(self) -> None:
        self.closed = True
        self._unsent.clear()
        self._pending.clear()

    # -- publishing ---------------------------------------------------------------------
    def _send(self) -> None:
        """Write the new tries queued (once), then publish the unsent ones; they are kept
        for later while the broker is down (their rows stay queued)."""
        if self._unwritten:
            self._storage.write(WriteBatch(task_instances=[
                self._queued_row(work) for work in self._unwritten
            ]))  # fmt: skip
            self._unwritten = []
        messages = []
        for work in self._unsent:
            message = TaskMessage(
                __version__, self.run, self.dag_file, self._hub.default_timezone, work,
                dict(self.map_lengths),
            )  # fmt: skip
            queue = getattr(self.dag.task_dict[work.task_id], "queue", None) or DEFAULT_QUEUE
            messages.append((message.encode(), queue))
        if self._hub.publish(messages):
            for work in self._unsent:
                self._pending[(work.task_id, work.map_index)] = work
            self._unsent = []

    def _queued_row(self, work: TaskWork) -> TaskInstanceRecord:
        task = self.dag.task_dict[work.task_id]
        return TaskInstanceRecord(
            self.run.run_id, work.task_id, work.map_index, work.try_number, task.retries,
            TaskState.QUEUED, task.operator_name,
        )  # fmt: skip

    # -- learning what the workers did ----------------------------------------------------
    def _read_outcomes(self) -> list[TaskOutcome]:
        if not self._pending:
            return []
        self._started_rows()
        now = time.monotonic()
        while self._seen_ids and self._seen_ids[0][0] < now - EVENT_LAG_SECONDS:
            self._seen_ids.popleft()
        after = self._max_id
        if now - self._lag_read >= 1.0:  # once a second, again from a while ago
            self._lag_read = now
            after = self._seen_ids[0][1] if self._seen_ids else self._max_id
        events = self._storage.events.read_events(
            self.run.run_id, kinds=[EventKind.TASK_REPORTED], after_id=after or None
        )
        outcomes = []
        for event in events:
            self._max_id = max(self._max_id, event.id or 0)
            key = (event.task_id or "", event.map_index)
            work = self._pending.get(key)
            if work is None or work.try_number != event.try_number:
                continue  # a duplicate, or a try reported lost already
            outcome = decode_outcome(event.payload)
            self._began(key, work, outcome.start_date, outcome.hostname)
            del self._pending[key]
            self._running.pop(key, None)
            outcomes.append(outcome)
        self._seen_ids.append((now, self._max_id))
        return outcomes

    def _started_rows(self) -> None:
        """Learn from the workers' claims which tries started (at most every ``ROWS_EVERY``)."""
        now = time.monotonic()
        if now - self._rows_read < ROWS_EVERY or len(self._running) == len(self._pending):
            return
        self._rows_read = now
        when = datetime.now(UTC)
        for key, (try_number, node) in self._storage.task_instance_claims(self.run.run_id).items():
            work = self._pending.get(key)
            if work is not None and try_number == work.try_number:
                self._began(key, work, when, node)

    def _began(self, key: TIKey, work: TaskWork, when: datetime, node: str) -> None:
        if key not in self._running:
            self._running[key] = (node, time.monotonic())
            self._on_started(work, when, node)

    def _lost(self) -> list[TaskOutcome]:
        liveness, timeout = self._hub.liveness, self._hub.liveness.timeout
        lost = []
        for key, (node, since) in list(self._running.items()):
            if key in self._pending and liveness.gone(node, since):
                work = self._pending.pop(key)
                del self._running[key]
                reason = f"its Celery worker {node} did not answer for more than {timeout:g}s"
                outcome = lost_outcome(work, reason)
                outcome.hostname = node
                lost.append(outcome)
        return lost


__all__ = ["CeleryExecutor", "CeleryHub", "CeleryLiveness"]
