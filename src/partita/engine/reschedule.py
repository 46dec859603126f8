"""Where each rescheduled try of a run stands, so that its next run goes on from there.

A sensor in ``mode="reschedule"`` ends each unsuccessful poke by giving its
slot back (``up_for_reschedule``); its next poke is the same try: its timeout
counts from the try's first poke, exponential backoff from the number of
pokes, and its log goes on after the lines already written. The driver keeps
that here, per task instance, and hands it out with the work
(``TaskWork.rescheduled``).

The design decision: nothing new is stored. After a restart the book is
rebuilt from what the run recorded anyway: the try's first ``running`` event
(its first poke), its ``up_for_reschedule`` events, and its log's last line.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from partita.definitions.states import TaskState
from partita.engine.active_run import TIKey
from partita.engine.work import Rescheduled, TaskOutcome
from partita.storage.base import Storage
from partita.storage.records import EventKind, TaskInstanceRecord


class RescheduleBook:
    """The rescheduled tries of one run, by task instance."""

    def __init__(self) -> None:
        self._tries: dict[TIKey, Rescheduled] = {}

    def get(self, key: TIKey) -> Rescheduled | None:
        """Where the try of ``key`` stands, if it was rescheduled (None: a fresh try)."""
        return self._tries.get(key) if self._tries else None

    def note(self, key: TIKey, outcome: TaskOutcome, began: datetime | None) -> None:
        """A run of the try of ``key``, which began at ``began``, ended rescheduled."""
        before = self._tries.get(key)
        first = before.first_start if before is not None else began or outcome.start_date
        count = before.count + 1 if before is not None else 1
        self._tries[key] = Rescheduled(first, count, outcome.first_log_seq + len(outcome.logs))

    def forget(self, key: TIKey) -> None:
        """The try of ``key`` ended otherwise (or was lost): its next try starts afresh."""
        if self._tries:
            self._tries.pop(key, None)

    def recover(self, storage: Storage, run_id: str, tis: Iterable[TaskInstanceRecord]) -> None:
        """Rebuild the book of a resumed run from its stored events and logs."""
        waiting = {ti.key: ti for ti in tis if ti.state is TaskState.UP_FOR_RESCHEDULE}
        if not waiting:
            return
        first: dict[TIKey, datetime] = {}
        counts: dict[TIKey, int] = {}
        for event in storage.events.read_events(run_id, kinds=[EventKind.TASK_STATE]):
            key = (event.task_id or "", event.map_index)
            ti = waiting.get(key)
            if ti is None or event.try_number != ti.try_number:
                continue
            state = event.payload.get("state")
            if state == TaskState.RUNNING:
                first.setdefault(key, event.timestamp)
            elif state == TaskState.UP_FOR_RESCHEDULE:
                counts[key] = counts.get(key, 0) + 1
        now = datetime.now(UTC)
        for key, ti in waiting.items():
            tail = storage.logs.tail_lines(run_id, key[0], key[1], ti.try_number, 1)
            self._tries[key] = Rescheduled(
                first.get(key, ti.start_date or now),
                max(counts.get(key, 0), 1),
                tail[-1].seq + 1 if tail else 0,
            )


__all__ = ["RescheduleBook"]
