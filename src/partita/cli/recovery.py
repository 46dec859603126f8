"""Record as failed the runs whose process died without saying so (``kill -9``, a power cut).

A ``partita run`` records its run as ``running`` with its hostname and pid.
If the process is killed outright it cannot record the end, so whoever opens
the metadata database next on the same host checks those pids: a run whose
process is gone gets a ``run_state`` event "the process running it (pid N) is
gone", state ``failed``, and its unfinished task instances are cancelled.

The design decision: only runs of *this* host are judged, by asking the
operating system whether the pid is alive; runs of other hosts need a
heartbeat, which is the scheduler's run monitor's job. This function belongs
beside that monitor once it exists (it uses only the ``Storage`` interface).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from partita.definitions.states import RunState, TaskState
from partita.engine.host import HOSTNAME
from partita.storage.base import Storage
from partita.storage.records import DagRunRecord, EventKind, EventRecord, WriteBatch

#: How many running runs one check looks at.
MAX_RUNS_CHECKED = 10_000


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists and is not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's process
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): the signal check is all there is
    # The state letter follows the command name, which is in parentheses.
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def fail_orphaned_runs(
    storage: Storage,
    *,
    hostname: str = HOSTNAME,
    is_alive: Callable[[int], bool] = pid_alive,
) -> list[str]:
    """Record every running run of ``hostname`` whose pid is gone as failed; return their ids."""
    orphaned = [
        run
        for run in storage.runs.list_runs(states=[RunState.RUNNING], limit=MAX_RUNS_CHECKED)
        if run.hostname == hostname
        and run.pid is not None
        and run.pid != os.getpid()
        and not is_alive(run.pid)
    ]
    for run in orphaned:
        storage.write(_failure_batch(storage, run, datetime.now(UTC)))
    return [run.run_id for run in orphaned]


def _failure_batch(storage: Storage, run: DagRunRecord, now: datetime) -> WriteBatch:
    batch = WriteBatch()
    for ti in storage.runs.get_task_instances(run.run_id):
        if ti.state.finished:
            continue
        ti.state = TaskState.CANCELLED
        ti.end_date = now
        batch.task_instances.append(ti)
        batch.events.append(
            EventRecord(
                run.run_id, EventKind.TASK_STATE, now, ti.task_id, ti.map_index, ti.try_number,
                {"state": TaskState.CANCELLED.value},
            )
        )  # fmt: skip
    run.state = RunState.FAILED
    run.end_date = now
    batch.runs.append(run)
    batch.events.append(
        EventRecord(
            run.run_id,
            EventKind.RUN_STATE,
            now,
            payload={
                "state": RunState.FAILED.value,
                "message": f"the process running it (pid {run.pid}) is gone",
            },
        )
    )
    return batch


__all__ = ["fail_orphaned_runs", "pid_alive"]
