"""Code locations: a module-level ``Definitions`` (or plain assets) read by the loader."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from partita.exceptions import DagLoadError
from partita.loader import get_dag, load_dags, load_definitions

LOCATION = """
from partita import DAG, Definitions, Resource, asset, define_asset_job, task


class Greeter(Resource):
    greeting: str


@asset
def asset1():
    return [1, 2, 3]


@asset
def asset2(asset1):
    return asset1 + [4]


@task
def greet(greeter: Greeter) -> str:
    return greeter.greeting


with DAG("greeting") as greeting:
    greet()

with DAG("not_listed") as not_listed:
    greet()

defs = Definitions(
    assets=[asset1, asset2],
    dags=[greeting],
    jobs=[define_asset_job("all_assets_job"), define_asset_job("asset1_job", selection="asset1")],
    resources={"greeter": Greeter(greeting="hello")},
)
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def test_a_module_level_definitions_is_the_code_location(tmp_path: Path) -> None:
    file = _write(tmp_path / "location.py", LOCATION)
    result = load_dags(file)
    assert result.errors == {}
    assert sorted(result.dags) == ["all_assets_job", "asset1_job", "greeting"]  # not not_listed
    assert get_dag(file, "greeting").test().output("greet") == "hello"
    job = get_dag(file, "asset1_job")
    assert list(job.task_dict) == ["asset1"]
    assert job.test().output("asset1") == [1, 2, 3]
    definitions, _ = load_definitions(file)
    assert [k.to_user_string() for k in definitions.asset_graph.defined_keys] == [
        "asset1",
        "asset2",
    ]


def test_a_file_of_plain_assets_is_an_implicit_code_location(tmp_path: Path) -> None:
    file = _write(
        tmp_path / "plain_assets.py",
        """
        from partita import DAG, EmptyOperator, asset, define_asset_job

        @asset
        def a():
            return 1

        @asset
        def b(a):
            return a + 1

        nightly = define_asset_job("nightly", selection="b")

        with DAG("classic"):
            EmptyOperator(task_id="noop")
        """,
    )
    result = load_dags(file)
    assert sorted(result.dags) == ["classic", "nightly"]
    definitions, _ = load_definitions(file)
    assert definitions.fileloc == str(file)
    assert definitions.materialize_dag("a*").task_ids == ["a", "b"]


def test_module_level_asset_checks_join_the_implicit_code_location(tmp_path: Path) -> None:
    file = _write(
        tmp_path / "checked_assets.py",
        """
        from partita import AssetCheckResult, asset, asset_check

        @asset
        def a():
            return 1

        @asset_check(asset=a)
        def positive(a):
            return AssetCheckResult(passed=a > 0)
        """,
    )
    definitions, _ = load_definitions(file)
    assert [c.name for c in definitions.asset_checks] == ["positive"]
    assert definitions.materialize_dag().task_ids == ["a", "a__check__positive"]


def test_two_definitions_in_one_module_is_an_import_error(tmp_path: Path) -> None:
    file = _write(
        tmp_path / "twice.py",
        """
        from partita import Definitions
        one = Definitions()
        two = Definitions()
        """,
    )
    result = load_dags(file)
    assert "defines 2 Definitions objects (one, two)" in result.errors[str(file)]


def test_a_folder_of_plain_dag_files_keeps_working_and_assets_merge(tmp_path: Path) -> None:
    _write(
        tmp_path / "dag_file.py",
        """
        from partita import DAG, EmptyOperator
        with DAG("plain"):
            EmptyOperator(task_id="t")
        """,
    )
    _write(
        tmp_path / "first_assets.py", "from partita import asset\n@asset\ndef x():\n    return 1\n"
    )
    _write(
        tmp_path / "second_assets.py",
        "from partita import asset\n@asset\ndef y(x):\n    return x + 1\n",
    )
    result = load_dags(tmp_path)
    assert result.errors == {} and sorted(result.dags) == ["plain"]
    definitions, _ = load_definitions(tmp_path)
    assert sorted(k.name for k in definitions.asset_graph.defined_keys) == ["x", "y"]
    assert definitions.materialize_dag("*y").test().output("y") == 2


def test_load_definitions_without_assets_says_so(tmp_path: Path) -> None:
    _write(tmp_path / "only_dags.py", "from partita import DAG\nwith DAG('d'):\n    pass\n")
    with pytest.raises(DagLoadError, match="no assets in"):
        load_definitions(tmp_path / "only_dags.py")


def test_a_dotted_module_with_definitions_is_a_code_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "my_dagster_project"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "assets.py").write_text(
        "from partita import asset\n\n@asset\ndef asset1():\n    return [1, 2, 3]\n"
    )
    _write(
        package / "definitions.py",
        """
        from partita import Definitions, define_asset_job
        from my_dagster_project.assets import asset1

        defs = Definitions(assets=[asset1], jobs=[define_asset_job("all_assets_job")])
        """,
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = load_dags("my_dagster_project.definitions")
    assert result.errors == {} and list(result.dags) == ["all_assets_job"]
    assert result.dags["all_assets_job"].test().output("asset1") == [1, 2, 3]
    definitions, _ = load_definitions("my_dagster_project.definitions")
    assert [k.name for k in definitions.asset_graph.defined_keys] == ["asset1"]
