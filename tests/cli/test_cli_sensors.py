"""``partita sensors`` and ``partita schedules``, and seed 000's directory sensor through a real
scheduler process that is killed and restarted mid-way (no file makes a second run)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_helpers import Invoke, only_line, partita_command, subprocess_env, table_rows

from partita.definitions.states import RunState
from partita.settings import load_settings
from partita.storage.factory import open_storage
from partita.storage.instigators import InstigatorKind, TickStatus

SEED_LOCATION = Path(__file__).resolve().parents[1] / "scheduler" / "sensor_location"

DEFS = """
from partita import (DAG, Definitions, EmptyOperator, RunRequest, ScheduleDefinition,
                     SkipReason, sensor)

with DAG("target", schedule=None) as target:
    EmptyOperator(task_id="noop")

@sensor(job=target)
def keyed(context):
    context.update_cursor("after")
    yield RunRequest(run_key="k1", run_config={})
    yield RunRequest(run_key="k2", run_config={})

@sensor(job=target)
def broken(context):
    raise RuntimeError("cannot list the bucket")

nightly = ScheduleDefinition("nightly", job=target, cron_schedule="0 3 * * *")
defs = Definitions(dags=[target], sensors=[keyed, broken], schedules=[nightly])
"""


@pytest.fixture
def defs_file(tmp_path: Path) -> Path:
    path = tmp_path / "defs.py"
    path.write_text(DEFS)
    return path


def test_sensors_list_shows_code_and_state(invoke: Invoke, defs_file: Path) -> None:
    result = invoke("sensors", "list", str(defs_file))
    assert result.exit_code == 0, result.output
    rows = table_rows(result.output)
    assert rows["keyed"][1:4] == ["sensor", "target", "running"]
    listed = json.loads(invoke("sensors", "list", str(defs_file), "--json").output)
    assert [s["name"] for s in listed] == ["broken", "keyed"]
    assert listed[1]["status"] == "running" and listed[1]["status_set_by_hand"] is False
    assert listed[1]["interval"] == "30s" and listed[1]["last_tick"] is None


def test_preview_prints_requests_and_creates_nothing(
    invoke: Invoke, defs_file: Path, cli_home: Path
) -> None:
    result = invoke("sensors", "preview", "keyed", str(defs_file))
    assert result.exit_code == 0, result.output
    assert "would request 2 run(s) of target" in result.output
    assert "run_key='k1'" in result.output and "Nothing was created" in result.output
    report = json.loads(invoke("sensors", "preview", "keyed", str(defs_file), "--json").output)
    assert [r["run_key"] for r in report["run_requests"]] == ["k1", "k2"]
    assert report["cursor_after"] == "after"
    with open_storage(load_settings()) as storage:
        assert storage.runs.list_runs() == []
        assert storage.instigators.get_state(InstigatorKind.SENSOR, "keyed") is None
        assert storage.instigators.list_ticks(InstigatorKind.SENSOR, "keyed") == []


def test_preview_shows_a_sensor_results_partitions_and_applies_none(
    invoke: Invoke, tmp_path: Path, cli_home: Path
) -> None:
    path = tmp_path / "files.py"
    path.write_text(
        "from partita import (DAG, Definitions, DynamicPartitionsDefinition, EmptyOperator,\n"
        "                     RunRequest, SensorResult, sensor)\n"
        "files = DynamicPartitionsDefinition(name='files')\n"
        "with DAG('per_file', schedule=None, partitions_def=files) as per_file:\n"
        "    EmptyOperator(task_id='noop')\n"
        "@sensor(job=per_file)\n"
        "def landing():\n"
        "    add = files.build_add_request(['a.csv'])\n"
        "    return SensorResult([RunRequest(run_key='a', partition_key='a.csv')],\n"
        "                        dynamic_partitions_requests=[add])\n"
        "defs = Definitions(dags=[per_file], sensors=[landing])\n"
    )
    result = invoke("sensors", "preview", "landing", str(path))
    assert result.exit_code == 0, result.output
    assert "run_key='a' partition_key='a.csv'" in result.output
    assert "would add partitions of 'files': a.csv" in result.output
    with open_storage(load_settings()) as storage:
        assert storage.partitions.get_dynamic_partitions("files") == []


def test_preview_of_a_raising_sensor_says_why(invoke: Invoke, defs_file: Path) -> None:
    result = invoke("sensors", "preview", "broken", str(defs_file))
    assert result.exit_code == 2
    assert only_line(result.stderr) == (
        "Error: sensor 'broken' raised RuntimeError: cannot list the bucket"
    )


def test_start_stop_and_unknown_names(invoke: Invoke, defs_file: Path) -> None:
    assert invoke("sensors", "stop", "keyed", str(defs_file)).output == "Sensor 'keyed' stopped.\n"
    listed = json.loads(invoke("sensors", "list", "--json").output)  # no PATH: stored state
    assert [(s["name"], s["status"], s["loaded"]) for s in listed] == [("keyed", "stopped", False)]
    assert invoke("sensors", "start", "keyed").exit_code == 0  # known from the store
    unknown = invoke("sensors", "start", "nope", str(defs_file))
    assert unknown.exit_code == 2
    assert only_line(unknown.stderr).startswith(
        f"Error: no sensor 'nope' in {defs_file}; known sensors: broken, keyed"
    )
    missing = invoke("sensors", "preview", "nope", str(defs_file))
    assert missing.exit_code == 2 and "it has: broken, keyed" in missing.stderr


def test_schedules_list_start_stop(invoke: Invoke, defs_file: Path) -> None:
    listed = json.loads(invoke("schedules", "list", str(defs_file), "--json").output)
    assert [(s["name"], s["status"], s["interval"]) for s in listed] == [
        ("nightly", "stopped", "0 3 * * * (UTC)")
    ]
    assert invoke("schedules", "start", "nightly", str(defs_file)).exit_code == 0
    listed = json.loads(invoke("schedules", "list", str(defs_file), "--json").output)
    assert listed[0]["status"] == "running" and listed[0]["status_set_by_hand"] is True
    bad = invoke("schedules", "stop", "daily", str(defs_file))
    assert bad.exit_code == 2 and "known schedules: nightly" in bad.stderr


def test_cursor_show_set_delete(invoke: Invoke) -> None:
    assert invoke("sensors", "cursor", "keyed").output == "(no cursor)\n"
    assert invoke("sensors", "cursor", "keyed", "--set", "42").exit_code == 0
    assert invoke("sensors", "cursor", "keyed").output == "42\n"
    assert invoke("sensors", "cursor", "keyed", "--delete").exit_code == 0
    assert invoke("sensors", "cursor", "keyed").output == "(no cursor)\n"
    both = invoke("sensors", "cursor", "keyed", "--set", "1", "--delete")
    assert both.exit_code == 2 and "not both" in both.stderr


def test_partita_yaml_can_stop_sensors_by_default(
    invoke: Invoke, defs_file: Path, cli_home: Path
) -> None:
    cli_home.mkdir(parents=True, exist_ok=True)
    (cli_home / "partita.yaml").write_text("sensors_default_status: stopped\n")
    listed = json.loads(invoke("sensors", "list", str(defs_file), "--json").output)
    assert {s["status"] for s in listed} == {"stopped"}
    (cli_home / "partita.yaml").write_text("sensors_default_status: paused\n")
    bad = invoke("sensors", "list", str(defs_file))
    assert bad.exit_code == 2 and "sensors_default_status" in bad.stderr


# --- seed 000's directory sensor through the real scheduler --------------------------------


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def scheduler_processes(cli_home: Path) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


@pytest.mark.slow
def test_seed_000_directory_sensor_survives_a_restart_without_duplicate_runs(
    tmp_path: Path, cli_home: Path, scheduler_processes: list[subprocess.Popen[str]]
) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    processed = tmp_path / "processed.log"
    env = {**subprocess_env(cli_home), "PARTITA_TEST_SENSOR_DIR": str(folder)}

    def start() -> subprocess.Popen[str]:
        command = partita_command("scheduler", str(SEED_LOCATION), "--workers", "1")
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        scheduler_processes.append(process)
        return process

    def processed_files() -> list[str]:
        return processed.read_text().splitlines() if processed.exists() else []

    for name in ("a.txt", "b.txt"):
        (folder / name).write_text(name)
    first = start()
    wait_for(lambda: sorted(processed_files()) == ["a.txt", "b.txt"], 60, "the first two runs")
    first.send_signal(signal.SIGKILL)  # mid-way: the sensor keeps ticking until killed
    first.communicate(timeout=30)
    (folder / "c.txt").write_text("c")
    second = start()
    wait_for(lambda: "c.txt" in processed_files(), 60, "the run of the new file")
    time.sleep(1.5)  # several more evaluations of the sensor (interval 0.2 s) see a, b, c again
    second.send_signal(signal.SIGTERM)
    second.communicate(timeout=30)

    assert sorted(processed_files()) == ["a.txt", "b.txt", "c.txt"]
    with open_storage(load_settings()) as storage:
        runs = storage.runs.list_runs("log_file_pipeline")
        assert len(runs) == 3 and {r.state for r in runs} == {RunState.SUCCESS}
        ticks = storage.instigators.list_ticks(
            InstigatorKind.SENSOR, "my_directory_sensor", limit=1000
        )
        requested = [t for t in ticks if t.status is TickStatus.REQUESTED]
        assert sorted(run for t in requested for run in t.run_ids) == sorted(r.run_id for r in runs)
        assert any(t.status is TickStatus.SKIPPED for t in ticks)
