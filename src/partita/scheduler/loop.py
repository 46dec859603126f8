"""``Scheduler``: the daemon loop composing the services, with its heartbeat.

One pass (``run_once``) housekeeps (writes the heartbeat, re-loads changed
DAG files, adopts the runs of dead schedulers, queues due scheduled runs and
the runs asset events, automation conditions and backfills ask for, applies
retention, starts queued runs) and steps the running runs. ``serve`` repeats
passes until stopped: while runs are driven, a pass follows each task outcome
the worker pool reports (``activity``); housekeeping happens at the next due
DAG, schedule or sensor, after ``poll_interval``, when a run ended, or when
``wake_schedulers`` calls (``partita trigger``). An idle scheduler sleeps
until one of those. A pass that overruns ``overrun_warning`` seconds is
logged as a warning.

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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from partita.definitions.dag import DAG
from partita.engine.driver import DEFAULT_MAX_LOST_ATTEMPTS
from partita.engine.host import HOSTNAME
from partita.executors.memory import release_memory
from partita.scheduler.asset_triggers import AssetTriggerService
from partita.scheduler.automation import AutomationService
from partita.scheduler.backfills import BackfillRunner
from partita.scheduler.clock import Clock, SystemClock
from partita.scheduler.dag_files import DagFileProcessor
from partita.scheduler.ownership import HEARTBEAT_TIMEOUT, live_scheduler_ids
from partita.scheduler.past import PreviousRuns
from partita.scheduler.retention import RetentionService
from partita.scheduler.schedule_ticks import ScheduleDefinitionTicker
from partita.scheduler.sensors import DEFAULT_EVALUATION_TIMEOUT, SensorDaemon
from partita.scheduler.slots import SlotBook
from partita.scheduler.starter import RunStarter
from partita.scheduler.supervisor import ExecutorFactory, RunSupervisor
from partita.scheduler.ticker import ScheduleTicker
from partita.scheduler.wakeup import WakeSocket
from partita.settings import DEFAULT_SCHEDULER_POLL_INTERVAL, RetentionSettings
from partita.storage.base import Storage
from partita.storage.run_queue import SchedulerRecord

logger = logging.getLogger("partita.scheduler")

#: While runs are driven, the longest wait for a task outcome before the runs are stepped.
BUSY_WAIT = 0.05
#: Between passes driving runs when no ``activity`` event tells of outcomes.
_NO_ACTIVITY_NAP = 0.005
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)


@dataclass(frozen=True)
class SchedulerOptions:
    """How a scheduler runs: its limits and its rhythm."""

    max_concurrent_runs: int = 16
    #: Tag -> the most runs of DAGs with that tag running at once.
    run_tag_limits: tuple[tuple[str, int], ...] = ()
    #: Seconds between passes when no run is being driven.
    poll_interval: float = DEFAULT_SCHEDULER_POLL_INTERVAL
    #: Seconds between checks of the DAG files for changes.
    parse_interval: float = 2.0
    #: Seconds between looks for the runs of dead schedulers.
    adopt_interval: float = 10.0
    #: Seconds between heartbeats.
    heartbeat_interval: float = 5.0
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
        activity: threading.Event | None = None,
        wake: WakeSocket | None = None,
    ) -> None:
        self.storage = storage
        #: Set by the worker pool when a task outcome arrives (None: nap between passes).
        self.activity = activity
        #: Where ``wake_schedulers`` reaches this scheduler (None: it polls).
        self.wake = wake
        self.files = files
        self.options = options or SchedulerOptions()
        self.clock = clock or SystemClock()
        self.scheduler_id = f"{HOSTNAME}:{os.getpid()}:{secrets.token_hex(3)}"
        self.started_at = datetime.now(UTC)
        pools = storage.pools
        self.slots = SlotBook(
            past=PreviousRuns(storage),
            ledger=pools if pools.shares_slots else None,
            scheduler_id=self.scheduler_id,
        )
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
        self._next_housekeeping = 0.0

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
        self.housekeep()
        self.drive()

    def housekeep(self) -> None:
        """The services other than driving: heartbeat, parse, adopt, queue due runs, start."""
        options = self.options
        if self._due("heartbeat", options.heartbeat_interval):
            self.beat()
        if self._due("parse", options.parse_interval):
            self.files.run_once(self.clock.now())
            self.slots.set_pools({p.name: p.slots for p in self.storage.pools.list_pools()})
        if self._due("adopt", options.adopt_interval):
            schedulers = self.storage.queue.list_schedulers()
            live = live_scheduler_ids(schedulers, datetime.now(UTC))
            self.slots.dead = {s.scheduler_id for s in schedulers} - live - {self.scheduler_id}
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
        self.slots.flush()
        self._next_housekeeping = time.monotonic() + self._seconds_to_next_due()

    def drive(self) -> bool:
        """Step the runs being driven once; True if one ended (its slot is free)."""
        return bool(self.supervisor.run_once(datetime.now(UTC)))

    def _seconds_to_next_due(self) -> float:
        """Real seconds until the next housekeeping: ``poll_interval``, or sooner when a DAG,
        a schedule or a sensor falls due."""
        wait = self.options.poll_interval
        soonest = self.storage.registry.due_dags(_FAR_FUTURE, 1)
        dues = [d.next_run.run_after for d in soonest if d.next_run is not None]
        for due in (self.schedule_ticker.next_tick(), self.sensors.next_due()):
            if due is not None:
                dues.append(due)
        for due in dues:
            seconds = self.clock.seconds_until(due)
            if seconds > 0:  # one still due now was not runnable (its DAG is not loaded)
                wait = min(wait, seconds)
        return wait

    def serve(self) -> None:
        """Run passes until interrupted (``KeyboardInterrupt``; SIGTERM is made one by the CLI).

        While runs are driven, a pass follows each task outcome the worker pool
        reports (``activity``); the other services run at the next due DAG,
        schedule or sensor, after ``poll_interval``, when a run ended, or at once when
        ``wake_schedulers`` calls. On the way out every run being driven is
        stopped (recorded failed, its unfinished tasks cancelled) and the
        heartbeat row removed.
        """
        stopped = threading.Event()
        beating = threading.Thread(
            target=self._beat_until, args=(stopped,), name="partita-heartbeat", daemon=True
        )
        beating.start()
        try:
            housekeep = True
            while True:
                started = time.monotonic()
                try:
                    housekeep = self._pass(housekeep)
                except Exception:  # a database hiccup must not stop the daemon
                    logger.exception("a scheduler pass failed; trying again")
                    time.sleep(self.options.poll_interval)
                    housekeep = True
                took = time.monotonic() - started
                if took > self.options.overrun_warning:
                    logger.warning("a scheduler pass took %.1f s", took)
                housekeep = self._wait() or housekeep
        finally:
            stopped.set()
            beating.join()
            self.stop()

    def _pass(self, housekeep: bool) -> bool:
        """One pass of ``serve``; True if the next one should housekeep whatever the time."""
        if housekeep or time.monotonic() >= self._next_housekeeping:
            self.housekeep()
        if self.activity is not None:
            self.activity.clear()  # outcomes from here on wake the next wait
        # A step takes in outcomes; the tasks they made ready go out at the next step,
        # which nothing would wake: step twice.
        ended = self.drive()
        ended = self.drive() or ended
        if ended and not self.supervisor.active:
            release_memory()  # idle from here on: give back what the runs grew
        return ended

    def _wait(self) -> bool:
        """Sleep until there is something to do; True if woken by ``wake_schedulers``."""
        until = max(self._next_housekeeping - time.monotonic(), 0.0)
        if self.supervisor.active:
            # an outcome wakes us (retries and held tasks are looked at every BUSY_WAIT)
            if self.activity is not None:
                self.activity.wait(min(until, BUSY_WAIT))
            else:
                time.sleep(min(until, _NO_ACTIVITY_NAP))
            return self.wake.drain() if self.wake is not None else False
        if self.wake is not None:
            return self.wake.wait(until)
        time.sleep(until)
        return False

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
        self.files.close()
        self.storage.queue.remove_scheduler(self.scheduler_id)


__all__ = ["HEARTBEAT_TIMEOUT", "Scheduler", "SchedulerOptions", "live_scheduler_ids"]
