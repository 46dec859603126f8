"""Three ``partita scheduler`` processes on one PostgreSQL over 10,000 schedule ticks.

Fifty hourly DAGs with catchup over 200 hours (10,000 due ticks) are ticked by three
schedulers at once on a fast clock (``PARTITA_SCHEDULER_CLOCK``), so the ticks come in
seconds and the schedulers race for every one of them. Each due DAG is claimed with
``FOR UPDATE SKIP LOCKED`` on its indexed next-run column; the test checks that every
tick queued exactly one run: 0 duplicates, 0 lost.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from partita.settings import load_settings
from partita.storage.factory import open_storage

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DAGS, HOURS = 50, 200
START = datetime(2024, 1, 1, tzinfo=UTC)
DAG_FILE = """
import datetime
from partita import DAG, task

START = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
END = START + datetime.timedelta(hours={last_hour})


def make(number):
    # one run at a time per scheduler (max_concurrent_runs=1) and a task that waits:
    # the runs stay queued, so the test measures queueing, not running
    with DAG(f"tick_{{number:02d}}", schedule="@hourly", start_date=START, end_date=END,
             catchup=True, max_active_runs=1) as dag:

        @task
        def wait():
            import time
            time.sleep(3600)

        wait()
    return dag


for number in range({dags}):
    globals()[f"dag_{{number}}"] = make(number)
"""


def test_three_schedulers_queue_each_of_10000_ticks_exactly_once(
    tmp_path: Path, pg_clean_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ticks.py"
    path.write_text(DAG_FILE.format(last_hour=HOURS - 1, dags=DAGS))
    settings = {
        "PARTITA_HOME": str(tmp_path / "home"),
        "PARTITA_DATABASE_URL": pg_clean_database_url,
        "PARTITA_SECRET_KEY": "ticks-test-signing-key-0123456789abcdef",
        "PARTITA_MAX_CONCURRENT_RUNS": "1",
        "PARTITA_DAGS_PAUSED_AT_CREATION": "false",
        # 200 hours of schedule in about 20 seconds once the clock starts
        "PARTITA_SCHEDULER_CLOCK": f"{START.isoformat()}:36000",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTITA_")}
    env.update(settings, PYTHONUNBUFFERED="1")
    logs = [tmp_path / f"scheduler-{n}.log" for n in range(3)]
    schedulers = []
    for log in logs:
        with log.open("wb") as sink:
            schedulers.append(subprocess.Popen(
                [sys.executable, "-m", "partita.cli.main", "scheduler", str(path), "--workers=1"],
                env=env, stdout=sink, stderr=subprocess.STDOUT,
            ))  # fmt: skip
    try:
        with open_storage(load_settings()) as storage:
            expected = DAGS * HOURS
            started = time.monotonic()
            deadline = started + 240
            count = 0
            while time.monotonic() < deadline:
                count = len(storage.runs.list_runs(limit=20_000))
                if count >= expected:
                    break
                time.sleep(2)
            took = time.monotonic() - started
            time.sleep(3)  # a duplicate would come now, if ever
            runs = storage.runs.list_runs(limit=20_000)
            beats = storage.queue.list_schedulers()
    finally:
        for process in schedulers:
            process.send_signal(signal.SIGKILL)
            process.wait(30)
    tails = "\n".join(log.read_text(errors="replace")[-2000:] for log in logs)
    assert len(beats) == 3, f"not all three schedulers ran:\n{tails}"
    per_date = Counter((run.dag_id, run.logical_date) for run in runs)
    duplicates = {key: n for key, n in per_date.items() if n > 1}
    wanted = {
        (f"tick_{number:02d}", START + timedelta(hours=hour))
        for number in range(DAGS)
        for hour in range(HOURS)
    }
    lost = wanted - set(per_date)
    extra = set(per_date) - wanted
    print(
        f"\nthree schedulers: {len(runs)} runs for {len(wanted)} ticks, "
        f"{len(duplicates)} duplicates, {len(lost)} lost, {len(extra)} unexpected; "
        f"all queued {took:.0f} s after start"
    )
    assert not duplicates, f"duplicate runs: {sorted(duplicates)[:10]}"
    assert not lost, f"{len(lost)} ticks without a run, e.g. {sorted(lost)[:5]}\n{tails}"
    assert not extra, f"runs for no tick: {sorted(extra)[:5]}"
    assert {run.run_type for run in runs} == {"scheduled"}
