"""``partita run``, ``runs list``, ``runs show``, ``logs`` and ``db upgrade`` in this process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cli_helpers import EXAMPLES, TEST_DAGS, Invoke, run_id_of, table_rows

from partita.definitions.states import RunState, TaskState
from partita.settings import load_settings
from partita.storage.base import Storage
from partita.storage.sql.engine import create_sql_engine
from partita.storage.sql.migrate import current_revision, head_revision


def test_run_records_the_run_and_prints_its_task_table(
    invoke: Invoke, cli_home: Path, cli_storage: Callable[[], Storage]
) -> None:
    result = invoke("run", str(EXAMPLES), "etl")
    assert result.exit_code == 0, result.output
    run_id = run_id_of(result.stdout)
    assert result.stdout.splitlines()[0].startswith(f"Run {run_id} of DAG etl: success in ")
    rows = table_rows(result.stdout)
    expected = {
        "extract", "split", "transform.price", "transform.summarize", "load", "report_rejects",
        "audit",
    }  # fmt: skip
    assert set(rows) == expected
    assert all(cells[1] == "success" and cells[2] == "1" for cells in rows.values())
    assert (cli_home / "partita.db").is_file()

    storage = cli_storage()
    run = storage.runs.get_run(run_id)
    assert run.state is RunState.SUCCESS and run.dag_id == "etl"
    assert {ti.task_id for ti in storage.runs.get_task_instances(run_id)} == expected


def test_conf_and_logical_date_reach_the_run(invoke: Invoke) -> None:
    result = invoke(
        "run", str(EXAMPLES), "etl", "--conf", '{"orders": 7}', "--logical-date", "2025-03-01"
    )
    assert result.exit_code == 0, result.output
    run_id = run_id_of(result.stdout)
    assert run_id.startswith("manual__2025-03-01T00:00:00+00:00__")

    log = invoke("logs", run_id, "extract")
    assert log.exit_code == 0
    assert "extracted 7 orders for 2025-03-01" in log.stdout

    shown = invoke("runs", "show", run_id)
    assert shown.exit_code == 0
    assert '{"orders": 7}' in shown.stdout
    # Airflow 3: a manual run of a cron schedule covers [logical date, logical date].
    assert "2025-03-01 00:00:00 to 2025-03-01 00:00:00" in shown.stdout


def test_a_failed_run_exits_1_and_shows_why(invoke: Invoke) -> None:
    result = invoke("run", str(TEST_DAGS), "failing")
    assert result.exit_code == 1
    run_id = run_id_of(result.stdout)
    assert "of DAG failing: failed in" in result.stdout.splitlines()[0]
    rows = table_rows(result.stdout)
    assert rows["extract"][1] == "success"
    assert rows["load"][1] == "failed"
    assert rows["report"][1] == "upstream_failed"
    assert rows["always"][1] == "success"  # trigger_rule all_done
    assert "load: FailTask: 3 rows were rejected" in result.stdout
    assert f"partita logs {run_id} load" in result.stdout

    shown = invoke("runs", "show", run_id)
    assert shown.exit_code == 0
    assert "Failed tasks:" in shown.stdout
    assert "load (try 1): FailTask: 3 rows were rejected" in shown.stdout
    assert "rejected: 3" in shown.stdout
    assert 'table: "orders"' in shown.stdout

    log = invoke("logs", run_id, "load")
    assert "loading [bold]rows[/bold]" in log.stdout  # printed as written, not as markup


def test_logs_of_each_try(invoke: Invoke) -> None:
    result = invoke("run", str(TEST_DAGS), "flaky")
    assert result.exit_code == 0, result.output
    run_id = run_id_of(result.stdout)
    assert table_rows(result.stdout)["flaky"][1:3] == ["success", "2"]

    every = invoke("logs", run_id, "flaky").stdout
    assert every.index("--- try 1 ---") < every.index("attempt 1") < every.index("--- try 2 ---")
    assert every.index("--- try 2 ---") < every.index("attempt 2")
    assert "first try always fails" in every

    second = invoke("logs", run_id, "flaky", "--try", "2").stdout
    assert "attempt 2" in second
    assert "attempt 1" not in second and "--- try" not in second

    after = invoke("logs", run_id, "after").stdout
    assert "after the retry" in after


def test_runs_list_filters_and_limits(invoke: Invoke, cli_home: Path) -> None:
    nothing = invoke("runs", "list").stdout
    database = f"sqlite:///{cli_home.resolve() / 'partita.db'}"
    assert nothing.startswith(f"No runs recorded yet in {database} (home {cli_home.resolve()}).")
    assert "Set PARTITA_HOME to that folder, or PARTITA_DATABASE_URL" in nothing
    ids = [run_id_of(invoke("run", str(TEST_DAGS), "flaky").stdout) for _ in range(2)]
    failing = run_id_of(invoke("run", str(TEST_DAGS), "failing").stdout)

    every = table_rows(invoke("runs", "list").stdout)
    assert set(every) == {*ids, failing}
    assert every[failing][1:3] == ["failing", "failed"]
    assert every[ids[0]][1:3] == ["flaky", "success"]

    only_flaky = table_rows(invoke("runs", "list", "--dag", "flaky").stdout)
    assert set(only_flaky) == set(ids)
    newest = table_rows(invoke("runs", "list", "--limit", "1").stdout)
    assert list(newest) == [failing]
    assert invoke("runs", "list", "--dag", "none").stdout.startswith(
        f"No runs of DAG 'none' recorded yet in {database}"
    )


def test_db_upgrade_prints_the_revision(invoke: Invoke, cli_home: Path) -> None:
    result = invoke("db", "upgrade")
    assert result.exit_code == 0, result.output
    database = cli_home / "partita.db"
    assert result.stdout.strip() == (
        f"Database sqlite:///{database} is at schema revision {head_revision()}"
    )
    engine = create_sql_engine(load_settings().database_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_run_then_show_lists_tasks_in_the_order_they_ran(invoke: Invoke) -> None:
    run_id = run_id_of(invoke("run", str(EXAMPLES), "example_dag").stdout)
    shown = invoke("runs", "show", run_id).stdout
    order = [
        name for name in table_rows(shown) if name in {"print_hello", "print_date", "print_world"}
    ]
    assert order == ["print_hello", "print_date", "print_world"]
    assert TaskState.SUCCESS.value in shown


def test_a_naive_logical_date_is_read_in_the_default_timezone(
    invoke: Invoke, cli_home: Path
) -> None:
    cli_home.mkdir()
    (cli_home / "partita.yaml").write_text("default_timezone: Asia/Seoul\n")
    result = invoke("run", str(EXAMPLES), "etl", "--logical-date", "2025-03-01T09:00:00")
    assert result.exit_code == 0, result.output
    assert run_id_of(result.stdout).startswith("manual__2025-03-01T00:00:00+00:00__")
    explicit = invoke("run", str(EXAMPLES), "etl", "--logical-date", "2025-03-01T09:00:00+00:00")
    assert run_id_of(explicit.stdout).startswith("manual__2025-03-01T09:00:00+00:00__")


def test_run_with_workers_runs_the_tasks_in_worker_processes(
    invoke: Invoke, cli_storage: Callable[[], Storage]
) -> None:
    result = invoke("run", str(EXAMPLES), "etl", "--workers", "2", "--conf", '{"orders": 3}')
    assert result.exit_code == 0, result.output
    run_id = run_id_of(result.stdout)
    rows = table_rows(result.stdout)
    assert len(rows) == 7 and all(cells[1] == "success" for cells in rows.values())
    storage = cli_storage()
    assert storage.runs.get_run(run_id).state is RunState.SUCCESS
    log = invoke("logs", run_id, "extract")
    assert "extracted 3 orders" in log.stdout  # the worker wrote the task's log


def test_run_with_zero_workers_is_bad_input(invoke: Invoke) -> None:
    result = invoke("run", str(EXAMPLES), "etl", "--workers", "0")
    assert result.exit_code == 2
    assert "Error: Invalid value for '--workers'" in result.output


CALLBACK_DAG = """
from partita import DAG, mask_secret, task

SECRET = "cb-Secret-2024"


def alert(context):
    mask_secret(SECRET)
    raise RuntimeError(f"the pager refused {context['dag'].dag_id} with key {SECRET}")


def cheer(context):
    raise ValueError("the success hook is down")


with DAG("noisy", on_failure_callback=alert) as noisy:

    @task
    def boom():
        raise ValueError("boom")

    boom()

with DAG("happy", on_success_callback=[cheer]) as happy:

    @task
    def fine():
        return 1

    fine()
"""


def test_run_shows_what_the_dags_callbacks_raised_masked(invoke: Invoke, tmp_path: Path) -> None:
    dag_file = tmp_path / "callbacks.py"
    dag_file.write_text(CALLBACK_DAG)
    failed = invoke("run", str(dag_file), "noisy")
    assert failed.exit_code == 1, failed.output
    assert "DAG callback alert raised RuntimeError: the pager refused noisy with key ***" in (
        failed.stdout
    )
    assert "callbacks.py" in failed.stdout  # where it raised
    assert "cb-Secret-2024" not in failed.output
    happy = invoke("run", str(dag_file), "happy")
    assert happy.exit_code == 0, happy.output  # a callback never changes the run's state
    assert "DAG callback cheer raised ValueError: the success hook is down" in happy.stdout
