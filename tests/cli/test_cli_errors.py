"""Every bad input prints one line ``Error: ...`` on stderr and exits 2; bugs exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import EXAMPLES, TEST_DAGS, Invoke, only_line

from partita import __version__


def assert_bad_input(result: object, *fragments: str) -> str:
    """Exit code 2, nothing on stdout, one ``Error:`` line on stderr holding ``fragments``."""
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    assert result.stdout == ""  # type: ignore[attr-defined]
    line = only_line(result.stderr)  # type: ignore[attr-defined]
    assert line.startswith("Error: ")
    assert "Traceback" not in result.stderr  # type: ignore[attr-defined]
    for fragment in fragments:
        assert fragment in line
    return line


def test_missing_file(invoke: Invoke) -> None:
    assert_bad_input(
        invoke("run", "no/such/dags.py", "etl"), "no such file, folder or module: 'no/such/dags.py'"
    )


def test_unknown_dag_id_lists_the_known_ones(invoke: Invoke) -> None:
    assert_bad_input(
        invoke("run", str(EXAMPLES), "nope"),
        "no DAG 'nope'",
        "the DAGs found there are: etl, example_dag, sales_forecast",
    )


def test_malformed_conf_says_it_is_not_json_and_where(invoke: Invoke) -> None:
    assert_bad_input(
        invoke("run", str(EXAMPLES), "etl", "--conf", "{bad"),
        "'--conf'",
        "'{bad' is not valid JSON",
        "at line 1 column 2",
    )


@pytest.mark.parametrize(("conf", "kind"), [("[1, 2]", "array"), ("3", "number"), ("null", "null")])
def test_conf_that_is_not_an_object(invoke: Invoke, conf: str, kind: str) -> None:
    assert_bad_input(
        invoke("run", str(EXAMPLES), "etl", "--conf", conf),
        "must be a JSON object",
        f"got a JSON {kind}",
    )


def test_bad_logical_date(invoke: Invoke) -> None:
    assert_bad_input(
        invoke("run", str(EXAMPLES), "etl", "--logical-date", "2025-13-01"),
        "'2025-13-01' is not an ISO 8601 date or time",
    )


def test_unknown_run_id(invoke: Invoke) -> None:
    assert_bad_input(invoke("runs", "show", "nope"), "no run with id 'nope'")
    assert_bad_input(invoke("logs", "nope", "extract"), "no run with id 'nope'")


def test_unknown_task_id_and_try(invoke: Invoke) -> None:
    result = invoke("run", str(TEST_DAGS), "flaky")
    assert result.exit_code == 0, result.output
    run_id = result.stdout.split()[1]
    assert_bad_input(
        invoke("logs", run_id, "nope"), f"run {run_id!r} has no task 'nope'", "after, flaky"
    )
    assert_bad_input(invoke("logs", run_id, "flaky", "--try", "7"), "has tries 1 to 2, not try 7")
    assert_bad_input(invoke("logs", run_id, "flaky", "--map-index", "3"), "no map index 3")


def test_database_error(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTITA_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("PARTITA_SECRET_KEY", "k" * 32)
    assert_bad_input(invoke("runs", "list"), "database postgresql", "Connection refused")


@pytest.mark.parametrize("command", [("runs", "list"), ("db", "upgrade")])
def test_a_url_with_an_unescaped_at_sign_is_refused_and_the_password_hidden(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    monkeypatch.setenv("PARTITA_DATABASE_URL", "postgresql://admin:s3cr@t@db-host:5432/partita")
    line = assert_bad_input(
        invoke(*command),
        "database URL 'postgresql://admin:***@db-host:5432/partita' is refused",
        "unescaped '@'",
        "%40",
    )
    assert "s3cr" not in line and "t@db" not in line


def test_postgresql_without_a_secret_key_is_refused(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARTITA_DATABASE_URL", "postgresql://nobody:hunter2@127.0.0.1:1/none")
    line = assert_bad_input(
        invoke("runs", "list"),
        "PARTITA_SECRET_KEY is not set; with a PostgreSQL metadata database",
        "secrets.token_hex(32)",
    )
    assert "hunter2" not in line


def test_unsupported_database_url(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTITA_DATABASE_URL", "mysql://localhost/db")
    assert_bad_input(invoke("runs", "list"), "is not supported (backend 'mysql')")


def test_configuration_error(invoke: Invoke, cli_home: Path) -> None:
    cli_home.mkdir()
    (cli_home / "partita.yaml").write_text("database_url: [unclosed\n")
    assert_bad_input(invoke("runs", "list"), "partita.yaml: is not valid YAML")


def test_usage_errors_are_one_line_too(invoke: Invoke) -> None:
    assert_bad_input(
        invoke("run", str(EXAMPLES)), "Missing argument 'DAG_ID'", "(see 'partita run --help')"
    )
    assert_bad_input(invoke("frobnicate"), "No such command 'frobnicate'")
    assert_bad_input(invoke("runs", "list", "--limit", "0"), "'--limit'")


def test_an_unexpected_error_is_one_line_without_debug_and_a_traceback_with_it(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("something partita did not expect")

    monkeypatch.setattr("partita.cli.dags.discover", broken)
    result = invoke("dags", "list", str(EXAMPLES))
    assert result.exit_code == 1
    line = only_line(result.stderr)
    assert line.startswith("Error: internal error: RuntimeError: something partita did not expect")
    assert "--debug" in line

    result = invoke("--debug", "dags", "list", str(EXAMPLES))
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "in broken" in result.stderr


def test_debug_shows_the_traceback_of_a_user_error(invoke: Invoke) -> None:
    result = invoke("--debug", "run", "missing.py", "etl")
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.rstrip().endswith("Error: no such file, folder or module: 'missing.py'")


def test_version(invoke: Invoke) -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"partita, version {__version__}"


def test_no_arguments_prints_the_help(invoke: Invoke) -> None:
    result = invoke()
    assert result.exit_code == 0
    assert "Commands:" in result.stdout and "runs" in result.stdout


def test_an_unknown_default_timezone_is_a_one_line_error(invoke: Invoke, cli_home: Path) -> None:
    cli_home.mkdir()
    (cli_home / "partita.yaml").write_text("default_timezone: Mars/Base\n")
    assert_bad_input(
        invoke("run", str(EXAMPLES), "etl"), "key 'default_timezone'", "'Mars/Base' is not a known"
    )


def test_an_invalid_cron_string_is_an_import_error_naming_the_dag(
    invoke: Invoke, tmp_path: Path
) -> None:
    dag_file = tmp_path / "bad_schedule.py"
    dag_file.write_text('from partita import DAG\nDAG("nightly", schedule="0 24 * * *")\n')
    listed = invoke("dags", "list", str(dag_file))
    assert listed.exit_code == 1
    assert "DAG 'nightly': invalid schedule '0 24 * * *'" in listed.output
