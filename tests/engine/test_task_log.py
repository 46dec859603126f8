"""A task's log is streamed to the store while it runs, in bounded pieces, in linear time."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from partita import DAG, PythonOperator, TaskState
from partita.engine.task_log import FLUSH_CHARS, MAX_LINE_CHARS
from partita.executors.in_process import run_dag
from partita.storage.base import Storage
from partita.storage.memory import MemoryStorage
from partita.storage.sql import SqlStorage


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "memory":
        yield MemoryStorage()
        return
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_clean_database_url"
    with SqlStorage(request.getfixturevalue(fixture), tmp_path / "storage") as store:
        yield store


def messages(storage: Storage, run_id: str, task_id: str, try_number: int = 1) -> list[str]:
    lines = storage.logs.read_lines(run_id, task_id, -1, try_number)
    assert [line.seq for line in lines] == list(range(len(lines)))  # numbered without gaps
    return [line.message for line in lines]


def test_output_without_newlines_is_linear_not_quadratic() -> None:
    """8 MiB printed in 1 KiB pieces took a minute when each write re-joined the line."""
    piece = "x" * 1024
    elapsed: list[float] = []

    def progress() -> None:
        started = time.perf_counter()
        for _ in range(8 * 1024):
            sys.stdout.write(piece)
        elapsed.append(time.perf_counter() - started)

    with DAG("no_newlines") as dag:
        PythonOperator(task_id="t", python_callable=progress)
    storage = MemoryStorage()
    result = run_dag(dag, storage=storage)

    assert result.state.value == "success"
    assert elapsed[0] < 1.0
    stored = messages(storage, result.run_id, "t")
    assert "".join(stored) == piece * 8 * 1024
    assert {len(m) for m in stored} == {MAX_LINE_CHARS}  # stored in bounded pieces


def test_carriage_returns_redraw_the_line_as_on_a_terminal() -> None:
    def bar() -> None:
        for percent in range(0, 101, 10):
            print(f"\r{percent:3d}% |{'#' * (percent // 10)}", end="")
        print()
        print("windows line\r\nnext\r", end="")
        print("", end="\n")
        print("split at\r", end="")
        print("\nthe end")

    with DAG("progress") as dag:
        PythonOperator(task_id="t", python_callable=bar)
    storage = MemoryStorage()
    result = run_dag(dag, storage=storage)

    assert messages(storage, result.run_id, "t") == [
        "100% |##########",
        "windows line",
        "next",
        "split at",
        "the end",
    ]


def test_a_very_long_logged_line_is_stored_in_pieces() -> None:
    text = "".join(chr(ord("a") + i % 26) for i in range(3 * MAX_LINE_CHARS + 5))
    with DAG("long_line") as dag:
        PythonOperator(task_id="t", python_callable=lambda log: log.info(text))
    storage = MemoryStorage()
    result = run_dag(dag, storage=storage)

    stored = messages(storage, result.run_id, "t")
    assert [len(m) for m in stored] == [MAX_LINE_CHARS] * 3 + [5]
    assert "".join(stored) == text


def test_lines_reach_the_store_while_the_task_runs(sqlite_url: str, tmp_path: Path) -> None:
    """By size (a full buffer, written by the task's thread) and by age (the flusher)."""
    seen: dict[str, list[str]] = {}

    def chatty() -> None:
        with SqlStorage(sqlite_url, tmp_path / "storage") as reader:  # another connection
            run_id = reader.runs.list_runs()[0].run_id
            print("first line")
            deadline = time.monotonic() + 20
            while not (lines := messages(reader, run_id, "t")) and time.monotonic() < deadline:
                time.sleep(0.05)  # the flusher writes it within about half a second
            seen["by age"] = lines
            for i in range(FLUSH_CHARS // 1000 + 10):
                print(f"{i:08d}" + "y" * 992)
            seen["by size"] = messages(reader, run_id, "t")

    with DAG("streamed") as dag:
        PythonOperator(task_id="t", python_callable=chatty)
    with SqlStorage(sqlite_url, tmp_path / "storage") as storage:
        result = run_dag(dag, storage=storage)
        final = messages(storage, result.run_id, "t")

    assert result.state.value == "success"
    assert seen["by age"] == ["first line"]
    assert len(seen["by size"]) > 1000  # a full buffer went out before the task ended
    assert final[0] == "first line" and len(final) == FLUSH_CHARS // 1000 + 11


def test_a_task_that_logs_nothing_writes_no_line(any_storage: Storage) -> None:
    with DAG("quiet") as dag:
        PythonOperator(task_id="t", python_callable=lambda: None)
    result = run_dag(dag, storage=any_storage)
    assert any_storage.logs.log_tries(result.run_id, "t") == []


NON_UTF8_NAME = b"caf\xe9.csv".decode("utf-8", "surrogateescape")  # as os.listdir gives it


def test_surrogates_and_nul_in_logs_outputs_and_errors_are_recorded(
    any_storage: Storage,
) -> None:
    def lists_files() -> str:
        print(f"found {NON_UTF8_NAME}")
        logging.getLogger("files").error("nul \x00 here")
        return NON_UTF8_NAME

    def fails() -> None:
        print("about to fail\x00")
        raise ValueError(f"cannot read {NON_UTF8_NAME}\x00")

    with DAG("odd_text") as dag:
        PythonOperator(task_id="lists", python_callable=lists_files)
        PythonOperator(task_id="fails", python_callable=fails)
    result = run_dag(dag, storage=any_storage)

    assert result.run.state.value == "failed"  # recorded to the end, not left running
    assert result.task_states["lists"] is TaskState.SUCCESS
    assert result.output("lists") == NON_UTF8_NAME  # a pickled value keeps its text
    assert messages(any_storage, result.run_id, "lists") == [
        "found caf\\udce9.csv",
        "files: nul \\x00 here",
    ]
    assert result.task_states["fails"] is TaskState.FAILED
    error = result.error("fails")
    assert error is not None and "ValueError: cannot read caf\\udce9.csv\\x00" in error
    assert "about to fail\\x00" in messages(any_storage, result.run_id, "fails")


def test_a_retried_task_numbers_each_try_from_zero(any_storage: Storage) -> None:
    tries: list[int] = []

    def flaky(ti: Any) -> None:
        tries.append(ti.try_number)
        for i in range(3):
            print(f"try {ti.try_number} line {i}")
        if ti.try_number == 1:
            raise RuntimeError("first try fails")

    with DAG("flaky_logs") as dag:
        PythonOperator(task_id="t", python_callable=flaky, retries=1, retry_delay=0)
    result = run_dag(dag, storage=any_storage)

    assert any_storage.logs.log_tries(result.run_id, "t") == [1, 2]
    first = messages(any_storage, result.run_id, "t", 1)
    assert first[:3] == ["try 1 line 0", "try 1 line 1", "try 1 line 2"]
    assert messages(any_storage, result.run_id, "t", 2) == [f"try 2 line {i}" for i in range(3)]


@pytest.mark.slow
@pytest.mark.postgres
def test_a_30_mb_log_on_postgres_is_stored_and_read_in_bounded_pieces(
    pg_clean_database_url: str, tmp_path: Path
) -> None:
    """300 MB (measured with bench/big_log.py) once failed with "total size of jsonb array
    elements exceeds the maximum"; lines are rows now, so size is bounded by the disk."""
    line = "z" * 99
    block = (line + "\n") * 1000
    megabytes = 30
    count = megabytes * 1024 * 1024 // 100 // 1000 * 1000

    def talk() -> None:
        for _ in range(count // 1000):
            sys.stdout.write(block)

    with DAG("big_log") as dag:
        PythonOperator(task_id="talk", python_callable=talk)
    with SqlStorage(pg_clean_database_url, tmp_path / "storage") as storage:
        result = run_dag(dag, storage=storage)
        logs = storage.logs
        tail = logs.tail_lines(result.run_id, "talk", -1, 1, 2)
        middle = logs.read_lines(result.run_id, "talk", -1, 1, start=count // 2, limit=3)

    assert result.state.value == "success"
    assert [t.seq for t in tail] == [count - 2, count - 1]
    assert [m.seq for m in middle] == [count // 2, count // 2 + 1, count // 2 + 2]
    assert {m.message for m in [*tail, *middle]} == {line}
