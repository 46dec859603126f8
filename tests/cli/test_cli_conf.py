"""Run conf on the command line: ``--conf``, ``--conf-file`` (a file or stdin), strict JSON,
and how ``runs show`` shows a large conf (``cli/params.py``, ``cli/runs.py``)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import EXAMPLES, REPO, Invoke, partita_command, run_id_of, subprocess_env
from click.testing import CliRunner
from test_cli_errors import assert_bad_input

from partita.cli.main import cli
from partita.cli.runs import CONF_SHOWN_CHARS
from partita.storage.base import Storage

BIG_CONF = {"orders": 3, "rows": [{"id": i, "name": f"row {i}"} for i in range(10_000)]}


@pytest.mark.parametrize(
    ("conf", "constant"),
    [
        ('{"x": NaN}', "NaN"),
        ('{"x": Infinity}', "Infinity"),
        ('{"x": [1, -Infinity]}', "-Infinity"),
        ('{"x": 1e999}', "1e999"),
    ],
)
def test_nan_and_infinity_are_not_json(invoke: Invoke, conf: str, constant: str) -> None:
    assert_bad_input(
        invoke("run", str(EXAMPLES), "etl", "--conf", conf),
        "'--conf'",
        f"is not valid JSON: {constant} ",
        "PostgreSQL refuses them",
    )


def test_nan_in_a_conf_file_names_the_file(invoke: Invoke, tmp_path: Path) -> None:
    conf_file = tmp_path / "conf.json"
    conf_file.write_text('{"x": NaN}')
    assert_bad_input(
        invoke("run", str(EXAMPLES), "etl", "--conf-file", str(conf_file)),
        "'--conf-file'",
        f"file {str(conf_file)!r} is not valid JSON: NaN is not a JSON value",
    )


def test_conf_file_reaches_the_run(
    invoke: Invoke, tmp_path: Path, cli_storage: Callable[[], Storage]
) -> None:
    conf_file = tmp_path / "conf.json"
    conf_file.write_text(json.dumps(BIG_CONF))
    result = invoke("run", str(EXAMPLES), "etl", "--conf-file", str(conf_file))
    assert result.exit_code == 0, result.output
    assert cli_storage().runs.get_run(run_id_of(result.stdout)).conf == BIG_CONF
    log = invoke("logs", run_id_of(result.stdout), "extract")
    assert "extracted 3 orders" in log.stdout


def test_conf_file_dash_reads_stdin(cli_home: Path, cli_storage: Callable[[], Storage]) -> None:
    result = CliRunner().invoke(
        cli, ["run", str(EXAMPLES), "etl", "--conf-file", "-"], input='{"orders": 5}'
    )
    assert result.exit_code == 0, result.output
    assert cli_storage().runs.get_run(run_id_of(result.stdout)).conf == {"orders": 5}


def test_assets_materialize_takes_a_conf_file_too(invoke: Invoke, tmp_path: Path) -> None:
    conf_file = tmp_path / "conf.json"
    conf_file.write_text("[]")
    assert_bad_input(
        invoke("assets", "materialize", str(EXAMPLES), "--conf-file", str(conf_file)),
        "'--conf-file'",
        "must be a JSON object",
    )


def test_conf_and_conf_file_together_is_an_error(invoke: Invoke, tmp_path: Path) -> None:
    conf_file = tmp_path / "conf.json"
    conf_file.write_text("{}")
    assert_bad_input(
        invoke("run", str(EXAMPLES), "etl", "--conf", "{}", "--conf-file", str(conf_file)),
        "--conf and --conf-file cannot be used together",
    )


def test_a_missing_or_unreadable_conf_file(invoke: Invoke, tmp_path: Path) -> None:
    assert_bad_input(
        invoke("run", str(EXAMPLES), "etl", "--conf-file", str(tmp_path / "none.json")),
        "cannot be read: No such file or directory",
    )
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe{")
    assert_bad_input(
        invoke("run", str(EXAMPLES), "etl", "--conf-file", str(binary)), "is not UTF-8 text"
    )


def test_a_long_bad_conf_is_quoted_short(invoke: Invoke) -> None:
    line = assert_bad_input(
        invoke("run", str(EXAMPLES), "etl", "--conf", '{"x": "' + "y" * 5000 + '"'),
        "is not valid JSON",
        "(5008 characters)",
    )
    assert len(line) < 400


def test_a_conf_bigger_than_one_argument_goes_through_a_file(tmp_path: Path) -> None:
    """Linux caps one argument at 128 KiB: --conf cannot carry this conf, --conf-file can."""
    conf = {"orders": 2, "blob": "x" * 200_000}
    with pytest.raises(OSError, match="Argument list too long"):
        subprocess.run(
            partita_command("run", str(EXAMPLES), "etl", "--conf", json.dumps(conf)),
            env=subprocess_env(tmp_path / "home"),
        )
    conf_file = tmp_path / "conf.json"
    conf_file.write_text(json.dumps(conf))
    result = subprocess.run(
        partita_command("run", str(EXAMPLES), "etl", "--conf-file", str(conf_file)),
        env=subprocess_env(tmp_path / "home"),
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert " of DAG etl: success" in result.stdout


def test_runs_show_cuts_a_long_conf_short_and_conf_full_prints_it(
    invoke: Invoke, tmp_path: Path
) -> None:
    conf_file = tmp_path / "conf.json"
    conf_file.write_text(json.dumps(BIG_CONF))
    run_id = run_id_of(invoke("run", str(EXAMPLES), "etl", "--conf-file", str(conf_file)).stdout)

    shown = invoke("runs", "show", run_id)
    assert shown.exit_code == 0, shown.output
    whole = json.dumps(BIG_CONF)
    assert len(shown.stdout) < 5 * CONF_SHOWN_CHARS + 3000  # not the 300 KB conf
    assert '{"orders": 3, "rows": [{"id": 0, "name": "row 0"}' in shown.stdout
    assert "KiB in all;" in shown.stdout
    assert "--conf-full' prints it whole" in shown.stdout
    assert "extract" in shown.stdout  # the task table still follows

    full = invoke("runs", "show", run_id, "--conf-full")
    assert full.exit_code == 0, full.output
    assert whole in full.stdout.splitlines()
    assert "extract" in full.stdout


def test_runs_show_prints_a_short_conf_whole(invoke: Invoke) -> None:
    run_id = run_id_of(invoke("run", str(EXAMPLES), "etl", "--conf", '{"orders": 7}').stdout)
    shown = invoke("runs", "show", run_id)
    assert '{"orders": 7}' in shown.stdout
    assert "in all" not in shown.stdout
