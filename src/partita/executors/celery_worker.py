"""What ``partita worker`` does with one Celery message: claim the try, run it, write it.

``TaskRunner.handle`` is the body of the one Celery task. It decodes the
``TaskMessage``, refuses a message from another partita version (the try
fails with a message naming both versions), claims the task instance with a
compare-and-set on its row (``Storage.claim_task_instance``), runs the try
with the local executor's per-try code (``executors/worker.py``: the DAG
file imported once per modification, the run's resources opened once per
run, logs streamed through ``LiveLogs``), and writes the end state, outputs,
last log lines and a ``task_reported`` event with the outcome in one
``WriteBatch``. The scheduler reads that event; no Celery result is kept.

The end is written only while the try is still the claimed and newest one
(``Storage.write_if_claimed``): a try its scheduler gave up on (the run was
resumed with a new try) leaves the newer try's row alone.

The design decision: a message whose try was claimed before (a duplicate
delivery, a redelivery after the visibility timeout or after its worker
died) is acknowledged and dropped, never run: the claim is the only gate, so
a try runs at most once and a success is recorded once. A try whose worker died is
not redelivered to run again: the scheduler sees the worker gone
(``CeleryLiveness``) and hands out a new try under the lost-attempts rule.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import msgspec

from partita import __version__
from partita.definitions.states import TaskState
from partita.engine.run_config import resolve_run_config
from partita.engine.secrets import use_store
from partita.engine.task_log import LiveLogs, log_line_records
from partita.engine.work import TaskOutcome
from partita.executors.celery_app import TaskMessage
from partita.executors.worker import DagFiles, RunSlot, _ended_record, _not_run
from partita.storage.base import Storage
from partita.storage.records import EventKind, EventRecord, TaskInstanceRecord, WriteBatch

logger = logging.getLogger("partita.worker")

#: Runs whose opened resources a worker keeps at once (the least recently used is closed).
MAX_OPEN_RUNS = 16


def encode_outcome(outcome: TaskOutcome) -> dict[str, Any]:
    """A try's outcome as an event payload (its outputs and logs are stored apart)."""
    slim = msgspec.structs.replace(outcome, outputs=[], logs=[])
    return msgspec.to_builtins(slim)


def decode_outcome(payload: dict[str, Any]) -> TaskOutcome:
    """The outcome ``encode_outcome`` stored."""
    return msgspec.convert(payload, TaskOutcome, strict=False)


class TaskRunner:
    """The worker's state across messages: its store, DAG files and open runs (thread-safe)."""

    def __init__(self, storage: Storage, node_name: str) -> None:
        self.storage = storage
        self.node_name = node_name
        use_store(storage)  # Connection.get / Variable in tasks read the worker's store
        self.logs = LiveLogs(storage)
        self.dag_files = DagFiles()
        self._slots: OrderedDict[str, RunSlot] = OrderedDict()
        self._lock = threading.Lock()

    def preload(self, dag_files: list[str], default_timezone: str | None) -> None:
        """Import the code locations' DAG files now, not at the first message."""
        for path in dag_files:
            try:
                self.dag_files.get(path, "", default_timezone)
            except Exception:
                logger.debug("preloading %s", path, exc_info=True)

    def handle(self, payload: dict[str, Any]) -> None:
        """Run the try one message asks for, unless it is not this message's to run."""
        message = TaskMessage.decode(payload)
        work, run_id, now = message.work, message.run.run_id, datetime.now(UTC)
        if not self.storage.claim_task_instance(
            run_id, work.task_id, work.map_index, work.try_number, self.node_name, now
        ):
            logger.info(
                "try %d of %s[%d] of run %s was claimed already (or is gone); message dropped",
                work.try_number, work.task_id, work.map_index, run_id,
            )  # fmt: skip
            return
        if message.partita_version != __version__:
            error = PartitaVersionMismatch(
                f"the scheduler runs partita {message.partita_version} but worker "
                f"{self.node_name} runs partita {__version__}; install the same partita "
                f"version on the scheduler and every worker"
            )
            self._report(message, _not_run(work, now, error), None)
            return
        try:
            slot = self._slot(message)
        except Exception as exc:  # the DAG file, the run's conf or resources: the try fails
            self._report(message, _not_run(work, now, exc), None)
            return
        outcome = slot.run_one(work)
        self._report(message, outcome, slot)

    def _slot(self, message: TaskMessage) -> RunSlot:
        run = message.run
        with self._lock:
            dag = self.dag_files.get(message.dag_file, run.dag_id, message.default_timezone)
            slot = self._slots.get(run.run_id)
            if slot is None or slot.dag is not dag:  # new run, or its file changed since
                if slot is not None:
                    slot.close()
                run = dataclasses.replace(run, task_config=resolve_run_config(dag, run.conf).tasks)
                slot = self._slots[run.run_id] = RunSlot(dag, run, self.storage, self.logs)
            self._slots.move_to_end(run.run_id)
            while len(self._slots) > MAX_OPEN_RUNS:
                self._slots.popitem(last=False)[1].close()
        slot.outputs.map_lengths.update(message.map_lengths)
        return slot

    def _report(self, message: TaskMessage, outcome: TaskOutcome, slot: RunSlot | None) -> None:
        """Write the try's end: the row, outputs, last log lines and the outcome event."""
        run_id, work = message.run.run_id, message.work
        outcome.hostname = self.node_name
        if slot is not None:
            row = _ended_record(slot.dag, run_id, outcome)
        else:  # the DAG did not load: keep what the row has, end this try
            row = _failed_row(self.storage, run_id, outcome)
        batch = WriteBatch(task_instances=[row], outputs=list(outcome.outputs))
        if outcome.logs:
            batch.log_lines.extend(log_line_records(
                run_id, work.task_id, work.map_index, work.try_number,
                outcome.first_log_seq, outcome.logs,
            ))  # fmt: skip
        batch.events.append(EventRecord(
            run_id, EventKind.TASK_REPORTED, outcome.end_date, work.task_id, work.map_index,
            work.try_number, encode_outcome(outcome),
        ))  # fmt: skip
        if not self.storage.write_if_claimed(
            batch, run_id, work.task_id, work.map_index, work.try_number
        ):
            logger.warning(
                "try %d of %s[%d] of run %s ended after a newer try was handed out (its "
                "scheduler gave it up); its end is not written over the newer try",
                work.try_number, work.task_id, work.map_index, run_id,
            )  # fmt: skip

    def close(self) -> None:
        with self._lock:
            for slot in self._slots.values():
                slot.close()
            self._slots.clear()
        self.logs.stop()


class PartitaVersionMismatch(Exception):
    """The scheduler and the worker run different partita versions."""


def _failed_row(storage: Storage, run_id: str, outcome: TaskOutcome) -> TaskInstanceRecord:
    key = (outcome.task_id, outcome.map_index)
    found = next(
        (ti for ti in storage.runs.get_task_instances(run_id) if ti.key == key),
        TaskInstanceRecord(run_id, outcome.task_id, outcome.map_index),
    )
    return msgspec.structs.replace(found, try_number=outcome.try_number).finished(
        TaskState.FAILED, outcome.start_date, outcome.end_date, outcome.duration, outcome.hostname
    )


def node_name(queues: list[str]) -> str:
    """This worker's Celery node name: ``partita@<host>.<pid>`` (unique per process)."""
    import socket

    return f"partita-{'+'.join(queues)}@{socket.gethostname()}.{os.getpid()}"


__all__ = ["PartitaVersionMismatch", "TaskRunner", "decode_outcome", "encode_outcome", "node_name"]
