"""``partita dags list`` records the DAG registry; ``partita dags pause|unpause`` change it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_helpers import Invoke

from partita.storage.base import Storage

DAG_FILE = """\
from datetime import datetime
from partita import DAG, EmptyOperator

with DAG("hourly", schedule="0 * * * *", start_date=datetime(2024, 1, 1), catchup=True):
    EmptyOperator(task_id="t")
with DAG("manual", schedule=None, tags=["adhoc"], default_args={"owner": "ops"}):
    EmptyOperator(task_id="t")
with DAG("eager", schedule="@daily", is_paused_upon_creation=False):
    EmptyOperator(task_id="t")
"""
StoreOpener = Callable[[], Storage]


@pytest.fixture
def dag_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "pipelines.py").write_text(DAG_FILE)
    return folder


def rows_of(output: str) -> dict[str, str]:
    return {line.split()[0]: line for line in output.splitlines()[2:] if line.strip()}


def test_list_records_the_dags_it_parsed(
    invoke: Invoke, dag_folder: Path, cli_storage: StoreOpener
) -> None:
    result = invoke("dags", "list", str(dag_folder))
    assert result.exit_code == 0, result.output
    assert "paused" in result.stdout and "next run (UTC)" in result.stdout
    rows = rows_of(result.stdout)
    assert "2024-01-01 00:00:00" in rows["hourly"]  # catchup from start_date
    assert " no " in rows["hourly"]

    registry = cli_storage().registry
    hourly, manual = registry.get_dag("hourly"), registry.get_dag("manual")
    assert hourly is not None and manual is not None
    assert hourly.next_dagrun_create_after == datetime(2024, 1, 1, tzinfo=UTC)
    assert hourly.timetable_summary == "0 * * * *"
    assert hourly.fileloc == str(dag_folder / "pipelines.py")
    assert hourly.code_location == str(dag_folder)
    assert hourly.last_parse_duration is not None and hourly.last_parse_duration > 0
    assert (manual.next_run, manual.owner, manual.tags) == (None, "ops", ["adhoc"])
    assert [d.dag_id for d in registry.due_dags(datetime.now(UTC), 10)] == ["hourly"]


def test_list_records_import_errors_and_deactivates_removed_dags(
    invoke: Invoke, dag_folder: Path, cli_storage: StoreOpener
) -> None:
    assert invoke("dags", "list", str(dag_folder)).exit_code == 0
    (dag_folder / "pipelines.py").write_text(DAG_FILE.replace('DAG("manual"', 'DAG("other"'))
    (dag_folder / "broken.py").write_text("raise ValueError('no config')\n")

    assert invoke("dags", "list", str(dag_folder)).exit_code == 1

    registry = cli_storage().registry
    assert [d.dag_id for d in registry.list_dags()] == ["eager", "hourly", "other"]
    assert [d.dag_id for d in registry.list_dags(active=False)] == ["manual"]
    [error] = registry.list_import_errors()
    assert error.fileloc == str(dag_folder / "broken.py")
    assert error.error.startswith("ValueError: no config")


def test_pause_and_unpause_write_the_registry(
    invoke: Invoke, dag_folder: Path, cli_storage: StoreOpener
) -> None:
    assert invoke("dags", "list", str(dag_folder)).exit_code == 0

    paused = invoke("dags", "pause", "hourly")
    assert paused.exit_code == 0, paused.output
    assert paused.stdout.strip() == "DAG 'hourly' is paused."
    assert " yes " in rows_of(invoke("dags", "list", str(dag_folder)).stdout)["hourly"]
    assert cli_storage().registry.due_dags(datetime.now(UTC), 10) == []  # paused: no runs

    unpaused = invoke("dags", "unpause", "hourly")
    assert unpaused.stdout.strip() == "DAG 'hourly' is unpaused."
    hourly = cli_storage().registry.get_dag("hourly")
    assert hourly is not None and hourly.is_paused is False


def test_pause_of_an_unknown_dag_says_how_to_make_it_known(invoke: Invoke) -> None:
    result = invoke("dags", "pause", "ghost")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Error: DAG 'ghost' is not known: run `partita dags list PATH` or start the scheduler"
    )


def test_pause_looks_up_a_dag_not_yet_known_in_path(
    invoke: Invoke, dag_folder: Path, cli_storage: StoreOpener
) -> None:
    result = invoke("dags", "pause", "eager", str(dag_folder / "pipelines.py"))
    assert result.exit_code == 0, result.output
    eager = cli_storage().registry.get_dag("eager")
    assert eager is not None and eager.is_paused is True

    missing = invoke("dags", "unpause", "nope", str(dag_folder))
    assert missing.exit_code == 2
    assert "Error: DAG 'nope' is not defined in" in missing.stderr
    assert "it defines: eager, hourly, manual" in missing.stderr


def test_dags_paused_at_creation_pauses_new_dags_that_do_not_say(
    invoke: Invoke, dag_folder: Path, cli_home: Path, cli_storage: StoreOpener
) -> None:
    cli_home.mkdir(parents=True, exist_ok=True)
    (cli_home / "partita.yaml").write_text("dags_paused_at_creation: true\n")

    assert invoke("dags", "list", str(dag_folder)).exit_code == 0

    registry = cli_storage().registry
    paused = {d.dag_id: d.is_paused for d in registry.list_dags()}
    assert paused == {"eager": False, "hourly": True, "manual": True}


def test_list_records_next_runs_in_the_default_timezone(
    invoke: Invoke, tmp_path: Path, cli_home: Path, cli_storage: StoreOpener
) -> None:
    # The DAG files are imported in the importer process; the next run it works out there
    # reads the naive start_date and the cron in the settings' default_timezone.
    dag_file = tmp_path / "seoul.py"
    dag_file.write_text(
        "from datetime import datetime\n"
        "from partita import DAG, EmptyOperator\n"
        "with DAG('nightly', schedule='0 0 * * *', start_date=datetime(2024, 1, 1), "
        "catchup=True):\n"
        "    EmptyOperator(task_id='t')\n"
    )
    cli_home.mkdir(parents=True, exist_ok=True)
    (cli_home / "partita.yaml").write_text("default_timezone: Asia/Seoul\n")

    result = invoke("dags", "list", str(dag_file))
    assert result.exit_code == 0, result.output

    nightly = cli_storage().registry.get_dag("nightly")
    assert nightly is not None and nightly.next_run is not None
    # the first tick, midnight of 2024-01-01 in Seoul (UTC+9), not midnight UTC
    assert nightly.next_dagrun_create_after == datetime(2023, 12, 31, 15, tzinfo=UTC)
    assert "2023-12-31 15:00:00" in rows_of(result.stdout)["nightly"]
