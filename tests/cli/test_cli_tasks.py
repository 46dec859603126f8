"""``partita tasks output`` and the full traceback in ``partita runs show``."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import Invoke, run_id_of

DAG_FILE = """
from partita import DAG, task

with DAG("outputs") as dag:

    @task
    def table() -> dict:
        return {"rows": list(range(120)), "note": "x" * 1500}

    @task
    def double(x: int) -> int:
        return 2 * x

    @task
    def opaque() -> object:
        return {1, 2}

    @task
    def explode(data: dict) -> None:
        def parse(rows):
            raise ValueError(f"row {rows[-1]} is bad")
        parse(data["rows"])

    double.expand(x=[1, 2, 3])
    explode(table())
    opaque()
"""


def _run(invoke: Invoke, tmp_path: Path) -> str:
    path = tmp_path / "outputs_dag.py"
    path.write_text(DAG_FILE)
    result = invoke("run", str(path), "outputs")
    assert result.exit_code == 1, result.output
    return run_id_of(result.stdout)


def test_output_prints_the_value_shortened_and_says_how_to_see_it_all(
    invoke: Invoke, tmp_path: Path
) -> None:
    run_id = _run(invoke, tmp_path)

    shown = invoke("tasks", "output", run_id, "table")
    assert shown.exit_code == 0, shown.output
    assert f"table of run {run_id}, output 'return_value': dict" in shown.stdout
    assert "    49,\n" in shown.stdout and "    50,\n" not in shown.stdout
    assert "add --full to print it all" in shown.stderr

    full = invoke("tasks", "output", run_id, "table", "--full")
    assert "    119\n" in full.stdout and "x" * 1500 in full.stdout
    assert full.stderr == ""


def test_output_as_json_and_of_one_mapped_instance(invoke: Invoke, tmp_path: Path) -> None:
    run_id = _run(invoke, tmp_path)

    as_json = invoke("tasks", "output", run_id, "table", "--json")
    assert json.loads(as_json.stdout) == {"rows": list(range(120)), "note": "x" * 1500}

    instance = invoke("tasks", "output", run_id, "double", "--map-index", "2", "--json")
    assert instance.exit_code == 0 and json.loads(instance.stdout) == 6


def test_output_errors_name_the_fix(invoke: Invoke, tmp_path: Path) -> None:
    run_id = _run(invoke, tmp_path)

    mapped = invoke("tasks", "output", run_id, "double")
    assert mapped.exit_code == 2
    assert "its map indexes are: 0, 1, 2 (use --map-index N)" in mapped.stderr

    not_json = invoke("tasks", "output", run_id, "opaque", "--json")
    assert not_json.exit_code == 2
    assert "holds a value of type set, which JSON cannot hold" in not_json.stderr
    assert "omit --json" in not_json.stderr

    failed = invoke("tasks", "output", run_id, "explode")
    assert failed.exit_code == 2
    assert f"ended failed and stored no output; 'partita runs show {run_id}'" in failed.stderr

    wrong_key = invoke("tasks", "output", run_id, "table", "--key", "nope")
    assert "stored no output 'nope'; its outputs are:" in wrong_key.stderr
    assert "return_value" in wrong_key.stderr

    unknown = invoke("tasks", "output", "no-such-run", "table")
    assert unknown.exit_code == 2 and "no run with id 'no-such-run'" in unknown.stderr


def test_runs_show_prints_the_whole_traceback_of_a_failed_task(
    invoke: Invoke, tmp_path: Path
) -> None:
    run_id = _run(invoke, tmp_path)

    shown = invoke("runs", "show", run_id)
    assert shown.exit_code == 0
    assert "explode (try 1): ValueError: row 119 is bad" in shown.stdout
    assert "Traceback (most recent call last):" in shown.stdout
    assert "in parse" in shown.stdout  # the inner frame, not just the last line
    assert 'raise ValueError(f"row {rows[-1]} is bad")' in shown.stdout
