"""``partita backfill``: bad input in-process, and a backfill driven by a real scheduler that is
killed mid-way and restarted."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import Invoke, partita_command, subprocess_env
from test_cli_scheduler import SLACK_DAG, Processes, runs_in, stop, wait_for

from partita.definitions.asset_key import AssetKey
from partita.definitions.states import RunState
from partita.settings import load_settings
from partita.storage.backfills import BackfillStatus
from partita.storage.base import Storage
from partita.storage.factory import open_storage

DAILY_DAG = """
import time
from datetime import datetime
from pathlib import Path
from partita import DAG, PythonOperator

def mark(ds, **_):
    with open({markers!r}, "a") as f:
        f.write(ds + "\\n")
    time.sleep(0.3)

with DAG("daily", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False,
         is_paused_upon_creation=True) as dag:
    PythonOperator(task_id="mark", python_callable=mark)
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


@pytest.fixture
def slack_dag(tmp_path: Path) -> Path:
    path = tmp_path / "slack.py"
    path.write_text(SLACK_DAG)
    return path


def backfill_id_of(output: str) -> str:
    first = output.splitlines()[0]
    assert first.startswith("Backfill "), output
    return first.split()[1]


def test_a_dry_run_prints_the_plan_and_stores_nothing(invoke: Invoke, slack_dag: Path) -> None:
    result = invoke(
        "backfill", "create", str(slack_dag), "dag_with_slack", "--from", "2024-01-01",
        "--to", "2025-01-01", "--dry-run",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "would cover 366 logical dates (366 new runs, 0 to run again, 0 kept" in result.output
    assert "2024-01-01T12:00:00+00:00  create  backfill__2024-01-01T12:00:00+00:00__" in (
        result.output
    )
    assert "... and 346 more, to 2024-12-31T12:00:00+00:00" in result.output
    listed = invoke("backfill", "list")
    assert listed.exit_code == 0 and "No backfills yet" in listed.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2024-01-01T01:00", "--to", "2024-01-01T11:00"],
         "holds no run of its schedule (0 12 * * *); nothing to backfill"),
        (["--from", "2024-02-01", "--to", "2024-01-01"], "is after --to 2024-01-01T00:00:00; swap"),
        (["--from", "yesterday", "--to", "2024-01-01"], "'yesterday' is not an ISO 8601 date"),
        (["--from", "2024-01-01"], "give the range with --from DATE and --to DATE"),
        (["--from", "2024-01-01", "--to", "2024-01-02", "--reprocess", "some"], "'some' is not"),
        (["--from", "2024-01-01", "--to", "2024-01-02", "--max-active-runs", "0"], "0 is not"),
        (["--from", "2024-01-01", "--to", "2024-01-02", "--conf", "[1]"], "must be a JSON object"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line(
    invoke: Invoke, slack_dag: Path, args: list[str], message: str
) -> None:
    result = invoke("backfill", "create", str(slack_dag), "dag_with_slack", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_assets_without_partitions_are_refused(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "assets.py"
    path.write_text("from partita import asset\n\n@asset\ndef orders():\n    return 1\n")
    result = invoke("backfill", "create", str(path), "--assets", "orders",
                    "--partitions", "2024-01-01...2024-01-31")  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "partitioned backfills need partitioned assets" in result.stderr
    assert "orders have no partitions definition" in result.stderr
    bad = invoke("backfill", "create", str(path), "--assets", "orders", "--partitions", "...x")
    assert bad.exit_code == 2 and "is not a range: write FIRST...LAST" in bad.stderr
    missing = invoke("backfill", "create", str(path), "--assets", "orders")
    assert missing.exit_code == 2 and "--assets needs --partitions" in missing.stderr
    dated = invoke("backfill", "create", str(path), "--assets", "orders", "--from", "2024-01-01")
    assert dated.exit_code == 2 and "--from/--to go with DAG_ID" in dated.stderr


def test_create_list_show_and_cancel(invoke: Invoke, slack_dag: Path) -> None:
    created = invoke(
        "backfill", "create", str(slack_dag), "dag_with_slack", "--from", "2024-03-01",
        "--to", "2024-03-10T12:00", "--max-active-runs", "2",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    backfill_id = backfill_id_of(created.output)
    assert "10 logical dates" in created.output and "2 at a time" in created.output
    listed = invoke("backfill", "list")
    assert backfill_id in listed.output and "0/10" in listed.output
    shown = invoke("backfill", "show", backfill_id)
    assert shown.exit_code == 0 and "running" in shown.output and "10 to queue" in shown.output
    data = json.loads(invoke("backfill", "show", backfill_id, "--json").output)
    assert (data["dag_id"], data["status"], data["max_active_runs"]) == (
        "dag_with_slack", "running", 2,
    )  # fmt: skip
    assert data["from_date"] == "2024-03-01T00:00:00+00:00"
    assert data["progress"] == {
        "total": 10, "finished": 0, "active": 0, "pending": 10, "skipped": 0, "states": {},
    }  # fmt: skip
    (listed_json,) = json.loads(invoke("backfill", "list", "--json").output)
    assert listed_json == data
    cancelled = invoke("backfill", "cancel", backfill_id)
    assert cancelled.exit_code == 0, cancelled.output
    assert f"Backfill {backfill_id} cancelled: 0 of 10 runs had been queued" in cancelled.output
    again = invoke("backfill", "cancel", backfill_id)
    assert again.exit_code == 2 and "already ended cancelled" in again.stderr
    unknown = invoke("backfill", "show", "bf-nope")
    assert unknown.exit_code == 2 and "no backfill with id 'bf-nope'" in unknown.stderr


@pytest.mark.slow
def test_a_backfill_resumes_after_its_scheduler_is_killed(
    tmp_path: Path, schedulers: Processes, store: Storage, invoke: Invoke
) -> None:
    markers = tmp_path / "marks.txt"
    path = tmp_path / "daily.py"
    path.write_text(DAILY_DAG.format(markers=str(markers)))
    created = invoke("backfill", "create", str(path), "daily", "--from", "2024-01-01",
                     "--to", "2024-01-12", "--max-active-runs", "2")  # fmt: skip
    assert created.exit_code == 0, created.output
    backfill_id = backfill_id_of(created.output)
    first = schedulers.start("scheduler", str(path))

    def finished() -> int:
        return store.backfills.progress(backfill_id).finished

    wait_for(lambda: finished() >= 3, 60, "three finished runs of the backfill")
    first.kill()  # SIGKILL mid-backfill
    first.communicate()
    assert store.backfills.get(backfill_id).status is BackfillStatus.RUNNING
    assert store.backfills.progress(backfill_id).pending > 0
    second = schedulers.start("scheduler", str(path))
    follow = subprocess.run(  # the CLI follows it to its end
        partita_command("backfill", "show", backfill_id, "--follow"),
        env=subprocess_env(schedulers.home), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert follow.returncode == 0, follow.stderr
    assert f"Backfill {backfill_id}: completed" in follow.stdout
    stop(second)
    runs = runs_in(store, "daily")
    assert len(runs) == 12 and {r.state for r in runs} == {RunState.SUCCESS}
    assert {r.run_type for r in runs} == {"backfill"}
    days = markers.read_text().split()
    assert sorted(set(days)) == [f"2024-01-{d:02d}" for d in range(1, 13)]
    assert store.backfills.get(backfill_id).status is BackfillStatus.COMPLETED


PARTITIONED_ASSETS = """
import time
from partita import DailyPartitionsDefinition, StaticPartitionsDefinition, asset

DAILY = DailyPartitionsDefinition(start_date="2024-01-01", timezone="UTC")

def mark(name, key):
    with open({markers!r}, "a") as f:
        f.write(f"{{name}} {{key}}\\n")

@asset(partitions_def=DAILY)
def raw(context):
    mark("raw", context.partition_key)
    time.sleep(0.3)
    return context.partition_key

@asset(partitions_def=DAILY)
def clean(context, raw):
    assert raw == context.partition_key
    mark("clean", context.partition_key)
    return raw.upper()

@asset(partitions_def=DAILY)
def report(context, clean):
    mark("report", context.partition_key)

@asset(partitions_def=StaticPartitionsDefinition(["north", "south"]))
def regions(context):
    return context.partition_key
"""


@pytest.fixture
def assets_file(tmp_path: Path) -> Path:
    path = tmp_path / "assets.py"
    path.write_text(PARTITIONED_ASSETS.format(markers=str(tmp_path / "marks.txt")))
    return path


def test_an_asset_backfill_plans_one_run_per_partition_and_checks_its_keys(
    invoke: Invoke, assets_file: Path, store: Storage
) -> None:
    dry = invoke("backfill", "create", str(assets_file), "--assets", "raw, clean",
                 "--partitions", "2024-01-01...2024-01-05", "--dry-run")  # fmt: skip
    assert dry.exit_code == 0, dry.output
    assert "would cover 5 partitions of clean, raw (5 new runs" in dry.output
    assert "  2024-01-03  create  backfill__2024-01-03__" in dry.output
    assert store.backfills.list_backfills() == []
    typo = invoke("backfill", "create", str(assets_file), "--assets", "raw",
                  "--partitions", "2024-01-01...2024-13-01")  # fmt: skip
    assert typo.exit_code == 2 and "'2024-13-01' is not one of the" in typo.stderr
    assert "nearest valid keys" in typo.stderr
    mixed = invoke("backfill", "create", str(assets_file), "--assets", "raw, regions",
                   "--partitions", "north...south")  # fmt: skip
    assert mixed.exit_code == 2 and "do not share one partitions definition" in mixed.stderr
    made = invoke("backfill", "create", str(assets_file), "--assets", "regions",
                  "--partitions", "north...south", "--max-active-runs", "1")  # fmt: skip
    assert made.exit_code == 0, made.output
    backfill_id = backfill_id_of(made.output)
    assert "2 partitions of regions from north to south" in made.output
    shown = invoke("backfill", "show", backfill_id)
    assert "partitions" in shown.output and "north...south" in shown.output
    data = json.loads(invoke("backfill", "show", backfill_id, "--json").output)
    assert (data["partitions"], data["dag_id"]) == ("north...south", "__asset_job_assets_1__")
    assert data["conf"] == {"asset_selection": ["regions"]}


@pytest.mark.slow
def test_an_asset_backfill_runs_each_partition_once_across_a_scheduler_restart(
    tmp_path: Path, assets_file: Path, schedulers: Processes, store: Storage, invoke: Invoke
) -> None:
    created = invoke("backfill", "create", str(assets_file), "--assets", "raw, clean",
                     "--partitions", "2024-01-01...2024-01-08",
                     "--max-active-runs", "2")  # fmt: skip
    assert created.exit_code == 0, created.output
    backfill_id = backfill_id_of(created.output)
    first = schedulers.start("scheduler", str(assets_file))
    wait_for(lambda: store.backfills.progress(backfill_id).finished >= 3, 90, "three partitions")
    first.kill()  # SIGKILL mid-backfill
    first.communicate()
    assert store.backfills.progress(backfill_id).pending > 0
    second = schedulers.start("scheduler", str(assets_file))
    follow = subprocess.run(
        partita_command("backfill", "show", backfill_id, "--follow"),
        env=subprocess_env(schedulers.home), capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert follow.returncode == 0, follow.stderr
    assert f"Backfill {backfill_id}: completed" in follow.stdout
    again = invoke("backfill", "create", str(assets_file), "--assets", "raw, clean",
                   "--partitions", "2024-01-07...2024-01-09", "--dry-run")  # fmt: skip
    assert "1 new runs, 0 to run again, 2 kept as they were" in again.output
    stop(second)
    runs = runs_in(store, "__asset_job_assets_0__")
    days = [f"2024-01-{d:02d}" for d in range(1, 9)]
    assert sorted(r.partition_key or "" for r in runs) == days
    assert {r.state for r in runs} == {RunState.SUCCESS}
    marks = (tmp_path / "marks.txt").read_text().split("\n")
    assert sorted(m for m in marks if m.startswith("clean")) == [f"clean {d}" for d in days]
    assert not [m for m in marks if m.startswith("report")]  # not selected: skipped
    materialized = store.assets.list_materializations(AssetKey("clean"), limit=20)
    assert sorted(m.partition_key or "" for m in materialized) == days
