"""Which schedulers are alive, and which running runs have lost theirs (for the CLI, the UI).

A run a scheduler started is ``running`` in the database until a scheduler
ends it. When its scheduler dies, a live scheduler adopts and resumes it
(``RunSupervisor.adopt``, within ``adopt_interval`` of the death being
noticed); with no scheduler running nothing can, and the run would look
``running`` forever. ``orphan_notes`` tells those runs apart, so listings
show "running" with a note instead of pretending the run moves.

The design decision: nothing is written here. The run stays ``running``
because that is its true state (its task instances may have finished, and a
scheduler that starts resumes it from there); only the reading side adds
the note.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from partita.definitions.states import RunState
from partita.engine.host import HOSTNAME, pid_alive
from partita.storage.base import Storage
from partita.storage.records import DagRunRecord
from partita.storage.run_queue import SchedulerRecord

#: A scheduler whose heartbeat is older than this is dead (another host's, or a hung one).
HEARTBEAT_TIMEOUT = timedelta(seconds=30)


def live_scheduler_ids(schedulers: Sequence[SchedulerRecord], now: datetime) -> set[str]:
    """The schedulers alive at ``now``: a recent heartbeat, and a live pid when on this host."""
    return {
        s.scheduler_id
        for s in schedulers
        if now - s.heartbeat_at <= HEARTBEAT_TIMEOUT
        and (s.hostname != HOSTNAME or pid_alive(s.pid))
    }


def orphan_notes(storage: Storage, runs: Iterable[DagRunRecord]) -> dict[str, str]:
    """Run id -> a note, for the running runs of ``runs`` whose scheduler is gone."""
    driven = [r.run_id for r in runs if r.state is RunState.RUNNING and r.pid is None]
    if not driven:
        return {}
    schedulers = storage.queue.list_schedulers()
    live = live_scheduler_ids(schedulers, datetime.now(UTC))
    last_beat = {s.scheduler_id: s.heartbeat_at for s in schedulers}
    owners = storage.queue.owners(driven)
    notes = {}
    for run_id in driven:
        owner = owners.get(run_id)
        if owner in live:
            continue
        beat = last_beat.get(owner) if owner else None
        since = f" (last heartbeat {beat:%Y-%m-%d %H:%M:%S} UTC)" if beat else ""
        adopter = "another scheduler resumes it" if live else "a scheduler that starts resumes it"
        notes[run_id] = f"its scheduler stopped{since}; {adopter}"
    return notes


__all__ = ["HEARTBEAT_TIMEOUT", "live_scheduler_ids", "orphan_notes"]
