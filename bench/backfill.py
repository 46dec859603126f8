"""Times planning a backfill of 10,000 daily runs, and a scheduler running a backfill.

    python3 bench/backfill.py [--days 10000] [--max-active 16] [--runs 300] [--postgres URL]

1. ``create_backfill`` of an ``@daily`` DAG over N days (the timetable's
   runs in the range, the existing runs looked up, the plan made): median of
   5, in seconds, without and with storing the plan (one empty SQLite file
   each). The target is <= 0.3 s for 10,000. Then the same for an asset
   backfill of N daily partitions (``create_asset_backfill``), stored, with
   its CPU time (which a loaded machine does not inflate).
2. The ``BackfillRunner``'s own time: passes that each queue
   ``--max-active`` runs, the runs ended by direct writes between passes,
   until the backfill completes; its time per run queued.
3. A scheduler (in-process executor, 16 runs at once) finishing ``--runs``
   queued one-task runs, then a backfill of as many with
   ``--max-active-runs`` 16 and 32: runs per second of each. With more
   active runs allowed than the scheduler runs at once, some are always
   queued, and the backfill runs at the scheduler's full throughput.

Design decision: the DAG of 1 and 2 is built in this process and its runs
are ended by direct writes, so what is timed there is the backfill's own
code and store; 3 is the whole scheduler.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from partita import DAG, DailyPartitionsDefinition, Definitions, EmptyOperator, asset
from partita.definitions.asset_backfill_job import job_for_assets
from partita.definitions.states import RunState
from partita.executors.in_process import InProcessExecutor
from partita.scheduler.asset_backfills import create_asset_backfill
from partita.scheduler.backfill_plan import BackfillOptions, create_backfill
from partita.scheduler.backfills import BackfillRunner
from partita.scheduler.dag_files import DagFileProcessor
from partita.scheduler.loop import Scheduler, SchedulerOptions
from partita.storage.backfills import BackfillStatus
from partita.storage.base import Storage
from partita.storage.records import DagRunRecord, WriteBatch
from partita.storage.sql import SqlStorage

START = datetime(1990, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
REPEAT = 5


def daily_dag() -> DAG:
    with DAG("bench_daily", schedule="@daily", start_date=START, catchup=False) as dag:
        EmptyOperator(task_id="noop")
    return dag


def time_planning(
    url: Callable[[str], str], folder: Path, dag: DAG, days: int, dry_run: bool
) -> float:
    """The median of 5 plans of ``days`` daily runs, each into an empty database."""
    timings = []
    last = START + timedelta(days=days - 1)
    for repetition in range(REPEAT):
        with SqlStorage(url(f"plan{int(dry_run)}{repetition}"), folder) as storage:
            began = time.perf_counter()
            create_backfill(storage, dag, START, last, BackfillOptions(dry_run=dry_run), NOW)
            timings.append(time.perf_counter() - began)
    return statistics.median(timings)


def time_asset_planning(url: Callable[[str], str], folder: Path, days: int) -> tuple[float, float]:
    """Median wall and CPU seconds of 5 asset backfills of ``days`` daily partitions, stored."""
    partitions = DailyPartitionsDefinition(start_date=START.date().isoformat())

    @asset(partitions_def=partitions)
    def daily_table() -> int:
        return 1

    job = job_for_assets(Definitions(assets=[daily_table]).dags, [daily_table.key])
    last = (START + timedelta(days=days - 1)).date().isoformat()
    walls, cpus = [], []
    for repetition in range(REPEAT):
        with SqlStorage(url(f"assets{repetition}"), folder) as storage:
            wall, cpu = time.perf_counter(), time.process_time()
            create_asset_backfill(
                storage,
                job,
                [daily_table.key],
                f"{START.date().isoformat()}...{last}",
                BackfillOptions(),
                NOW,
            )
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)  # fmt: skip
    return statistics.median(walls), statistics.median(cpus)


def time_driving(storage: Storage, dag: DAG, days: int, max_active: int) -> tuple[float, int]:
    for left in storage.backfills.list_backfills(statuses=[BackfillStatus.RUNNING]):
        storage.backfills.finish(left.backfill_id, BackfillStatus.CANCELLED, NOW)  # planned ones
    options = BackfillOptions(max_active_runs=max_active)
    end = START + timedelta(days=days - 1)
    backfill = create_backfill(storage, dag, START, end, options, NOW).backfill
    runner, spent, queued = BackfillRunner(storage), 0.0, 0
    while storage.backfills.get(backfill.backfill_id).status is BackfillStatus.RUNNING:
        began = time.perf_counter()
        queued += sum(runner.run_once(NOW).values())
        spent += time.perf_counter() - began
        active = storage.runs.list_runs(dag.dag_id, states=[RunState.QUEUED], limit=max_active)
        storage.write(WriteBatch(runs=[r.ended(RunState.SUCCESS, NOW) for r in active]))
    return spent, queued


TRIVIAL_DAG = """
from datetime import datetime
from partita import DAG, DailyPartitionsDefinition, Definitions, EmptyOperator, asset
from partita.definitions.asset_backfill_job import job_for_assets

with DAG({dag_id!r}, schedule="@daily", start_date=datetime(1990, 1, 1), catchup=False,
         is_paused_upon_creation=True) as dag:
    EmptyOperator(task_id="noop")
"""


def scheduler_throughput(
    url: str, folder: Path, runs: int, *, backfill: bool, max_active: int = 32
) -> float:
    """Runs per second a scheduler (in-process executor) finishes: queued runs, or a backfill."""
    folder.mkdir(parents=True, exist_ok=True)
    dag_id = f"bench_backfill_{max_active}" if backfill else "bench_queued"  # one database: all
    path = folder / f"{dag_id}.py"
    path.write_text(TRIVIAL_DAG.format(dag_id=dag_id))
    with SqlStorage(url, folder) as storage:
        files = DagFileProcessor([str(path)], storage.registry, import_timeout=30,
                                 default_timezone="UTC", paused_at_creation=True)  # fmt: skip
        options = SchedulerOptions(max_concurrent_runs=16, heartbeat_interval=0)
        scheduler = Scheduler(storage, files, InProcessExecutor, options=options)
        scheduler.run_once()  # parse, heartbeat
        dag = files.get_dag(dag_id)
        assert dag is not None
        began = time.perf_counter()
        if backfill:
            last = START + timedelta(days=runs - 1)
            plan = BackfillOptions(max_active_runs=max_active)
            create_backfill(storage, dag, START, last, plan, NOW)
        else:
            storage.queue.enqueue([
                DagRunRecord(f"manual__{dag_id}__{i:05d}", dag.dag_id, "", RunState.QUEUED,
                             logical_date=START + timedelta(days=i), queued_at=NOW)
                for i in range(runs)
            ])  # fmt: skip
        while sum(r.state.finished for r in storage.runs.list_runs(dag_id, limit=runs)) < runs:
            scheduler.run_once()
        took = time.perf_counter() - began
        scheduler.stop()
    return runs / took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=10_000)
    parser.add_argument("--max-active", type=int, default=16)
    parser.add_argument("--runs", type=int, default=300, help="runs of the throughput test")
    parser.add_argument("--postgres", default=None, help="also on this PostgreSQL URL")
    args = parser.parse_args()
    dag = daily_dag()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "storage"
        urls: list[tuple[str, Callable[[str], str]]] = [
            ("sqlite", lambda name: f"sqlite:///{Path(tmp) / name}.db")
        ]
        if args.postgres:
            urls.append(("postgres", lambda _: args.postgres))
        for name, url in urls:
            plan = time_planning(url, folder, dag, args.days, dry_run=True)
            stored = time_planning(url, folder, dag, args.days, dry_run=False)
            print(f"{name}: planning a backfill of {args.days} daily runs: {plan:.3f} s "
                  f"({stored:.3f} s with storing it)")  # fmt: skip
            wall, cpu = time_asset_planning(url, folder, args.days)
            print(f"{name}: planning and storing an asset backfill of {args.days} daily "
                  f"partitions: {wall:.3f} s ({cpu:.3f} s of CPU)")  # fmt: skip
            with SqlStorage(url("drive"), folder) as storage:
                spent, queued = time_driving(storage, dag, min(args.days, 2000), args.max_active)
            print(f"{name}: the backfill runner queued {queued} runs, "
                  f"{spent / queued * 1e6:.0f} us of its time per run "
                  f"({args.max_active} active at once)")  # fmt: skip
            for backfill, max_active in ((False, 0), (True, 16), (True, 32)):
                what = f"a backfill (--max-active-runs {max_active}) of" if backfill else "queued"
                rate = scheduler_throughput(
                    url(f"sched{max_active}"), folder / str(max_active), args.runs,
                    backfill=backfill, max_active=max_active,
                )  # fmt: skip
                print(f"{name}: a scheduler (16 runs at once) finished {what} {args.runs} "
                      f"one-task runs at {rate:.1f} runs/s")  # fmt: skip


if __name__ == "__main__":
    main()
