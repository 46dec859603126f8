"""``partita assets list`` / ``partita assets materialize``, and code locations in ``run``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cli_helpers import REPO, Invoke, partita_command, run_id_of, subprocess_env, table_rows

LOCATION = Path(__file__).resolve().parent / "assets_location" / "warehouse.py"
UPSTREAM = "some_db_schema/upstream_asset"
DOWNSTREAM = "another_downstream_asset"


def _status(invoke: Invoke) -> dict[str, list[str]]:
    result = invoke("assets", "list", str(LOCATION))
    assert result.exit_code == 0, result.output
    return table_rows(result.stdout)


def test_list_shows_never_materialized_assets_as_stale(invoke: Invoke) -> None:
    rows = _status(invoke)
    assert set(rows) == {UPSTREAM, DOWNSTREAM}
    assert rows[UPSTREAM][1] == "default" and rows[DOWNSTREAM][1] == "reports"
    assert all(cells[-1] == "stale: never materialized" for cells in rows.values())
    empty = invoke("assets", "list")
    assert empty.exit_code == 0 and "No asset has been materialized yet." in empty.stdout


def test_materialize_a_selection_records_it_and_list_shows_it_fresh(invoke: Invoke) -> None:
    result = invoke("assets", "materialize", str(LOCATION), "--select", f"{UPSTREAM}*")
    assert result.exit_code == 0, result.output
    run_id = run_id_of(result.stdout)
    assert "of DAG __materialize__: success" in result.stdout.splitlines()[0]
    assert "Materialized:" in result.stdout
    assert f"  {UPSTREAM}  data version " in result.stdout
    rows = _status(invoke)
    assert rows[UPSTREAM][3] == run_id and rows[UPSTREAM][-1] == "fresh"
    assert rows[DOWNSTREAM][-1] == "fresh"

    shown = invoke("runs", "show", run_id)
    assert "Materialized assets:" in shown.stdout
    assert f"{DOWNSTREAM} (task {DOWNSTREAM}, data version" in shown.stdout
    assert "count: 4" in shown.stdout
    assert f"upstream data versions: {UPSTREAM} " in shown.stdout
    assert "partita/upstream_data_versions" not in shown.stdout
    assert f"  {UPSTREAM}: enough_rows passed" in shown.stdout

    catalog = table_rows(invoke("assets", "list").stdout)
    assert set(catalog) == {UPSTREAM, DOWNSTREAM}


def test_an_upstream_with_new_data_makes_its_downstream_stale(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("assets", "materialize", str(LOCATION)).exit_code == 0
    assert invoke("assets", "materialize", str(LOCATION), "--select", UPSTREAM).exit_code == 0
    rows = _status(invoke)
    assert rows[UPSTREAM][-1] == "fresh" and rows[DOWNSTREAM][-1] == "fresh"  # same data
    monkeypatch.setenv("SOURCE_ROWS", "4")
    assert invoke("assets", "materialize", str(LOCATION), "--select", UPSTREAM).exit_code == 0
    listed = invoke("assets", "list", str(LOCATION)).stdout
    rows = table_rows(listed)
    assert rows[UPSTREAM][-1] == "fresh"
    assert rows[DOWNSTREAM][-1].startswith(f"stale: upstream {UPSTREAM}")  # the cell wraps
    assert "changed (data version" in listed


def test_a_new_code_version_makes_an_asset_stale(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("assets", "materialize", str(LOCATION)).exit_code == 0
    monkeypatch.setenv("UPSTREAM_VERSION", "2")
    rows = _status(invoke)
    assert rows[UPSTREAM][-1] == "stale: code version changed (1 -> 2)"


def test_materializing_a_downstream_alone_names_the_missing_upstream(invoke: Invoke) -> None:
    result = invoke("assets", "materialize", str(LOCATION), "--select", DOWNSTREAM)
    assert result.exit_code == 1
    assert (
        f"asset '{DOWNSTREAM}' needs upstream asset ['some_db_schema', 'upstream_asset'], "
        "which was never materialized" in result.stdout
    )
    assert f"--select {UPSTREAM}" in result.stdout


def test_config_is_given_with_conf_and_checked_before_the_run(invoke: Invoke) -> None:
    conf = '{"tasks": {"another_downstream_asset": {"config": {"factor": 10}}}}'
    assert invoke("assets", "materialize", str(LOCATION), "--conf", conf).exit_code == 0
    bad = invoke(
        "assets", "materialize", str(LOCATION), "--conf",
        '{"tasks": {"another_downstream_asset": {"config": {"factor": "x"}}}}',
    )  # fmt: skip
    assert bad.exit_code == 2
    assert "task 'another_downstream_asset': config is invalid: field 'factor'" in bad.stderr
    assert invoke("runs", "list").stdout.count("__materialize__") == 1


def test_a_bad_selection_or_a_path_without_assets_is_a_one_line_error(
    invoke: Invoke, tmp_path: Path
) -> None:
    bad = invoke("assets", "materialize", str(LOCATION), "--select", "nope")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("Error: selection: no asset 'nope'")
    (tmp_path / "no_assets.py").write_text("x = 1\n")
    none = invoke("assets", "list", str(tmp_path / "no_assets.py"))
    assert none.exit_code == 2 and "no assets in" in none.stderr


def test_dags_list_and_run_read_the_definitions(invoke: Invoke) -> None:
    listed = invoke("dags", "list", str(LOCATION))
    assert listed.exit_code == 0
    assert set(table_rows(listed.stdout)) == {"all_assets_job", "failing_job"}
    ran = invoke("run", str(LOCATION), "all_assets_job")
    assert ran.exit_code == 0, ran.output  # the location's resource reached the asset
    assert f"  {UPSTREAM}  data version" in ran.stdout


def test_failure_metadata_is_shown_by_runs_show(invoke: Invoke) -> None:
    ran = invoke("run", str(LOCATION), "failing_job")
    assert ran.exit_code == 1
    shown = invoke("runs", "show", run_id_of(ran.stdout))
    assert "missing_file (try 1): FailTask: No files to process" in shown.stdout
    assert "path: /oh/my/path (path)" in shown.stdout


def test_the_catalog_survives_a_restart_of_the_process(cli_home: Path) -> None:
    def partita(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            partita_command(*args), cwd=REPO, env=subprocess_env(cli_home), capture_output=True,
            text=True, timeout=120, check=False,
        )  # fmt: skip

    first = partita("assets", "materialize", str(LOCATION), "--select", UPSTREAM)
    assert first.returncode == 0, first.stderr
    # A new process: the catalog (metadata DB) and the stored value (files) are still there.
    second = partita("assets", "materialize", str(LOCATION), "--select", DOWNSTREAM)
    assert second.returncode == 0, second.stdout + second.stderr
    listed = partita("assets", "list", str(LOCATION))
    rows = table_rows(listed.stdout)
    assert rows[UPSTREAM][-1] == "fresh" and rows[DOWNSTREAM][-1] == "fresh"
    assert rows[UPSTREAM][3] == run_id_of(first.stdout)
    assert (cli_home / "storage" / "some_db_schema" / "upstream_asset.pkl").is_file()


def test_list_shows_each_assets_checks_and_a_blocking_failure_stops_downstream(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _status(invoke)
    assert rows[UPSTREAM][-2] == "enough_rows: not run" and rows[DOWNSTREAM][-2] == "-"
    assert invoke("assets", "materialize", str(LOCATION)).exit_code == 0
    assert _status(invoke)[UPSTREAM][-2] == "enough_rows: passed"
    monkeypatch.setenv("SOURCE_ROWS", "1")
    failed = invoke("assets", "materialize", str(LOCATION))
    assert failed.exit_code == 1
    assert "some_db_schema__upstream_asset__check__enough_rows" in failed.stdout
    shown = invoke("runs", "show", run_id_of(failed.stdout)).stdout
    assert "Asset checks:" in shown
    assert f"  {UPSTREAM}: enough_rows failed (ERROR)" in shown and "rows: 1" in shown
    listed = invoke("assets", "list", str(LOCATION)).stdout
    rows = table_rows(listed)
    assert rows[UPSTREAM][-2] == "enough_rows: failed"
    assert rows[DOWNSTREAM][-1].startswith(f"stale: upstream {UPSTREAM}")  # it was not rerun
    assert "changed (data version" in listed
    catalog = table_rows(invoke("assets", "list").stdout)
    assert catalog[UPSTREAM][-1] == "enough_rows: failed" and catalog[DOWNSTREAM][-1] == "-"
