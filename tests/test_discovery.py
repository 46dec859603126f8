"""Tests of ``partita.discovery``: find a DAG's file through the index, say why a DAG is missing."""

from __future__ import annotations

import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from partita.dag_index import DagIndex
from partita.discovery import discover, locate_dag
from partita.exceptions import DagNotFoundError
from partita.loader import module_name_for

HEADER = "from partita import DAG, EmptyOperator\n"
HANGS = """
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
    return f"with DAG({dag_id!r}):\n    EmptyOperator(task_id='a') >> EmptyOperator(task_id='b')\n"


@pytest.fixture(autouse=True)
def clean_modules() -> Iterator[None]:
    before, path = set(sys.modules), list(sys.path)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - before:
        del sys.modules[name]


@pytest.mark.slow
def test_the_dag_is_found_in_its_file_without_waiting_for_a_hanging_sibling(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "dags"
    bad = write(folder / "a_bad.py", "raise ValueError('no config')\n")
    slow = write(folder / "b_slow.py", HANGS)
    good = write(folder / "c_good.py", simple_dag("wanted"))
    index = DagIndex(tmp_path / "index.json")
    # Cold index: only the file that names the DAG is imported (in the importer child).
    started = time.monotonic()
    located = locate_dag(str(folder), "wanted", import_timeout=30, index=index)
    assert time.monotonic() - started < 15
    assert located.dag.dag_id == "wanted" and located.source == str(good)
    assert located.warnings == ()
    assert module_name_for(bad) not in sys.modules and module_name_for(slow) not in sys.modules
    # Once the folder is known (dags list), the failed siblings become warnings.
    found = discover(str(folder), import_timeout=1, index=index)
    assert set(found.errors) == {str(bad), str(slow)}
    started = time.monotonic()
    located = locate_dag(str(folder), "wanted", import_timeout=30, index=DagIndex.load(index.path))
    assert time.monotonic() - started < 15
    assert located.dag.dag_id == "wanted"
    assert len(located.warnings) == 2
    assert "a_bad.py failed to import: ValueError: no config (line 2)" in located.warnings[0]
    assert "b_slow.py failed to import: ImportTimeout" in located.warnings[1]


def test_the_index_follows_a_dag_moved_to_another_file(tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    first = write(folder / "first.py", simple_dag("moving"))
    second = write(folder / "second.py", simple_dag("staying"))
    index_path = tmp_path / "index.json"
    located = locate_dag(str(folder), "moving", import_timeout=10, index=DagIndex.load(index_path))
    assert located.source == str(first)
    write(first, "")
    write(second, simple_dag("staying") + simple_dag("moving"))
    index = DagIndex.load(index_path)
    assert index.fresh(first) is None  # the change is seen
    located = locate_dag(str(folder), "moving", import_timeout=10, index=index)
    assert located.source == str(second)
    entry = DagIndex.load(index_path).fresh(second)
    assert entry is not None and entry.dag_ids == ("staying", "moving")


def test_a_dag_missing_because_its_file_failed_shows_the_error_and_line(tmp_path: Path) -> None:
    bad = write(
        tmp_path / "broken.py",
        """
        def settings():
            return {}["region"]

        REGION = settings()
        """,
    )
    with pytest.raises(DagNotFoundError) as caught:
        locate_dag(str(bad), "etl", import_timeout=10, index=DagIndex(None))
    assert str(caught.value) == (
        f"DAG 'etl' was not found: file {bad} failed to import: KeyError: 'region' (line 4)"
    )
    assert caught.value.details.splitlines() == [
        f'  File "{bad}", line 6, in <module>',
        "    REGION = settings()",
        f'  File "{bad}", line 4, in settings',
        '    return {}["region"]',
    ]


def test_a_cycle_points_at_the_line_that_closed_it(tmp_path: Path) -> None:
    bad = write(
        tmp_path / "cycle.py",
        """
        with DAG("cyclic"):
            a = EmptyOperator(task_id="a")
            b = EmptyOperator(task_id="b")
            a >> b
            b >> a
        """,
    )
    with pytest.raises(DagNotFoundError) as caught:
        locate_dag(str(bad), "cyclic", import_timeout=10, index=DagIndex(None))
    message = str(caught.value)
    assert message.startswith(
        f"DAG 'cyclic' was not found: file {bad} failed to import: CycleError: DAG 'cyclic' has a "
        "cycle: "
    )
    assert caught.value.details.splitlines() == [f'  File "{bad}", line 7', "    b >> a"]


def test_with_several_failed_files_each_is_named(tmp_path: Path) -> None:
    write(tmp_path / "one.py", "raise ValueError('first')\n")
    write(tmp_path / "two.py", "raise ValueError('second')\n")
    write(tmp_path / "fine.py", simple_dag("fine"))
    with pytest.raises(DagNotFoundError) as caught:
        locate_dag(str(tmp_path), "elsewhere", import_timeout=10, index=DagIndex(None))
    message = str(caught.value)
    assert message.startswith(f"no DAG 'elsewhere' in '{tmp_path}'; the DAGs found there are: fine")
    assert "2 files failed to import" in message
    assert "one.py: ValueError: first (line 2)" in message
    assert "two.py: ValueError: second (line 2)" in message


def test_a_failed_file_is_imported_again_once_fixed(tmp_path: Path) -> None:
    file = write(tmp_path / "flaky.py", "raise ValueError('not yet')\n")
    index_path = tmp_path / "index.json"
    with pytest.raises(DagNotFoundError, match="not yet"):
        locate_dag(str(tmp_path), "flaky", import_timeout=10, index=DagIndex.load(index_path))
    write(file, simple_dag("flaky"))
    located = locate_dag(str(tmp_path), "flaky", import_timeout=10, index=DagIndex.load(index_path))
    assert located.dag.task_ids == ["a", "b"]


def test_a_dag_of_a_module_is_checked_in_the_importer_then_loaded_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "located_pkg" / "__init__.py", "")
    write(tmp_path / "located_pkg" / "flows.py", simple_dag("flow"))
    write(tmp_path / "located_pkg" / "bad.py", "raise ValueError('bad module')\n")
    monkeypatch.chdir(tmp_path)
    located = locate_dag("located_pkg.flows", "flow", import_timeout=10)
    assert located.dag.dag_id == "flow" and located.source == "located_pkg.flows"
    with pytest.raises(DagNotFoundError, match=r"the DAGs found there are: flow$"):
        locate_dag("located_pkg.flows", "other", import_timeout=10)
    with pytest.raises(DagNotFoundError) as caught:
        locate_dag("located_pkg.bad", "flow", import_timeout=10)
    assert str(caught.value) == (
        "DAG 'flow' was not found: module located_pkg.bad failed to import: "
        "ValueError: bad module (line 2)"
    )
    assert "located_pkg.bad" not in sys.modules
