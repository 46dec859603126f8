"""``dag.test()`` prints the run and its tasks' logs as it goes; ``verbose=False`` is silent."""

from __future__ import annotations

import logging

import pytest

from partita import DAG, task
from partita.engine import task_log
from partita.executors import console_log


def _dag() -> DAG:
    with DAG("chatty") as dag:

        @task
        def extract() -> list[int]:
            print("fetched two rows")
            logging.getLogger("chatty").warning("row 2 looks odd")
            return [1, 2]

        @task
        def load(rows: list[int]) -> None:
            raise ValueError(f"cannot load {len(rows)} rows")

        load(extract())
    return dag


def test_dag_test_prints_task_lines_logs_and_the_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = _dag().test()
    out = capsys.readouterr().out.splitlines()

    assert result.state == "failed"
    text = "\n".join(out)
    assert f"dag 'chatty': run {result.run_id} started" in out[0]
    assert "INFO - extract: running (try 1)" in text
    assert "INFO - extract: fetched two rows" in text
    assert "WARNING - extract: chatty: row 2 looks odd" in text
    assert "INFO - extract: success in " in text
    assert "Traceback (most recent call last):" in text
    assert "ValueError: cannot load 2 rows" in text
    assert "ERROR - load: failed in " in text
    assert f"ERROR - dag 'chatty': run {result.run_id} ended: failed" in out[-1]
    order = [text.index(s) for s in ("extract: running", "fetched two rows", "extract: success")]
    assert order == sorted(order)


def test_verbose_false_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    result = _dag().test(verbose=False)
    assert result.state == "failed"
    assert capsys.readouterr().out == ""


def test_dag_test_prints_the_lines_a_long_log_streamed_to_the_store(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A small buffer: most lines are written to the store while the task runs, so its
    # outcome holds only the last few; the console log reads the others back, in order.
    monkeypatch.setattr(task_log, "FLUSH_CHARS", 200)
    monkeypatch.setattr(console_log, "_PAGE_LINES", 7)

    with DAG("long_log") as dag:

        @task
        def talk() -> None:
            for n in range(50):
                print(f"line {n}")

        talk()

    result = dag.test()
    out = capsys.readouterr().out
    assert result.state == "success"
    printed = [line.split("talk: ", 1)[1] for line in out.splitlines() if "talk: line " in line]
    assert printed == [f"line {n}" for n in range(50)]
    stored = [line.split("] ", 1)[1] for line in result.logs("talk").splitlines()]
    assert stored == [f"INFO - line {n}" for n in range(50)]
