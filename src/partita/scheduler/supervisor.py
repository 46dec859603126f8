"""``RunSupervisor``: drives the runs this scheduler started, and adopts the runs of dead ones.

Each running run has a ``RunDriver`` with an executor of its own (from the
executor factory); ``run_once`` steps each of them once without waiting,
ends the runs that finished, and fails those over their DAG's
``dagrun_timeout``. ``adopt`` takes over the running runs of schedulers that
are gone (or of this one, before a restart) and resumes them from their
stored task instances, as it does a queued run that has task instances already
(an operator retried or cleared it).

The design decision: a run is driven by exactly one scheduler, the one whose
``run_claim`` row names it; adoption moves that row in one transaction, so
a run is resumed once, and its finished task instances never run again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import UTC, datetime

from msgspec.structs import replace

from partita.definitions.dag import DAG
from partita.definitions.states import RunState
from partita.engine.admission import TaskGate
from partita.engine.driver import DEFAULT_MAX_LOST_ATTEMPTS, RunDriver
from partita.engine.work import Executor
from partita.exceptions import PartitaError
from partita.storage.base import Storage
from partita.storage.records import DagRunRecord, EventKind, EventRecord, WriteBatch

logger = logging.getLogger("partita.scheduler")

ExecutorFactory = Callable[[], Executor]


class RunTimedOut(PartitaError):
    """A run ran longer than its DAG's ``dagrun_timeout``."""


class SchedulerStopped(KeyboardInterrupt):
    """The scheduler was asked to stop while it drove this run."""


class RunSupervisor:
    """Steps the running runs of one scheduler."""

    def __init__(
        self,
        storage: Storage,
        scheduler_id: str,
        executor_factory: ExecutorFactory,
        gate: TaskGate | None = None,
        *,
        max_lost_attempts: int = DEFAULT_MAX_LOST_ATTEMPTS,
    ) -> None:
        self.storage = storage
        #: Tries of a task instance lost with their worker before it fails (``RunDriver``).
        self.max_lost_attempts = max_lost_attempts
        #: What decides which ready tasks may start (the scheduler's ``SlotBook``).
        self.gate = gate
        self.scheduler_id = scheduler_id
        self.executor_factory = executor_factory
        #: The drivers of the runs being driven, by run id.
        self.active: dict[str, RunDriver] = {}

    def start(self, run: DagRunRecord, dag: DAG, *, resume: bool = False) -> None:
        """Begin driving ``run`` (a run claimed for this scheduler).

        A queued run that has task instances already (``runs retry``, ``tasks
        clear`` or ``tasks mark`` put a finished run back in the queue) is
        resumed: its finished instances stay, only the cleared ones run.
        """
        try:
            if not resume and self.storage.runs.get_task_instances(run.run_id):
                resume = True
            driver = RunDriver.for_run(
                dag, self.executor_factory(), self.storage, run, gate=self.gate,
                max_lost_attempts=self.max_lost_attempts,
            )  # fmt: skip
            driver.begin(resume=resume)
        except Exception as exc:  # bad conf, a resource that does not open: the run fails
            logger.warning("run %s of DAG %s cannot start: %s", run.run_id, run.dag_id, exc)
            self.fail_run(run, f"cannot start: {type(exc).__name__}: {exc}")
            self.storage.queue.release(run.run_id)
            return
        self.active[run.run_id] = driver

    def run_once(self, now: datetime) -> list[str]:
        """Step every run once; return the ids of the runs that ended."""
        ended = []
        for run_id, driver in list(self.active.items()):
            try:
                if self._timed_out(driver, now):
                    timeout = driver.dag.dagrun_timeout
                    driver.abort(RunTimedOut(f"the run took longer than dagrun_timeout {timeout}"))
                elif driver.step(timeout=0):
                    driver.end()
                else:
                    continue
            except Exception as exc:  # the driver recorded the run as failed already
                logger.warning("run %s failed in the engine: %s", run_id, exc)
            del self.active[run_id]
            self.storage.queue.release(run_id)
            ended.append(run_id)
        return ended

    @staticmethod
    def _timed_out(driver: RunDriver, now: datetime) -> bool:
        timeout = driver.dag.dagrun_timeout
        started = driver.record.start_date
        return timeout is not None and started is not None and now - started > timeout

    def adopt(self, live: Collection[str], get_dag: Callable[[str], DAG | None]) -> list[str]:
        """Resume the running runs of the schedulers not in ``live``; return their ids."""
        adopted = self.storage.queue.adopt_orphaned_runs(self.scheduler_id, live)
        for run in adopted:
            dag = get_dag(run.dag_id)
            if dag is None:
                self.fail_run(run, f"its DAG {run.dag_id!r} is no longer loaded")
                self.storage.queue.release(run.run_id)
                continue
            logger.info("resuming run %s of DAG %s", run.run_id, run.dag_id)
            self.start(run, dag, resume=True)
        return [run.run_id for run in adopted]

    def drop_lost(self, owned: set[str]) -> list[str]:
        """Stop driving, without recording anything, the runs another scheduler took over.

        (It thought this one dead: its heartbeat was late.) Returns their ids.
        """
        lost = [run_id for run_id in self.active if run_id not in owned]
        for run_id in lost:
            driver = self.active.pop(run_id)
            logger.warning("run %s was taken over by another scheduler; left to it", run_id)
            driver.executor.shutdown()
            if self.gate is not None:
                self.gate.release_run(run_id)
        return lost

    def stop_all(self, reason: str) -> None:
        """Stop every run being driven: recorded failed, unfinished tasks cancelled."""
        for run_id, driver in list(self.active.items()):
            driver.abort(SchedulerStopped(reason))
            del self.active[run_id]
            self.storage.queue.release(run_id)

    def fail_run(self, run: DagRunRecord, message: str) -> None:
        """Record a run that cannot be driven as failed."""
        now = datetime.now(UTC)
        run = replace(run, state=RunState.FAILED, end_date=now, start_date=run.start_date or now)
        payload = {"state": RunState.FAILED.value, "message": message}
        self.storage.write(
            WriteBatch(
                runs=[run],
                events=[EventRecord(run.run_id, EventKind.RUN_STATE, now, payload=payload)],
            )
        )


__all__ = ["ExecutorFactory", "RunSupervisor", "RunTimedOut", "SchedulerStopped"]
