"""No-op task instance throughput of the Celery executor with 1, 2 and 4 ``partita worker``\\s.

Usage: ``python bench/celery_throughput.py [TASKS] [BROKER_URL] [DATABASE_URL]``
(defaults: 2000 tasks, ``redis://127.0.0.1:6379/14``, a fresh SQLite file).
For each worker count it starts a real ``partita scheduler`` (``PARTITA_EXECUTOR=celery``)
and that many ``partita worker`` processes (``--concurrency 4`` threads each), queues a
run of one task mapped over TASKS items that return at once, and reports task
instances per second between the first try's start and the last try's end (as the
workers recorded them), and the milliseconds from the run's queueing to its end.
Each hop (publish, consume, claim commit, end commit) is inside that figure;
``bench/celery_hops.py`` times them one by one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DAG = """
import datetime
from partita import dag, task


@dag(schedule=None, start_date=datetime.datetime(2024, 1, 1))
def noop_fan():
    @task
    def items():
        return list(range({tasks}))

    @task
    def noop(x):
        return None

    noop.expand(x=items())


noop_fan()
"""


def partita(*args: str, env: dict[str, str], **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "partita.cli.main", *args], env=env, **kwargs
    )


def measure(workers: int, tasks: int, broker: str, database: str | None) -> tuple[float, float]:
    """(task instances per second, ms from queued to ended) of one run with ``workers``."""
    from partita.settings import load_settings
    from partita.storage.factory import open_storage

    home = Path(tempfile.mkdtemp(prefix="partita-celery-bench-"))
    dag_file = home / "noop_fan.py"
    dag_file.write_text(DAG.format(tasks=tasks))
    env = {
        **os.environ, "PARTITA_HOME": str(home), "PARTITA_EXECUTOR": "celery",
        "PARTITA_CELERY_BROKER_URL": broker,
    }  # fmt: skip
    if database:
        env["PARTITA_DATABASE_URL"] = database
        env.setdefault("PARTITA_SECRET_KEY", "celery-throughput-bench-key-0123456789abcdef")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    started = [
        partita("worker", str(dag_file), "--concurrency", "4", env=env, **quiet)
        for _ in range(workers)
    ]
    started.append(partita("scheduler", str(dag_file), env=env, **quiet))
    try:
        while partita("trigger", "noop_fan", env=env, **quiet).wait() != 0:
            dead = [p.args for p in started if p.poll() is not None]
            if dead:
                raise SystemExit(f"{dead[0]} exited early; run it by hand to see why")
            time.sleep(0.5)  # the scheduler has not registered the DAG yet
        os.environ.update({k: v for k, v in env.items() if k.startswith("PARTITA_")})
        with open_storage(load_settings()) as storage:
            run = storage.runs.list_runs("noop_fan", limit=1)[0]
            while not storage.runs.get_run(run.run_id).state.finished:
                time.sleep(0.5)
            run = storage.runs.get_run(run.run_id)
            tis = [t for t in storage.runs.get_task_instances(run.run_id) if t.task_id == "noop"]
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(30)
    first = min(t.start_date for t in tis if t.start_date)
    last = max(t.end_date for t in tis if t.end_date)
    assert run.queued_at is not None and run.end_date is not None
    total_ms = (run.end_date - run.queued_at).total_seconds() * 1000
    return len(tis) / (last - first).total_seconds(), total_ms


def main() -> None:
    tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    broker = sys.argv[2] if len(sys.argv) > 2 else "redis://127.0.0.1:6379/14"
    database = sys.argv[3] if len(sys.argv) > 3 else None
    print(f"{tasks} no-op task instances, broker {broker}, database {database or 'SQLite'}")
    for workers in (1, 2, 4):
        rate, total_ms = measure(workers, tasks, broker, database)
        print(f"  {workers} worker(s): {rate:7.1f} task instances/s  (run: {total_ms:.0f} ms)")


if __name__ == "__main__":
    main()
