"""Record as failed the runs whose process died without saying so (``kill -9``, a power cut).

A ``partita run`` records its run as ``running`` with its hostname, pid and
a heartbeat (``dag_run.heartbeat_at``, renewed every few seconds by the
run's writer thread). Whoever opens the metadata database next judges every
running run:

* of this host: dead when its pid is gone, or when the process that has the
  pid now started after the run did (the pid was reused);
* of another host (a shared PostgreSQL): dead when its heartbeat is older
  than ``HEARTBEAT_TIMEOUT``.

A run with no pid is a scheduler's: it is left alone, since a scheduler
resumes the runs of a dead scheduler (``partita.scheduler.supervisor``).

A dead run gets a ``run_state`` event saying why, state ``failed`` and as
end time its last sign of life (its heartbeat, or a later task start or
end); its unfinished task instances are cancelled, and the temporary files
its process left in the storage folder are removed.

The design decision: the failure is written with a compare-and-set on the
run's state and heartbeat (``Storage.write_if_unchanged``), so of two
processes recovering the same run at once exactly one records it. This
function belongs beside the scheduler's run monitor once it exists (it uses
only the ``Storage`` interface).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from msgspec.structs import replace

from partita.definitions.states import RunState, TaskState
from partita.engine.host import HOSTNAME, pid_alive
from partita.storage.base import Storage
from partita.storage.files import remove_temp_files
from partita.storage.group_commit import HEARTBEAT_INTERVAL
from partita.storage.records import (
    DagRunRecord,
    EventKind,
    EventRecord,
    TaskInstanceRecord,
    WriteBatch,
)

#: How many running runs one check looks at.
MAX_RUNS_CHECKED = 10_000
#: Seconds without a heartbeat after which a run of another host counts as dead.
HEARTBEAT_TIMEOUT = 60.0
#: How much earlier than its run a run's process may have started and still be its owner
#: (the boot time in /proc/stat is whole seconds).
_START_TOLERANCE = timedelta(seconds=1)


def process_start_time(pid: int) -> datetime | None:
    """When process ``pid`` started (Linux ``/proc``), or None when that cannot be told."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        ticks = int(fields[19])  # field 22 of stat; fields here start at field 3
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), UTC)


def fail_orphaned_runs(
    storage: Storage,
    *,
    hostname: str = HOSTNAME,
    is_alive: Callable[[int], bool] = pid_alive,
    started_at: Callable[[int], datetime | None] = process_start_time,
    heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
    now: datetime | None = None,
) -> list[str]:
    """Record every running run whose owner is dead as failed; return the ids it recorded."""
    now = now if now is not None else datetime.now(UTC)
    recorded: list[str] = []
    for run in storage.runs.list_runs(states=[RunState.RUNNING], limit=MAX_RUNS_CHECKED):
        if run.pid is None:  # a scheduler's run: a scheduler resumes it (``run_claim``)
            continue
        if run.hostname == hostname:
            death = _death_here(run, is_alive, started_at, now)
        else:
            death = _death_elsewhere(run, now, heartbeat_timeout)
        if death is None:
            continue
        reason, files_before = death
        tis = storage.runs.get_task_instances(run.run_id)
        died = last_sign_of_life(run, tis, now)
        if storage.write_if_unchanged(_failure_batch(run, tis, died, reason), seen=run):
            recorded.append(run.run_id)
            _remove_leftovers(storage, run, files_before)
    return recorded


def _death_here(
    run: DagRunRecord,
    is_alive: Callable[[int], bool],
    started_at: Callable[[int], datetime | None],
    now: datetime,
) -> tuple[str, datetime] | None:
    """Why a run of this host is dead and until when its process wrote files; None if alive."""
    pid = run.pid
    if pid is None or pid == os.getpid():
        return None
    if not is_alive(pid):
        return f"the process running it (pid {pid}) is gone", now
    began, start = started_at(pid), run.start_date
    if began is not None and start is not None and began > start + _START_TOLERANCE:
        reason = (
            f"the process running it (pid {pid}) is gone; that pid now belongs to a "
            f"process started at {began.isoformat(timespec='seconds')}, after the run"
        )
        return reason, began
    return None


def _death_elsewhere(
    run: DagRunRecord, now: datetime, timeout: float
) -> tuple[str, datetime] | None:
    """Why a run of another host is dead (a stale heartbeat) and until when it wrote files."""
    beat = run.heartbeat_at or run.start_date or run.queued_at
    if beat is None or (now - beat).total_seconds() <= timeout:
        return None
    reason = (
        f"no heartbeat from its process (pid {run.pid} on {run.hostname}) since "
        f"{beat.isoformat(timespec='seconds')}, more than {timeout:g}s ago"
    )
    # It died at most one heartbeat interval after its last heartbeat.
    return reason, beat + timedelta(seconds=2 * HEARTBEAT_INTERVAL)


def last_sign_of_life(run: DagRunRecord, tis: list[TaskInstanceRecord], now: datetime) -> datetime:
    """When the run's process was last known alive: its heartbeat or a later task change."""
    known = [t for t in (run.heartbeat_at, run.start_date, run.queued_at) if t is not None]
    for ti in tis:
        known.extend(t for t in (ti.start_date, ti.end_date) if t is not None)
    return max(known) if known else now


def _failure_batch(
    seen: DagRunRecord, tis: list[TaskInstanceRecord], died: datetime, reason: str
) -> WriteBatch:
    batch = WriteBatch()
    for ti in tis:
        if ti.state.finished:
            continue
        ti = ti.moved(TaskState.CANCELLED, died)
        batch.task_instances.append(ti)
        batch.events.append(
            EventRecord(
                seen.run_id, EventKind.TASK_STATE, died, ti.task_id, ti.map_index, ti.try_number,
                {"state": TaskState.CANCELLED.value},
            )
        )  # fmt: skip
    run = replace(seen, state=RunState.FAILED, end_date=died)
    batch.runs.append(run)
    payload = {"state": RunState.FAILED.value, "message": reason}
    batch.events.append(EventRecord(run.run_id, EventKind.RUN_STATE, died, payload=payload))
    return batch


def _remove_leftovers(storage: Storage, run: DagRunRecord, written_before: datetime) -> None:
    """Remove the temporary files the run's process left in the storage folder."""
    if storage.storage_dir is None or run.hostname is None or run.pid is None:
        return
    remove_temp_files(storage.storage_dir, run.hostname, run.pid, written_before)


__all__ = [
    "HEARTBEAT_TIMEOUT",
    "fail_orphaned_runs",
    "last_sign_of_life",
    "pid_alive",
    "process_start_time",
]
