"""``partita init [DIR]``: scaffold a project (as ``dagster project scaffold`` does).

The scaffold is a package named after DIR with an example DAG, example
assets and a ``Definitions`` gathering them, a test file whose tests pass,
``partita.yaml`` and a ``pyproject.toml`` that installs it. Its files are
package data (``cli/project_template``, ``*.tmpl``) in which ``PROJECT_NAME``
(in contents and in paths) becomes the package name and ``PROJECT_DIST`` the
distribution name.

The design decision: a folder that already holds anything is refused unless
``--force``, and even then only the scaffold's own files are written (over
files of the same name); nothing else in the folder is touched or removed.
"""

from __future__ import annotations

import keyword
import re
import sys
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import click

from partita.exceptions import PartitaError

TEMPLATE_PACKAGE = "partita.cli"
TEMPLATE_FOLDER = "project_template"
TEMPLATE_SUFFIX = ".tmpl"
NAME_MARKER = "PROJECT_NAME"
DIST_MARKER = "PROJECT_DIST"
#: Template files whose names do not map directly to the file written.
_RENAMED = {"gitignore": ".gitignore"}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Package names that would shadow what the project itself imports.
_TAKEN = frozenset({"partita", "tests", "test"})


class ProjectInitError(PartitaError):
    """``partita init`` cannot scaffold a project in the folder it was given."""


@dataclass(frozen=True)
class Scaffold:
    """The project to write: where, its package name and its distribution name."""

    root: Path
    package: str
    distribution: str


def package_name_for(folder: Path) -> str:
    """The package name a project folder gets: its name, ``-`` and spaces made ``_``, lowercase.

    Raises ``ProjectInitError`` when that is not a usable Python package name.
    """
    raw = folder.name
    name = re.sub(r"[-\s]+", "_", raw).lower()
    if not _IDENTIFIER.match(name):
        raise ProjectInitError(
            f"cannot name the project after folder {raw!r}: {name!r} is not a valid Python "
            "package name; use a folder name of letters, digits, '_' or '-' that does not "
            "start with a digit (e.g. partita init my_project)"
        )
    if keyword.iskeyword(name) or name in _TAKEN or name in sys.stdlib_module_names:
        raise ProjectInitError(
            f"cannot name the project after folder {raw!r}: the package {name!r} would "
            "shadow a Python keyword or module it needs; choose another folder name "
            "(e.g. partita init my_project)"
        )
    return name


def plan_scaffold(target: Path, force: bool) -> Scaffold:
    """Check that ``target`` can hold a new project; the scaffold to write there."""
    if target.exists() and not target.is_dir():
        raise ProjectInitError(
            f"{str(target)!r} is a file, not a folder; give a new or empty folder"
        )
    if target.is_dir() and any(target.iterdir()) and not force:
        raise ProjectInitError(
            f"folder {str(target)!r} is not empty; give a new or empty folder, or pass --force "
            "to write the project's files into it (files of the same name are overwritten)"
        )
    package = package_name_for(target.resolve())
    return Scaffold(target, package, package.replace("_", "-"))


def _template_files(folder: Traversable, relative: Path) -> list[tuple[Path, Traversable]]:
    files: list[tuple[Path, Traversable]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            files.extend(_template_files(entry, relative / entry.name))
        elif entry.name.endswith(TEMPLATE_SUFFIX):
            files.append((relative / entry.name.removesuffix(TEMPLATE_SUFFIX), entry))
    return files


def write_scaffold(scaffold: Scaffold) -> list[Path]:
    """Write the project's files; return their paths relative to the project folder."""
    template = resources.files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_FOLDER)
    written: list[Path] = []
    for relative, source in _template_files(template, Path()):
        name = _RENAMED.get(relative.name, relative.name)
        path = Path(str(relative.with_name(name)).replace(NAME_MARKER, scaffold.package))
        text = source.read_text(encoding="utf-8")
        text = text.replace(NAME_MARKER, scaffold.package)
        text = text.replace(DIST_MARKER, scaffold.distribution)
        destination = scaffold.root / path
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
        written.append(path)
    return written


@click.command("init")
@click.argument("directory", default=".", type=click.Path(file_okay=True, path_type=Path))
@click.option(
    "--force", is_flag=True, help="Write into a folder that is not empty (same names overwritten)."
)
def init(directory: Path, force: bool) -> None:
    """Create a new partita project in DIRECTORY (default: the current folder).

    The project is a package named after the folder, with an example DAG, example
    assets, a Definitions, tests, partita.yaml and a pyproject.toml that installs it.
    """
    scaffold = plan_scaffold(directory, force)
    written = write_scaffold(scaffold)
    click.echo(f"Created project {scaffold.package!r} in {directory}:")
    for path in sorted(written):
        click.echo(f"  {path.as_posix()}")
    where = "" if directory.resolve() == Path.cwd() else f"cd {directory} && "
    click.echo(
        "Next: "
        f"{where}python3 -m pip install -e '.[test]' && python3 -m pytest && "
        f"partita dags list {scaffold.package}.definitions"
    )


__all__ = ["ProjectInitError", "Scaffold", "init", "package_name_for", "plan_scaffold"]
