"""``partita init [DIR]``: a project that installs, whose tests pass and whose DAGs load."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cli_helpers import REPO, Invoke, only_line, partita_command, subprocess_env, table_rows

from partita.cli.init import package_name_for
from partita.settings import load_settings

EXPECTED_FILES = {
    ".gitignore",
    "README.md",
    "partita.yaml",
    "pyproject.toml",
    "shop_floor/__init__.py",
    "shop_floor/assets.py",
    "shop_floor/dags.py",
    "shop_floor/definitions.py",
    "tests/test_shop_floor.py",
}


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _scaffold_env(home: Path) -> dict[str, str]:
    """A subprocess environment where this checkout's partita is importable (not installed)."""
    env = subprocess_env(home)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO / "src"), os.environ.get("PYTHONPATH", "")) if p
    )
    env.pop("PYTEST_ADDOPTS", None)
    return env


def test_init_writes_the_project_named_after_the_folder(invoke: Invoke) -> None:
    result = invoke("init", "shop-floor")
    assert result.exit_code == 0, result.output
    root = Path("shop-floor")
    assert _files(root) == EXPECTED_FILES
    assert "Created project 'shop_floor' in shop-floor" in result.output
    assert "cd shop-floor && python3 -m pip install -e '.[test]'" in result.output
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["name"] == "shop-floor"
    assert project["dependencies"] == ["partita"]
    assert "PROJECT_" not in "".join((root / f).read_text() for f in EXPECTED_FILES)


def test_the_partita_yaml_is_valid_settings(invoke: Invoke) -> None:
    assert invoke("init", "shop_floor").exit_code == 0
    root = Path("shop_floor").resolve()
    settings = load_settings(env={"PARTITA_HOME": str(root)})
    assert settings.storage_dir == root / "storage"
    assert settings.database_url == f"sqlite:///{root / 'partita.db'}"


@pytest.mark.slow
def test_the_scaffold_tests_pass_and_its_dags_list(invoke: Invoke, tmp_path: Path) -> None:
    assert invoke("init", "shop-floor").exit_code == 0
    root = Path("shop-floor").resolve()
    env = _scaffold_env(tmp_path / "scaffold_home")
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "3 passed" in tests.stdout
    listed = subprocess.run(
        partita_command("dags", "list", "shop_floor.definitions"),
        cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    rows = table_rows(listed.stdout)
    assert set(rows) == {"hello", "refresh_orders"}
    assert rows["hello"][1] == "3"  # extract, total, report


def test_the_current_folder_is_the_default(invoke: Invoke) -> None:
    os.mkdir("inventory")
    os.chdir("inventory")
    result = invoke("init")
    assert result.exit_code == 0, result.output
    assert "inventory/definitions.py" in _files(Path("."))
    assert "Next: python3 -m pip install" in result.output  # no "cd" needed


def test_a_folder_that_is_not_empty_is_refused_without_force(invoke: Invoke) -> None:
    root = Path("busy")
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    refused = invoke("init", "busy")
    assert refused.exit_code == 2
    assert only_line(refused.stderr).startswith("Error: folder 'busy' is not empty;")
    assert "--force" in refused.stderr
    assert _files(root) == {"notes.txt"}
    forced = invoke("init", "busy", "--force")
    assert forced.exit_code == 0, forced.output
    assert (root / "notes.txt").read_text() == "mine"  # other files are left alone
    assert "busy/dags.py" in _files(root)


def test_a_file_is_refused(invoke: Invoke) -> None:
    Path("taken").write_text("x")
    result = invoke("init", "taken")
    assert result.exit_code == 2
    assert "is a file, not a folder" in only_line(result.stderr)


@pytest.mark.parametrize(
    ("folder", "fragment"),
    [
        ("9lives", "'9lives' is not a valid Python package name"),
        ("my.project", "'my.project' is not a valid Python package name"),
        ("email", "would shadow a Python keyword or module"),
        ("class", "would shadow a Python keyword or module"),
        ("partita", "would shadow a Python keyword or module"),
    ],
)
def test_a_folder_name_that_is_no_package_name_is_a_clear_error(
    invoke: Invoke, folder: str, fragment: str
) -> None:
    result = invoke("init", folder)
    assert result.exit_code == 2
    line = only_line(result.stderr)
    assert line.startswith(f"Error: cannot name the project after folder {folder!r}")
    assert fragment in line
    assert not Path(folder).exists()


@pytest.mark.parametrize(
    ("folder", "package"),
    [("shop", "shop"), ("Shop-Floor", "shop_floor"), ("my  data-lake", "my_data_lake")],
)
def test_package_names_derived_from_folders(folder: str, package: str) -> None:
    assert package_name_for(Path("/somewhere") / folder) == package
