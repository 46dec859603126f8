"""``partita db clean`` and ``retention:`` of partita.yaml, with a real scheduler running."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import Invoke, partita_command, subprocess_env
from test_cli_scheduler import Processes, runs_in, stop, wait_for

from partita.definitions.states import RunState
from partita.exceptions import ConfigurationError
from partita.settings import load_settings
from partita.storage.base import Storage
from partita.storage.factory import open_storage

QUICK_DAG = """
import time
from datetime import datetime
from partita import DAG, PythonOperator

with DAG("quick", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    PythonOperator(task_id="t", python_callable=lambda: "x" * 10)

with DAG("slow", schedule=None, start_date=datetime(2024, 1, 1)) as slow:
    PythonOperator(task_id="nap", python_callable=lambda: time.sleep(6))
"""


@pytest.fixture
def schedulers(cli_home: Path) -> Iterator[Processes]:
    running = Processes(cli_home)
    yield running
    running.stop_all()


@pytest.fixture
def store(cli_home: Path) -> Iterator[Storage]:
    with open_storage(load_settings()) as storage:
        yield storage


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--older-than", "30"], "'30' is not a duration: write a number followed by a unit"),
        (["--older-than", "thirty days"], "e.g. 30d, 12h, 1h30m, 90s or 2w"),
        (["--older-than", "1d", "--tables", "runs,tick"], "unknown table 'tick' to clean"),
        (["--older-than", "1d", "--keep-last", "-1"], "-1 is not in the range x>=0"),
        ([], "Missing option '--older-than'"),
    ],
)
def test_bad_input_exits_2_with_one_line(invoke: Invoke, args: list[str], message: str) -> None:
    result = invoke("db", "clean", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_retention_settings_are_read_and_checked(cli_home: Path) -> None:
    cli_home.mkdir(parents=True)
    config = cli_home / "partita.yaml"
    config.write_text("retention: {older_than: 30d, keep_last: 5, every: 2h}\n")
    retention = load_settings().retention
    assert retention is not None
    assert (retention.older_than.days, retention.keep_last, retention.every.seconds) == (
        30, 5, 7200,
    )  # fmt: skip
    config.write_text("retention: {older_than: 30 days}\n")
    with pytest.raises(ConfigurationError, match=r"retention\.older_than.*is not a duration"):
        load_settings()
    config.write_text("retention: {keep_last: 3}\n")
    with pytest.raises(ConfigurationError, match=r"retention\.older_than"):
        load_settings()


@pytest.mark.slow
def test_clean_beside_a_running_scheduler_and_retention_on_a_schedule(
    tmp_path: Path, cli_home: Path, schedulers: Processes, store: Storage, invoke: Invoke
) -> None:
    path = tmp_path / "quick.py"
    path.write_text(QUICK_DAG)
    cli_home.mkdir(parents=True, exist_ok=True)
    scheduler = schedulers.start("scheduler", str(path))
    for _ in range(4):
        assert invoke("trigger", str(path), "quick").exit_code == 0
    wait_for(lambda: sum(r.state.finished for r in runs_in(store, "quick")) == 4, 60, "4 runs")
    assert invoke("trigger", str(path), "slow").exit_code == 0
    wait_for(lambda: runs_in(store, "slow")[0].state is RunState.RUNNING, 60, "the slow run")
    time.sleep(1.1)
    dry = invoke("db", "clean", "--older-than", "1s", "--keep-last", "1", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Would delete" in dry.output and "  3 finished runs" in dry.output
    assert len(runs_in(store, "quick")) == 4
    cleaned = subprocess.run(  # another process, while the scheduler drives the slow run
        partita_command("db", "clean", "--older-than", "1s", "--batch-size", "1"),
        env=subprocess_env(cli_home), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert cleaned.returncode == 0, cleaned.stderr
    assert "  4 finished runs" in cleaned.stdout
    assert runs_in(store, "quick") == []
    (slow,) = runs_in(store, "slow")  # running: untouched, and it ends as it should
    wait_for(lambda: store.runs.get_run(slow.run_id).state.finished, 60, "the slow run's end")
    assert store.runs.get_run(slow.run_id).state is RunState.SUCCESS
    stop(scheduler)

    # retention: in partita.yaml, run by the scheduler
    (cli_home / "partita.yaml").write_text(
        "retention: {older_than: 1s, keep_last: 1, every: 1s, tables: [runs]}\n"
    )
    scheduler = schedulers.start("scheduler", str(path))
    for _ in range(3):
        assert invoke("trigger", str(path), "quick").exit_code == 0

    def retained() -> bool:
        quick, slow = runs_in(store, "quick"), runs_in(store, "slow")
        return len(quick) == 1 and quick[0].state.finished and len(slow) == 1

    wait_for(retained, 60, "the scheduler's retention")
    stop(scheduler)


def test_clean_deletes_old_ticks_keeping_the_newest_and_the_scheduler_does_too(
    invoke: Invoke, store: Storage
) -> None:
    from datetime import UTC, datetime, timedelta

    from partita.scheduler.retention import RetentionService
    from partita.settings import RetentionSettings
    from partita.storage.instigators import InstigatorKind, TickRecord, TickStatus, TickWrite

    now = datetime.now(UTC)
    old = [now - timedelta(days=40, minutes=i) for i in range(6)]
    store.instigators.record_ticks(
        [TickWrite(TickRecord(InstigatorKind.SENSOR, "files", TickStatus.SKIPPED, at))
         for at in reversed(old)]
    )  # fmt: skip
    dry = invoke("db", "clean", "--older-than", "30d", "--keep-last", "2", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "  4 sensor and schedule ticks" in dry.output
    assert "  0 expired web sessions" in dry.output
    done = invoke("db", "clean", "--older-than", "30d", "--keep-last", "2", "--tables", "ticks")
    assert done.exit_code == 0 and "  4 sensor and schedule ticks" in done.output
    assert "finished runs" not in done.output  # only the table asked for
    assert len(store.instigators.list_ticks(InstigatorKind.SENSOR, "files")) == 2
    service = RetentionService(store, RetentionSettings(timedelta(days=30), tables=("ticks",)))
    assert service.run_once(now) == {"ticks": 2}
    assert service.run_once(now) == {}  # the sweep ends; the next one is due in `every`
    assert store.instigators.list_ticks(InstigatorKind.SENSOR, "files") == []
