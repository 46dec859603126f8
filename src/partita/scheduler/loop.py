"""``Scheduler``: the daemon loop composing the services, with its heartbeat.

One pass (``run_once``) writes the heartbeat, re-loads changed DAG files,
adopts the runs of dead schedulers, queues due scheduled runs and the runs
asset events and automation conditions ask for, starts queued runs and steps
the running ones. ``serve`` repeats passes until stopped: at
once while runs are being driven, otherwise after ``poll_interval`` seconds
(sooner when a DAG falls due); a pass that overruns ``overrun_warning``
seconds is logged as a warning.

The design decision: liveness is by heartbeat row, so any process (another
scheduler, ``partita trigger --wait``, the UI) can tell whether a scheduler
is alive; on the same host a scheduler whose pid is gone is dead at once.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from partita.definitions.dag import DAG
from partita.engine.driver import DEFAULT_MAX_LOST_ATTEMPTS
from partita.engine.host import HOSTNAME, pid_alive
from partita.scheduler.asset_triggers import AssetTriggerService
from partita.scheduler.automation import AutomationService
from partita.scheduler.backfills import BackfillRunner
from partita.scheduler.clock import Clock, SystemClock
from partita.scheduler.dag_files import DagFileProcessor
from partita.scheduler.past import PreviousRuns
from partita.scheduler.retention import RetentionService
from partita.scheduler.schedule_ticks import ScheduleDefinitionTicker
from partita.scheduler.sensors import DEFAULT_EVALUATION_TIMEOUT, SensorDaemon
from partita.scheduler.slots import SlotBook
from partita.scheduler.starter import RunStarter
from partita.scheduler.supervisor import ExecutorFactory, RunSupervisor
from partita.scheduler.ticker import ScheduleTicker
from partita.settings import RetentionSettings
from partita.storage.base import Storage
from partita.storage.run_queue import SchedulerRecord

logger = logging.getLogger("partita.scheduler")

#: A scheduler whose heartbeat is older than this is dead (another host's, or a hung one).
HEARTBEAT_TIMEOUT = timedelta(seconds=30)


@dataclass(frozen=True)
class SchedulerOptions:
    """How a scheduler runs: its limits and its rhythm."""

    max_concurrent_runs: int = 16
    #: Tag -> the most runs of DAGs with that tag running at once.
    run_tag_limits: tuple[tuple[str, int], ...] = ()
    #: Seconds between passes when no run is being driven.
    poll_interval: float = 1.0
    #: Seconds between checks of the DAG files for changes.
    parse_interval: float = 2.0
    #: Seconds between looks for the runs of dead schedulers.
    adopt_interval: float = 10.0
    #: Seconds between heartbeats.
    heartbeat_interval: float = 2.0
    #: A pass longer than this many seconds is logged as a warning.
    overrun_warning: float = 10.0
    #: Seconds between looks at new asset events and the automation conditions.
    automation_interval: float = 1.0
    #: Tries of a task instance lost with their worker (process) before it fails.
    max_lost_attempts: int = DEFAULT_MAX_LOST_ATTEMPTS
    #: Sensors that set no ``default_status`` wait to be started (``sensors_default_status``).
    sensors_stopped_by_default: bool = False
    #: Seconds one sensor evaluation may take before its tick fails.
    sensor_evaluation_timeout: float = DEFAULT_EVALUATION_TIMEOUT
    #: What the scheduler deletes as old, and how often (None: nothing).
    retention: RetentionSettings | None = None


def live_scheduler_ids(schedulers: Sequence[SchedulerRecord], now: datetime) -> set[str]:
    """The schedulers alive at ``now``: a recent heartbeat, and a live pid when on this host."""
    return {
        s.scheduler_id
        for s in schedulers
        if now - s.heartbeat_at <= HEARTBEAT_TIMEOUT
        and (s.hostname != HOSTNAME or pid_alive(s.pid))
    }


class Scheduler:
    """The scheduler daemon: build it, then ``serve()`` (or call ``run_once`` in tests)."""

    def __init__(
        self,
        storage: Storage,
        files: DagFileProcessor,
        executor_factory: ExecutorFactory,
        *,
        options: SchedulerOptions | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.storage = storage
        self.files = files
        self.options = options or SchedulerOptions()
        self.clock = clock or SystemClock()
        self.scheduler_id = f"{HOSTNAME}:{os.getpid()}:{secrets.token_hex(3)}"
        self.started_at = datetime.now(UTC)
        self.slots = SlotBook(past=PreviousRuns(storage))
        self.supervisor = RunSupervisor(
            storage,
            self.scheduler_id,
            executor_factory,
            self.slots,
            max_lost_attempts=self.options.max_lost_attempts,
        )
        self.ticker = ScheduleTicker(storage, self.get_dag)
        self.schedule_ticker = ScheduleDefinitionTicker(
            storage, lambda: self.files.schedules, self.get_dag
        )
        self.sensors = SensorDaemon(
            storage, lambda: self.files.sensors, self.get_dag,
            stopped_by_default=self.options.sensors_stopped_by_default,
            evaluation_timeout=self.options.sensor_evaluation_timeout,
        )  # fmt: skip
        self.asset_triggers = AssetTriggerService(storage, lambda: self.files.dags)
        self.automation = AutomationService(storage, lambda: self.files.dags)
        self.backfills = BackfillRunner(storage)
        retention = self.options.retention
        self.retention = RetentionService(storage, retention) if retention else None
        self.starter = RunStarter(
            storage,
            self.scheduler_id,
            self.get_dag,
            self.supervisor.start,
            max_concurrent_runs=self.options.max_concurrent_runs,
            active_count=lambda: len(self.supervisor.active),
            tag_limits=dict(self.options.run_tag_limits),
        )
        self._last: dict[str, float] = {}

    def get_dag(self, dag_id: str) -> DAG | None:
        return self.files.get_dag(dag_id)

    def _due(self, job: str, interval: float) -> bool:
        now = time.monotonic()
        if now - self._last.get(job, -interval - 1) < interval:
            return False
        self._last[job] = now
        return True

    def beat(self) -> None:
        """Write this scheduler's heartbeat row."""
        now = datetime.now(UTC)
        record = SchedulerRecord(self.scheduler_id, HOSTNAME, os.getpid(), self.started_at, now)
        self.storage.queue.beat(record)

    def run_once(self) -> None:
        """One pass of every service."""
        options = self.options
        if self._due("heartbeat", options.heartbeat_interval):
            self.beat()
        if self._due("parse", options.parse_interval):
            self.files.run_once(self.clock.now())
            self.slots.set_pools({p.name: p.slots for p in self.storage.pools.list_pools()})
        if self._due("adopt", options.adopt_interval):
            live = live_scheduler_ids(self.storage.queue.list_schedulers(), datetime.now(UTC))
            self.supervisor.drop_lost(set(self.storage.queue.claimed_runs(self.scheduler_id)))
            self.supervisor.adopt(live | {self.scheduler_id}, self.get_dag)
        self.ticker.run_once(self.clock.now())
        self.schedule_ticker.run_once(self.clock.now())
        self.sensors.run_once(self.clock.now())
        if self._due("automation", options.automation_interval):
            self.asset_triggers.run_once(self.clock.now())
            self.automation.run_once(self.clock.now())
        self.backfills.run_once(self.clock.now())
        if self.retention is not None:
            self.retention.run_once(datetime.now(UTC))  # real time: what ended is real time
        self.starter.run_once(self.clock.now())
        self.supervisor.run_once(datetime.now(UTC))

    def serve(self) -> None:
        """Run passes until interrupted (``KeyboardInterrupt``; SIGTERM is made one by the CLI).

        On the way out every run being driven is stopped (recorded failed, its
        unfinished tasks cancelled) and the heartbeat row removed.
        """
        stopped = threading.Event()
        beating = threading.Thread(
            target=self._beat_until, args=(stopped,), name="partita-heartbeat", daemon=True
        )
        beating.start()
        try:
            while True:
                started = time.monotonic()
                try:
                    self.run_once()
                except Exception:  # a database hiccup must not stop the daemon
                    logger.exception("a scheduler pass failed; trying again")
                    time.sleep(self.options.poll_interval)
                took = time.monotonic() - started
                if took > self.options.overrun_warning:
                    logger.warning("a scheduler pass took %.1f s", took)
                # driving runs: pass again at once (a short nap so retries do not spin)
                time.sleep(0.005 if self.supervisor.active else self.options.poll_interval)
        finally:
            stopped.set()
            beating.join()
            self.stop()

    def _beat_until(self, stopped: threading.Event) -> None:
        """The heartbeat, from its own thread: a long task in a pass does not make us look dead."""
        while not stopped.wait(self.options.heartbeat_interval):
            try:
                self.beat()
            except Exception:
                logger.exception("the scheduler heartbeat could not be written")

    def stop(self, reason: str = "the scheduler stopped") -> None:
        """Stop the runs being driven and remove the heartbeat row."""
        self.supervisor.stop_all(reason)
        self.sensors.close()
        self.storage.queue.remove_scheduler(self.scheduler_id)


__all__ = ["HEARTBEAT_TIMEOUT", "Scheduler", "SchedulerOptions", "live_scheduler_ids"]
