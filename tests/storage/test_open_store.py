"""``partita.open_store``: the metadata DB of the current settings, opened from Python."""

from __future__ import annotations

from pathlib import Path

import pytest

from partita import DAG, RunResult, open_store, task


def _record_a_run(home: Path) -> str:
    with DAG("numbers") as dag:

        @task
        def three() -> int:
            return 3

        three()
    with open_store() as store:
        return str(dag.test(storage=store, verbose=False).run_id)


def test_open_store_reads_the_database_of_partita_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PARTITA_DATABASE_URL", raising=False)
    monkeypatch.setenv("PARTITA_HOME", str(tmp_path / "home"))
    run_id = _record_a_run(tmp_path / "home")

    assert (tmp_path / "home" / "partita.db").is_file()
    with open_store() as store:
        result = RunResult(store, run_id)
        assert result.state == "success"
        assert result.output("three") == 3


def test_open_store_with_a_url_reads_that_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PARTITA_DATABASE_URL", raising=False)
    monkeypatch.setenv("PARTITA_HOME", str(tmp_path / "home"))
    run_id = _record_a_run(tmp_path / "home")
    monkeypatch.setenv("PARTITA_HOME", str(tmp_path / "elsewhere"))

    with open_store(f"sqlite:///{tmp_path / 'home' / 'partita.db'}") as store:
        assert RunResult(store, run_id).output("three") == 3
