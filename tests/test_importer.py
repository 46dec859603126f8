"""Tests of ``partita.importer``: a real child process, real hangs, real SIGKILLs."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from partita.importer import KILL_GRACE, DagSummary, Importer
from partita.loader import module_name_for

HEADER = "from partita import DAG, EmptyOperator\n"

HANGS_FOREVER = """
import time
while True:
    try:
        time.sleep(1)
    except BaseException:
        pass
"""


def write(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + textwrap.dedent(body))
    return path


def simple_dag(dag_id: str) -> str:
    return f"with DAG({dag_id!r}, tags=['t'], schedule='@daily'):\n    EmptyOperator(task_id='a')\n"


def test_each_file_gets_its_dags_and_errors_and_nothing_is_imported_here(tmp_path: Path) -> None:
    good = write(tmp_path / "good.py", simple_dag("good"))
    bad = write(tmp_path / "bad.py", "raise ValueError('no config')\n")
    with Importer() as importer:
        first, second = importer.import_files([good, bad], 10)
    assert first.dags == (DagSummary("good", 1, "@daily", ("t",), str(good)),)
    assert first.error is None and first.problem is None
    assert second.dags == ()
    assert second.problem is not None
    assert second.problem.summary == "ValueError: no config (line 2)"
    assert (second.problem.filename, second.problem.lineno) == (str(bad), 2)
    assert second.problem.frames == ((str(bad), 2, "<module>", "raise ValueError('no config')"),)
    for path in (good, bad):
        assert module_name_for(path) not in sys.modules  # imported in the child only


def test_one_child_serves_many_files(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    files = [
        write(
            tmp_path / f"f{n}.py",
            f"import os\nopen({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\n')\n",
        )
        for n in range(3)
    ]
    with Importer() as importer:
        importer.import_files(files, 10)
        importer.import_files(files[:1], 10)  # later calls reuse it too
        assert importer.restarts == 0
    seen = set(pids.read_text().split())
    assert len(seen) == 1 and seen != {str(os.getpid())}


@pytest.mark.slow
def test_a_file_that_swallows_the_time_limit_is_killed_and_the_rest_still_import(
    tmp_path: Path,
) -> None:
    before = write(tmp_path / "a.py", simple_dag("before"))
    hung = write(tmp_path / "b.py", HANGS_FOREVER)
    after = write(tmp_path / "c.py", simple_dag("after"))
    deadline = 1.0
    with Importer() as importer:
        started = time.monotonic()
        results = importer.import_files([before, hung, after], deadline)
        elapsed = time.monotonic() - started
        assert importer.restarts == 1
    assert elapsed < deadline + KILL_GRACE + 5
    assert [r.dag_ids for r in results] == [["before"], [], ["after"]]
    error = results[1].error or ""
    assert error.startswith("ImportTimeout: importing took longer than 1s and did not stop")
    assert "was killed" in error


def test_a_slow_file_that_lets_the_time_limit_through_reports_its_line(tmp_path: Path) -> None:
    slow = write(tmp_path / "slow.py", "import time\ntime.sleep(30)\n")
    with Importer() as importer:
        (result,) = importer.import_files([slow], 0.5)
        assert importer.restarts == 0  # stopped by its own time limit, not killed
    assert result.problem is not None
    assert result.problem.summary.startswith("ImportTimeout: importing took longer than 0.5s")
    assert result.problem.lineno == 3


def test_a_file_that_exits_the_process_is_an_error_and_the_next_file_imports(
    tmp_path: Path,
) -> None:
    exits = write(tmp_path / "exits.py", "import os\nos._exit(4)\n")
    good = write(tmp_path / "good.py", simple_dag("good"))
    with Importer() as importer:
        died, fine = importer.import_files([exits, good], 10)
        assert importer.restarts == 1
    assert (died.error or "").startswith("ImporterDied: the importer process exited (code 4)")
    assert fine.dag_ids == ["good"]


def test_close_stops_the_child(tmp_path: Path) -> None:
    importer = Importer()
    importer.import_files([write(tmp_path / "one.py", simple_dag("one"))], 10)
    process = importer._process
    assert process is not None and process.pid is not None
    pid = process.pid
    importer.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_module_is_imported_in_the_child_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "pkg_for_importer" / "__init__.py", "")
    write(tmp_path / "pkg_for_importer" / "flows.py", simple_dag("from_module"))
    monkeypatch.chdir(tmp_path)
    with Importer() as importer:
        result = importer.import_module("pkg_for_importer.flows", 10)
    assert result.dag_ids == ["from_module"]
    assert "pkg_for_importer.flows" not in sys.modules


def test_a_child_that_died_between_requests_is_replaced(tmp_path: Path) -> None:
    good = write(tmp_path / "good.py", simple_dag("good"))
    with Importer() as importer:
        importer.import_files([good], 10)
        process = importer._process
        assert process is not None and process.pid is not None
        os.kill(process.pid, 9)
        process.join()
        (again,) = importer.import_files([good], 10)
    assert again.dag_ids == ["good"]
