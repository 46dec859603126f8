"""``partita dags list`` and ``partita dags show``."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from cli_helpers import EXAMPLES, TEST_DAGS, Invoke
from rich.console import Console

from partita.cli.tree import dag_tree
from partita.loader import get_dag


def render(path: Path, dag_id: str) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=200).print(dag_tree(get_dag(path, dag_id)))
    return buffer.getvalue()


def test_list_shows_every_dag_of_the_examples(invoke: Invoke) -> None:
    result = invoke("dags", "list", str(EXAMPLES))
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[2:]}
    assert sorted(rows) == ["etl", "example_dag", "sales_forecast"]
    assert " 3 " in rows["example_dag"] and "0 * * * *" in rows["example_dag"]
    assert "example" in rows["example_dag"]
    assert str(EXAMPLES / "sales_forecast.py") in rows["sales_forecast"]
    assert result.stderr == ""


def test_list_reports_import_errors_and_exits_1(invoke: Invoke, tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    shutil.copy(EXAMPLES / "example_dag.py", folder)
    (folder / "broken.py").write_text("import partita\nraise ValueError('no [red]config[/red]')\n")

    result = invoke("dags", "list", str(folder))
    assert result.exit_code == 1
    assert "example_dag" in result.stdout  # the healthy DAG is still listed
    assert "1 import error:" in result.stderr
    assert f"{folder / 'broken.py'}: ValueError: no [red]config[/red] (line 2)" in result.stderr
    assert "Traceback" not in result.stderr

    verbose = invoke("dags", "list", "--verbose", str(folder))
    assert verbose.exit_code == 1
    assert "Traceback (most recent call last)" in verbose.stderr
    assert "raise ValueError" in verbose.stderr


def test_list_reads_the_dags_folder_of_the_working_directory_by_default(
    invoke: Invoke, cli_home: Path
) -> None:
    work = Path.cwd()
    (work / "dags").mkdir()
    shutil.copy(EXAMPLES / "example_dag.py", work / "dags")
    result = invoke("dags", "list")
    assert result.exit_code == 0, result.output
    assert "example_dag" in result.stdout
    assert "dags/example_dag.py" in result.stdout  # shown relative to the working directory


def test_list_of_a_folder_without_dags(invoke: Invoke, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke("dags", "list", str(empty))
    assert result.exit_code == 0
    assert result.stdout.strip() == f"No DAGs found in {empty}."


def test_show_draws_fan_in_once_and_references_it_elsewhere(invoke: Invoke) -> None:
    result = invoke("dags", "show", str(EXAMPLES), "sales_forecast")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.splitlines()[0] == "DAG sales_forecast  8 tasks, schedule @daily"
    assert out.count("join_datasets  PythonOperator") == 1
    assert out.count("↑ join_datasets (shown above)") == 1
    # train_model hangs under join_datasets, drawn once.
    assert out.count("train_model") == 1
    assert out.index("join_datasets  PythonOperator") < out.index("train_model")


def test_show_nests_groups_and_marks_what_follows_a_group() -> None:
    lines = render(TEST_DAGS, "grouped").splitlines()
    text = "\n".join(lines)
    assert "▣ outer  task group, 3 tasks" in text
    assert "▣ outer.inner  task group, 2 tasks" in text
    assert "▸ end  EmptyOperator" in text
    assert "↑ end (shown above)" in text

    def depth(fragment: str) -> int:
        line = next(line for line in lines if fragment in line)
        return line.index(fragment)

    assert (
        depth("outer.inner.b") > depth("outer.inner.a") > depth("▣ outer.inner") > depth("▣ outer ")
    )


def test_show_names_non_default_trigger_rules_and_retries(invoke: Invoke) -> None:
    out = invoke("dags", "show", str(EXAMPLES), "etl").stdout
    assert "audit  DecoratedPythonOperator  trigger_rule=all_done" in out
    assert "extract  DecoratedPythonOperator  retries=2" in out
    assert "split  DecoratedPythonOperator\n" in out  # defaults are not shown
    assert "▣ transform  task group, 2 tasks" in out


MAPPED_DAG = """
from partita import DAG, PythonOperator, task, task_group

with DAG("mapped") as dag:

    @task
    def numbers() -> list[int]:
        return [1, 2]

    @task
    def add(x: int, y: int) -> int:
        return x + y

    @task_group
    def per_number(n: int):
        @task
        def square(n: int) -> int:
            return n * n

        return square(n)

    values = numbers()
    add.partial(y=1).expand(x=values)
    per_number.expand(n=values)
    PythonOperator.partial(task_id="classic", python_callable=print).expand(op_args=[[1]])
"""


def test_show_marks_mapped_tasks_and_mapped_groups(tmp_path: Path) -> None:
    (tmp_path / "mapped_dag.py").write_text(MAPPED_DAG)
    text = render(tmp_path / "mapped_dag.py", "mapped")
    assert "add [mapped]  DecoratedPythonOperator" in text
    assert "classic [mapped]  PythonOperator" in text
    assert "▣ per_number [mapped]  mapped task group, 1 task" in text
    assert "numbers  DecoratedPythonOperator" in text  # not mapped: no mark
    assert "numbers [mapped]" not in text
