"""Tests of ``partita.loader``: files, modules, folders, and every way a DAG file can fail."""

from __future__ import annotations

import re
import signal
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from partita import DAG
from partita.exceptions import DagLoadError, DagNotFoundError
from partita.loader import dag_files, get_dag, load_dags, module_name_for

HEADER = "from datetime import datetime\nfrom partita import DAG, EmptyOperator, task, dag\n"


def write(path: Path, body: str, header: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text((HEADER if header else "") + textwrap.dedent(body))
    return path


def simple_dag(dag_id: str, tasks: tuple[str, ...] = ("a", "b")) -> str:
    lines = [f"with DAG({dag_id!r}) as the_dag:"]
    lines += [f"    {t} = EmptyOperator(task_id={t!r})" for t in tasks]
    lines.append("    " + " >> ".join(tasks))
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True)
def clean_modules() -> Iterator[None]:
    """Forget the modules a test imported and the folders it made importable."""
    before = set(sys.modules)
    path = list(sys.path)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - before:
        del sys.modules[name]


# -- sources -------------------------------------------------------------------------------
def test_a_file_loads_its_dags(tmp_path: Path) -> None:
    path = write(tmp_path / "one.py", simple_dag("one"))
    result = load_dags(str(path))
    assert list(result.dags) == ["one"]
    assert result.dags["one"].task_ids == ["a", "b"]
    assert result.sources["one"] == str(path)
    assert result.errors == {}


def test_a_dotted_module_loads_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "loader_pkg_mod" / "__init__.py", "", header=False)
    write(tmp_path / "loader_pkg_mod" / "flows.py", simple_dag("from_module"))
    monkeypatch.chdir(tmp_path)
    result = load_dags("loader_pkg_mod.flows")
    assert list(result.dags) == ["from_module"]
    assert result.sources["from_module"] == "loader_pkg_mod.flows"
    # Loading again imports it again, so DAGs are rebuilt, not lost.
    again = load_dags("loader_pkg_mod.flows")
    assert list(again.dags) == ["from_module"]
    assert again.dags["from_module"] is not result.dags["from_module"]


def test_a_module_that_fails_is_reported_under_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "loader_bad_mod.py", "raise ValueError('bad module')\n")
    monkeypatch.chdir(tmp_path)
    result = load_dags("loader_bad_mod")
    assert result.dags == {}
    message = result.errors["loader_bad_mod"]
    assert message.splitlines()[0] == "ValueError: bad module (line 3)"
    assert "importlib" not in message and "loader.py" not in message


def test_a_folder_loads_recursively_in_sorted_order_and_skips_private_names(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "dags"
    write(folder / "b.py", simple_dag("b_dag"))
    write(folder / "a.py", simple_dag("a_dag"))
    write(folder / "nested" / "deeper" / "c.py", simple_dag("c_dag"))
    write(folder / "_helpers.py", "raise RuntimeError('helpers must not be loaded')\n")
    write(folder / "__init__.py", "raise RuntimeError('__init__ must not be loaded')\n")
    write(folder / "_private" / "d.py", "raise RuntimeError('private folders are skipped')\n")
    write(folder / ".hidden" / "e.py", "raise RuntimeError('hidden folders are skipped')\n")
    (folder / "notes.txt").write_text("not python")

    result = load_dags(folder)

    assert result.errors == {}
    assert list(result.dags) == ["a_dag", "b_dag", "c_dag"]
    assert [p.name for p in dag_files(folder)] == ["a.py", "b.py", "c.py"]


def test_sibling_and_folder_root_imports_work(tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    write(folder / "_shared.py", "PREFIX = 'shared'\n", header=False)
    write(folder / "team" / "_local.py", "SUFFIX = 'local'\n", header=False)
    write(
        folder / "team" / "flow.py",
        """
        from _local import SUFFIX
        from _shared import PREFIX
        with DAG(f"{PREFIX}_{SUFFIX}"):
            EmptyOperator(task_id="t")
        """,
    )
    result = load_dags(folder)
    assert result.errors == {}
    assert list(result.dags) == ["shared_local"]


def test_a_task_can_import_a_sibling_module_when_it_runs(tmp_path: Path) -> None:
    write(tmp_path / "_rates.py", "EUR_PER_USD = 0.5\n", header=False)
    path = write(
        tmp_path / "convert.py",
        """
        @task
        def convert() -> float:
            from _rates import EUR_PER_USD  # imported when the task runs, not at load time

            return 10 * EUR_PER_USD

        with DAG("convert") as the_dag:
            convert()
        """,
    )
    loaded = get_dag(path, "convert")
    result = loaded.test()
    assert result.success, result.error("convert")
    assert result.output("convert") == 5.0


def test_files_with_the_same_stem_in_different_folders_do_not_collide(tmp_path: Path) -> None:
    write(tmp_path / "x" / "etl.py", "VALUE = 'x'\n" + simple_dag("etl_x"))
    write(tmp_path / "y" / "etl.py", "VALUE = 'y'\n" + simple_dag("etl_y"))
    result = load_dags(tmp_path)
    assert sorted(result.dags) == ["etl_x", "etl_y"]
    names = {module_name_for(tmp_path / d / "etl.py") for d in ("x", "y")}
    assert len(names) == 2
    for name in names:
        assert name.startswith("partita_dagfile_") and name.endswith("_etl")
        assert sys.modules[name].VALUE in {"x", "y"}


def test_two_files_with_partitioned_assets_get_their_own_hidden_asset_jobs(
    tmp_path: Path,
) -> None:
    source = (
        "from partita import Definitions, StaticPartitionsDefinition, asset\n"
        "@asset(partitions_def=StaticPartitionsDefinition(['a', 'b']))\n"
        "def {name}(): return 1\n"
        "defs = Definitions(assets=[{name}])\n"
    )
    write(tmp_path / "sales.py", source.format(name="sales"))
    write(tmp_path / "stock.py", source.format(name="stock"))
    result = load_dags(tmp_path)
    assert result.errors == {}
    assert sorted(result.dags) == ["__asset_job_sales_0__", "__asset_job_stock_0__"]


def test_a_missing_path_or_module_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(
        DagLoadError, match=re.escape("no such file, folder or module: 'nowhere/x.py'")
    ):
        load_dags("nowhere/x.py")
    with pytest.raises(DagLoadError, match="no such file, folder or module: 'no_such_mod_xyz'"):
        load_dags("no_such_mod_xyz")
    (tmp_path / "data.csv").write_text("a,b\n")
    with pytest.raises(DagLoadError, match="is not a Python file"):
        load_dags(tmp_path / "data.csv")


# -- DAGs found ------------------------------------------------------------------------------
def test_dags_built_in_factories_and_never_bound_are_found(tmp_path: Path) -> None:
    path = write(
        tmp_path / "factories.py",
        """
        def build(name):
            with DAG(name) as built:
                EmptyOperator(task_id="only")
            return built

        for region in ("eu", "us"):
            build(f"report_{region}")

        @dag(dag_id="called")
        def called_flow():
            EmptyOperator(task_id="x")

        called_dag = called_flow()

        @dag
        def never_called():
            EmptyOperator(task_id="y")
        """,
    )
    result = load_dags(path)
    assert result.errors == {}
    assert sorted(result.dags) == ["called", "never_called", "report_eu", "report_us"]
    assert result.dags["never_called"].task_ids == ["y"]


def test_a_dag_imported_by_another_file_is_not_a_duplicate(tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    write(folder / "base.py", simple_dag("base"))
    # Loaded first (sorted order), it imports base.py as the module "base"; base.py is then
    # loaded on its own, and the DAG is credited to it.
    write(folder / "a_uses_base.py", "from base import the_dag\n")
    result = load_dags(folder)
    assert result.errors == {}
    assert list(result.dags) == ["base"]
    assert result.sources["base"] == str(folder / "base.py")


# -- failures ------------------------------------------------------------------------------
def test_a_syntax_error_is_reported_and_other_files_still_load(tmp_path: Path) -> None:
    write(tmp_path / "a_good.py", simple_dag("good"))
    bad = write(tmp_path / "b_bad.py", "def broken(:\n    pass\n")
    write(tmp_path / "c_good.py", simple_dag("also_good"))
    result = load_dags(tmp_path)
    assert sorted(result.dags) == ["also_good", "good"]
    assert list(result.errors) == [str(bad)]
    message = result.errors[str(bad)]
    assert message.splitlines()[0] == "SyntaxError: invalid syntax (line 3)"
    assert "def broken(:" in message


def test_an_exception_at_import_is_reported_with_its_traceback(tmp_path: Path) -> None:
    write(tmp_path / "fine.py", simple_dag("fine"))
    bad = write(
        tmp_path / "raises.py",
        """
        def helper():
            raise KeyError("missing setting")

        with DAG("never_registered"):
            EmptyOperator(task_id="a")
            helper()
        """,
    )
    result = load_dags(tmp_path)
    assert list(result.dags) == ["fine"]  # the half-built DAG of the failed file is dropped
    lines = result.errors[str(bad)].splitlines()
    assert lines[0] == "KeyError: 'missing setting' (line 5)"
    assert lines[1] == "Traceback (most recent call last):"
    assert f'File "{bad}", line 9' in result.errors[str(bad)]
    assert "loader.py" not in result.errors[str(bad)]  # partita's own frames are cut


def test_sys_exit_in_a_dag_file_is_an_error_not_an_exit(tmp_path: Path) -> None:
    bad = write(tmp_path / "exits.py", "import sys\nsys.exit(3)\n")
    result = load_dags(bad)
    assert result.errors[str(bad)].startswith("SystemExit: 3")


def test_a_hanging_import_is_stopped_after_the_timeout(tmp_path: Path) -> None:
    write(tmp_path / "a_fine.py", simple_dag("fine"))
    slow = write(
        tmp_path / "b_slow.py",
        """
        import time
        try:
            time.sleep(60)
        except Exception:
            pass  # must not swallow the time limit
        """,
    )
    handler_before = signal.getsignal(signal.SIGALRM)
    started = time.monotonic()
    result = load_dags(tmp_path, import_timeout=1.0)
    elapsed = time.monotonic() - started
    assert elapsed < 10
    assert list(result.dags) == ["fine"]
    first = result.errors[str(slow)].splitlines()[0]
    assert first.startswith("ImportTimeout: importing took longer than 1s and was stopped (line 6)")
    assert signal.getsignal(signal.SIGALRM) == handler_before


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            """
            with DAG("cyclic"):
                a = EmptyOperator(task_id="a")
                b = EmptyOperator(task_id="b")
                a >> b >> a
            """,
            "CycleError: DAG 'cyclic' has a cycle: ",
        ),
        (
            """
            with DAG("twice"):
                EmptyOperator(task_id="same")
                EmptyOperator(task_id="same")
            """,
            "DuplicateTaskError: DAG 'twice': task id 'same' is used twice",
        ),
        (
            """
            with DAG("rules"):
                EmptyOperator(task_id="odd", trigger_rule="sometimes")
            """,
            "DefinitionError: DAG 'rules': task 'odd': unknown trigger_rule 'sometimes'",
        ),
        (
            """
            with DAG("one"):
                a = EmptyOperator(task_id="a")
            with DAG("two"):
                b = EmptyOperator(task_id="b")
            a >> b
            """,
            "DefinitionError: task 'a' of DAG 'one' cannot be linked to task 'b' of DAG 'two'",
        ),
    ],
    ids=["cycle", "duplicate-task", "trigger-rule", "cross-dag"],
)
def test_definition_errors_are_reported_as_one_message(
    tmp_path: Path, body: str, expected: str
) -> None:
    write(tmp_path / "ok.py", simple_dag("ok"))
    bad = write(tmp_path / "wrong.py", body)
    result = load_dags(tmp_path)
    assert list(result.dags) == ["ok"]
    message = result.errors[str(bad)]
    assert message.startswith(expected)
    assert "Traceback" not in message
    assert "(line " in message


def test_a_cycle_in_a_dag_built_without_with_is_caught(tmp_path: Path) -> None:
    bad = write(
        tmp_path / "no_with.py",
        """
        loose = DAG("loose")
        first = EmptyOperator(task_id="first", dag=loose)
        second = EmptyOperator(task_id="second", dag=loose)
        first >> second >> first
        """,
    )
    result = load_dags(bad)
    assert result.dags == {}
    message = result.errors[str(bad)]
    assert message.startswith("CycleError: DAG 'loose' has a cycle")
    assert "first" in message and "second" in message


def test_the_same_dag_id_in_two_files_names_both_files(tmp_path: Path) -> None:
    first = write(tmp_path / "first.py", simple_dag("shared_id", ("x",)))
    second = write(tmp_path / "second.py", simple_dag("shared_id", ("y",)))
    result = load_dags(tmp_path)
    assert result.dags["shared_id"].task_ids == ["x"]
    message = result.errors[str(second)]
    assert f"DAG id 'shared_id' is defined in both {first} and {second}" in message


def test_the_same_dag_id_twice_in_one_file_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "twice.py", simple_dag("dup", ("x",)) + simple_dag("dup", ("y",)))
    result = load_dags(path)
    assert f"DAG id 'dup' is defined twice in {path}" in result.errors[str(path)]


# -- get_dag -------------------------------------------------------------------------------
def test_get_dag_returns_the_dag(tmp_path: Path) -> None:
    path = write(tmp_path / "one.py", simple_dag("one"))
    found = get_dag(str(path), "one")
    assert isinstance(found, DAG) and found.dag_id == "one"


def test_get_dag_lists_the_known_ids_and_mentions_import_errors(tmp_path: Path) -> None:
    write(tmp_path / "a.py", simple_dag("alpha"))
    write(tmp_path / "b.py", simple_dag("beta"))
    with pytest.raises(DagNotFoundError) as caught:
        get_dag(tmp_path, "gamma")
    assert str(caught.value) == (
        f"no DAG 'gamma' in '{tmp_path}'; the DAGs found there are: alpha, beta"
    )
    write(tmp_path / "c.py", "raise RuntimeError('x')\n")
    with pytest.raises(DagNotFoundError, match="1 file failed to import"):
        get_dag(tmp_path, "gamma")
    with pytest.raises(
        DagLoadError, match=re.escape("no such file, folder or module: 'missing.py'")
    ):
        get_dag("missing.py", "alpha")


def test_a_cycle_is_reported_at_the_line_that_closed_it(tmp_path: Path) -> None:
    bad = write(
        tmp_path / "cycle.py",
        """
        with DAG("cyclic"):
            a = EmptyOperator(task_id="a")
            b = EmptyOperator(task_id="b")
            c = EmptyOperator(task_id="c")
            a >> b
            b >> c
            c >> a
            EmptyOperator(task_id="after")
        """,
    )
    problem = load_dags(bad).problems[str(bad)]
    assert problem.summary.startswith("CycleError: DAG 'cyclic' has a cycle: ")
    assert problem.summary.endswith("(line 10)")  # the `c >> a` line, not the `with` line (4)
    assert (problem.filename, problem.lineno) == (str(bad), 10)


def test_known_failures_are_recorded_without_importing_them(tmp_path: Path) -> None:
    write(tmp_path / "fine.py", simple_dag("fine"))
    skipped = write(tmp_path / "skipped.py", "raise SystemExit('must not run')\n")
    result = load_dags(tmp_path, known_failures={str(skipped): "ImportTimeout: killed"})
    assert list(result.dags) == ["fine"]
    assert result.errors == {str(skipped): "ImportTimeout: killed"}
    assert module_name_for(skipped) not in sys.modules
