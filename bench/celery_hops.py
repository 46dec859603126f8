"""Milliseconds per hop of the Celery executor, and the scheduler's claim latency.

Usage: ``python bench/celery_hops.py [N] [BROKER_URL] [DATABASE_URL]`` (defaults: 500,
``redis://127.0.0.1:6379/14``, a fresh SQLite file; PostgreSQL needs
``PARTITA_SECRET_KEY``, which is set to a bench key when missing).

Each hop is timed alone, in this process, on the real broker and database:

- *publish*: the scheduler's ``send_task`` of one ``TaskMessage`` (one producer, as
  ``CeleryHub.publish`` sends a batch);
- *consume*: taking one message off the queue and acknowledging it (kombu, as a
  worker's consumer does, without running anything);
- *claim commit*: the worker's ``claim_task_instance`` (one transaction);
- *end commit*: the worker's end write (the row, a ``task_reported`` event);
- *scheduler read*: the scheduler's read of a run's new ``task_reported`` events
  (one query, as ``CeleryExecutor._read_outcomes`` polls).

Then the claim latency of 1, 2 and 3 schedulers: that many threads, each with a store
of its own, claim queued runs one at a time (``RunQueue.claim_queued_runs``, ``FOR
UPDATE SKIP LOCKED`` on PostgreSQL) until the queue is empty; the milliseconds per
claim transaction (mean and 95th percentile) are printed.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from partita import __version__
from partita.definitions.states import RunState, TaskState
from partita.engine.work import RunInfo, TaskWork
from partita.executors.celery_app import TASK_NAME, TaskMessage, make_app
from partita.storage.base import Storage
from partita.storage.records import (
    DagRunRecord,
    EventKind,
    EventRecord,
    TaskInstanceRecord,
    WriteBatch,
)
from partita.storage.sql import SqlStorage

NOW = datetime.now(UTC)


def per_item_ms(count: int, body: Callable[[int], object]) -> float:
    started = time.perf_counter()
    for number in range(count):
        body(number)
    return (time.perf_counter() - started) * 1000 / count


def hops(count: int, broker: str, storage: Storage) -> dict[str, float]:
    """Milliseconds per hop (see the module's docstring)."""
    from kombu import Connection

    run_id = f"hops-{uuid.uuid4().hex[:8]}"
    run = DagRunRecord(run_id, "hops", "", RunState.RUNNING, start_date=NOW)
    queued = [
        TaskInstanceRecord(run_id, "noop", n, try_number=1, state=TaskState.QUEUED)
        for n in range(count)
    ]
    storage.write(WriteBatch(runs=[run], task_instances=queued))
    info = RunInfo(run_id, "hops", "manual", NOW, NOW, NOW, {}, {}, "/dev/null")
    payloads = [
        TaskMessage(__version__, info, "/dev/null", None, TaskWork("noop", n, 1), {}).encode()
        for n in range(count)
    ]
    queue = f"hops-{uuid.uuid4().hex[:8]}"
    app = make_app(broker, 30)
    figures: dict[str, float] = {}
    with app.producer_or_acquire() as producer:
        figures["publish"] = per_item_ms(
            count,
            lambda n: app.send_task(
                TASK_NAME,
                args=(payloads[n],),
                queue=queue,
                producer=producer,
                retry=False,
                argsrepr="(partita TaskMessage,)",
                kwargsrepr="{}",
            ),  # as CeleryHub.publish sends it
        )
    with Connection(broker) as connection, connection.SimpleQueue(queue) as simple:
        figures["consume"] = per_item_ms(count, lambda n: simple.get(timeout=10).ack())
    app.close()
    figures["claim commit"] = per_item_ms(
        count,
        lambda n: storage.claim_task_instance(run_id, "noop", n, 1, "bench@host.1", NOW),
    )

    def end(n: int) -> None:
        row = TaskInstanceRecord(run_id, "noop", n, 1, state=TaskState.SUCCESS).finished(
            TaskState.SUCCESS, NOW, NOW, 0.0, "bench@host.1"
        )
        event = EventRecord(run_id, EventKind.TASK_REPORTED, NOW, "noop", n, 1, {"state": "ok"})
        storage.write(WriteBatch(task_instances=[row], events=[event]))

    figures["end commit"] = per_item_ms(count, end)
    events = storage.events.read_events(run_id, kinds=[EventKind.TASK_REPORTED])
    middle = events[len(events) // 2].id
    figures["scheduler read"] = per_item_ms(
        count,
        lambda n: storage.events.read_events(
            run_id, kinds=[EventKind.TASK_REPORTED], after_id=middle
        ),
    )
    return figures


def claim_latency(open_store: Callable[[], Storage], schedulers: int, runs: int) -> list[float]:
    """Milliseconds per claim transaction of ``schedulers`` threads emptying a queue."""
    with open_store() as storage:
        storage.queue.enqueue([
            DagRunRecord(
                f"claim-{uuid.uuid4().hex}", f"dag_{n % 20}", "", RunState.QUEUED,
                queued_at=NOW,
            )
            for n in range(runs)
        ])  # fmt: skip
    timings: list[float] = []
    lock = threading.Lock()

    def scheduler(number: int) -> None:
        with open_store() as storage:
            mine = []
            while True:
                started = time.perf_counter()
                with storage.queue.claim_queued_runs(f"bench-{number}", 4) as claim:
                    took = [claim.start(run, NOW) for run in claim.queued[:1]]
                mine.append((time.perf_counter() - started) * 1000)
                if not claim.queued:
                    break
                del took
            with lock:
                timings.extend(mine[:-1])  # the last one found the queue empty

    threads = [threading.Thread(target=scheduler, args=(n,)) for n in range(schedulers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    broker = sys.argv[2] if len(sys.argv) > 2 else "redis://127.0.0.1:6379/14"
    database = sys.argv[3] if len(sys.argv) > 3 else None
    home = Path(tempfile.mkdtemp(prefix="partita-hops-bench-"))
    os.environ["PARTITA_HOME"] = str(home)
    os.environ.setdefault("PARTITA_SECRET_KEY", "celery-hops-bench-key-0123456789abcdef")
    url = database or f"sqlite:///{home / 'bench.db'}"

    def open_store() -> Storage:
        return SqlStorage(url, home / "storage")

    print(f"{count} messages, broker {broker}, database {database or 'SQLite'}")
    with open_store() as storage:
        for hop, ms in hops(count, broker, storage).items():
            print(f"  {hop:15s} {ms:6.2f} ms")
    for schedulers in (1, 2, 3):
        timings = claim_latency(open_store, schedulers, 300)
        p95 = statistics.quantiles(timings, n=20)[-1]
        print(
            f"  claim, {schedulers} scheduler(s): {statistics.mean(timings):6.2f} ms mean, "
            f"{p95:6.2f} ms p95 ({len(timings)} claims)"
        )


if __name__ == "__main__":
    main()
