"""Secrets through a real local-executor run: ``partita run --workers 1`` as a subprocess.

The connection and the variable live only in the metadata database (added with the CLI), so
the worker process reads them through its own store; every place the run is shown or
stored (its output, ``partita logs``, ``partita runs show``, the database file) holds
``***``, never the secret.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from cli_helpers import Invoke, partita_command, run_id_of, subprocess_env

SECRET = "W0rker-Secret-Pa55"

DAG_FILE = """
from partita import DAG, BashOperator, Connection, PythonOperator, Variable


def leak():
    conn = Connection.get("warehouse")
    print("connecting with", conn.password, "as", Variable.get("api_token"))
    raise RuntimeError("refused: " + conn.get_uri())


with DAG("leaky") as dag:
    rendered = BashOperator(
        task_id="rendered",
        bash_command="echo host={{ conn.warehouse.host }} pw={{ conn.warehouse.password }}",
    )
    rendered >> PythonOperator(task_id="leak", python_callable=leak)
"""


@pytest.mark.slow
def test_a_worker_run_masks_secrets_in_output_logs_errors_and_the_database(
    invoke: Invoke, cli_home: Path, tmp_path: Path
) -> None:
    uri = f"postgres://etl:{SECRET}@db.example.com/dw"
    assert invoke("connections", "add", "warehouse", "--uri", uri).exit_code == 0
    assert invoke("variables", "set", "api_token", "tok-" + SECRET).exit_code == 0
    dag_file = tmp_path / "leaky.py"
    dag_file.write_text(DAG_FILE)
    env = subprocess_env(cli_home)
    run = subprocess.run(
        partita_command("run", str(dag_file), "leaky", "--workers", "1"),
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert SECRET not in run.stdout + run.stderr
    run_id = run_id_of(run.stdout)

    def cli(*args: str) -> str:
        done = subprocess.run(partita_command(*args), env=env, capture_output=True, text=True)
        return done.stdout + done.stderr

    rendered = cli("logs", run_id, "rendered")
    assert "host=db.example.com pw=***" in rendered
    leak = cli("logs", run_id, "leak")
    assert "connecting with *** as ***" in leak
    assert "refused: postgres://etl:***@db.example.com/dw" in leak
    shown = cli("runs", "show", run_id) + cli("runs", "show", run_id, "--json")
    assert "refused: postgres://etl:***@db.example.com/dw" in shown
    for text in (rendered, leak, shown):
        assert SECRET not in text
    # The bash task's output (its last line) is data and stays as the task returned it,
    # but printing it masks the secret; logs and events in the database never hold it.
    assert "pw=***" in cli("tasks", "output", run_id, "rendered")
    assert SECRET not in cli("tasks", "output", run_id, "rendered", "--json")
    with sqlite3.connect(cli_home / "partita.db") as db:
        stored = db.execute("SELECT message FROM log_line").fetchall()
        stored += db.execute("SELECT CAST(payload AS TEXT) FROM event_log").fetchall()
    assert stored and SECRET not in repr(stored)


SPELLED_OUT = """
from partita import DAG, BashOperator, task

SECRET = "{secret}"

with DAG("spelled") as dag:

    @task
    def say():
        print("the key is " + SECRET)
        raise RuntimeError("refused with " + SECRET)

    BashOperator(task_id="echo", bash_command="echo " + SECRET) >> say()
"""


def test_the_cli_masks_stored_secrets_a_task_got_without_reading_them(
    invoke: Invoke, tmp_path: Path, cli_home: Path
) -> None:
    """The task spells the secret out (it never reads the connection, so nothing masks it
    where it runs and the database holds it); every command that shows the run masks it."""
    from partita.masking import MASKER

    secret = "Spelled-0ut-Pa55"
    uri = f"postgres://etl:{secret}@db.example.com/dw"
    assert invoke("connections", "add", "warehouse", "--uri", uri).exit_code == 0
    dag_file = tmp_path / "spelled.py"
    dag_file.write_text(SPELLED_OUT.format(secret=secret))
    MASKER.clear()
    run = invoke("run", str(dag_file), "spelled")
    assert run.exit_code == 1
    assert "RuntimeError: refused with ***" in run.stdout
    assert secret not in run.output
    run_id = run_id_of(run.stdout)
    with sqlite3.connect(cli_home / "partita.db") as db:
        stored = db.execute("SELECT message FROM log_line").fetchall()
    assert secret in repr(stored)  # in clear where it was written: the commands mask it
    shown = {}
    for args in (
        ("logs", run_id, "say"),
        ("logs", run_id, "echo"),
        ("runs", "show", run_id),
        ("runs", "show", run_id, "--json"),
        ("tasks", "render", str(dag_file), "spelled", "echo"),
        ("tasks", "output", run_id, "echo"),
    ):
        MASKER.clear()  # each command as a new process would run it
        result = invoke(*args)
        shown[args] = result.output
        assert secret not in result.output, args
    assert "the key is ***" in shown[("logs", run_id, "say")]
    assert "RuntimeError: refused with ***" in shown[("runs", "show", run_id)]
    assert "refused with ***" in shown[("runs", "show", run_id, "--json")]
    assert "echo ***" in shown[("tasks", "render", str(dag_file), "spelled", "echo")]
    assert "***" in shown[("tasks", "output", run_id, "echo")]
    MASKER.clear()
