"""Python functions run in another interpreter: a cached virtualenv, or a given Python.

- ``PythonVirtualenvOperator`` / ``@task.virtualenv``: the function runs in a
  virtual environment holding ``requirements`` (``operators.venvs``: built once
  per requirement set and cached under ``$PARTITA_HOME/venvs``, or
  ``venv_cache_path``).
- ``ExternalPythonOperator`` / ``@task.external_python``: the function runs in
  the interpreter ``python`` names (an existing virtualenv's ``bin/python``).
- ``BranchPythonVirtualenvOperator``, ``BranchExternalPythonOperator`` and
  ``@task.branch_virtualenv`` / ``@task.branch_external_python``: the function
  returns the task id(s) to follow, as ``BranchPythonOperator``'s does.

As in Airflow, the function must be self-contained: its source (without its
decorators) is what runs, so it imports what it uses inside its body and sees
no global of the DAG file. Its arguments (``op_args`` / ``op_kwargs``, other
tasks' outputs, and the context values it names among ``CONTEXT_KEYS``) go in
and its return value comes out serialised with ``pickle`` (or ``dill`` /
``cloudpickle`` with ``serializer=``, installed into the environment as Airflow
does). Its output goes to the task's log; an exit code in ``skip_on_exit_code``
skips the task, any other failure fails it with the error's last line.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import tempfile
import textwrap
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from partita.definitions.context import Context
from partita.exceptions import DefinitionError, PartitaError, SkipTask
from partita.operators.branch import BaseBranchOperator
from partita.operators.python import PythonOperator
from partita.operators.venvs import VenvSpec, ensure_venv

#: Context values passed to a function that names them as parameters (all serialisable).
CONTEXT_KEYS = frozenset(
    {
        "ds", "ds_nodash", "ts", "ts_nodash", "ts_nodash_with_tz", "run_id",
        "task_instance_key_str", "params", "templates_dict", "logical_date",
        "data_interval_start", "data_interval_end", "prev_data_interval_start_success",
        "prev_data_interval_end_success", "map_index", "try_number",
    }
)  # fmt: skip
SERIALIZERS = ("pickle", "dill", "cloudpickle")

_RUNNER = """
import sys
import {serializer} as _partita_serializer

{source}

if __name__ == "__main__":
    with open(sys.argv[1], "rb") as _partita_in:
        _partita_args, _partita_kwargs = _partita_serializer.load(_partita_in)
    _partita_result = {name}(*_partita_args, **_partita_kwargs)
    with open(sys.argv[2], "wb") as _partita_out:
        _partita_serializer.dump(_partita_result, _partita_out)
"""


class ExternalPythonError(PartitaError):
    """The function failed in the other interpreter, or its result could not be read."""


def function_source(fn: Callable[..., Any], where: str) -> str:
    """``fn``'s source without its decorators, dedented (what the other interpreter runs)."""
    name = getattr(fn, "__name__", "")
    if name == "<lambda>" or not inspect.isfunction(fn):
        raise DefinitionError(
            f"{where}: python_callable must be a function defined with def (its source runs "
            f"in another interpreter), got {fn!r}"
        )
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError) as exc:
        raise DefinitionError(
            f"{where}: the source of {name}() cannot be read ({exc}); define it in a .py file"
        ) from None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            node.decorator_list = []
            return ast.unparse(node)
    raise DefinitionError(f"{where}: the source of {name}() was not found in its file")


class _ExternalPythonBase(PythonOperator):
    """Runs ``python_callable``'s source in another interpreter; subclasses say which."""

    ui_color = "#ffefeb"
    template_fields: ClassVar[Sequence[str]] = ("templates_dict", "op_args", "op_kwargs")

    def __init__(
        self,
        *,
        serializer: str | None = None,
        skip_on_exit_code: int | Iterable[int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        serializer = serializer or "pickle"
        if serializer not in SERIALIZERS:
            raise DefinitionError(
                f"{self._where()}: serializer={serializer!r} is not one of {', '.join(SERIALIZERS)}"
            )
        self.serializer = serializer
        if skip_on_exit_code is None:
            self.skip_on_exit_code: tuple[int, ...] = ()
        elif isinstance(skip_on_exit_code, int):
            self.skip_on_exit_code = (skip_on_exit_code,)
        else:
            self.skip_on_exit_code = tuple(skip_on_exit_code)
        self.source = function_source(self.python_callable, self._where())
        self._process: subprocess.Popen[bytes] | None = None

    def python_path(self, context: Context) -> Path:
        """The interpreter to run the function in."""
        raise NotImplementedError

    def on_kill(self) -> None:
        """Stop the other interpreter (a timeout, a cancel, or the end of the run)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def execute(self, context: Context) -> Any:
        args, kwargs = self.arguments(context)
        kwargs = dict(kwargs)
        if self.templates_dict is not None:
            context["templates_dict"] = (
                self.read_refs(context)(self.templates_dict) if self.has_refs
                else self.templates_dict
            )  # fmt: skip
        bound = set(self.call_spec.positional[: len(args)]) | set(kwargs)
        for name in inspect.signature(self.python_callable).parameters:
            if name not in bound and name in CONTEXT_KEYS and name in context:
                kwargs[name] = context[name]
        value = self.run_elsewhere(self.python_path(context), list(args), kwargs, context)
        return self.output_of(value, context)

    def _serializer(self) -> Any:
        try:
            return importlib.import_module(self.serializer)
        except ImportError:
            raise ExternalPythonError(
                f"task {self.task_id!r}: serializer={self.serializer!r} needs the "
                f"{self.serializer} package in partita's environment: pip install "
                f"{self.serializer} (or pip install 'partita[airflow]')"
            ) from None

    def run_elsewhere(
        self, python: Path, args: list[Any], kwargs: dict[str, Any], context: Context
    ) -> Any:
        """Run the function's source with ``python``; its return value."""
        log = context["log"]
        serializer = self._serializer()
        name = self.python_callable.__name__
        with tempfile.TemporaryDirectory(prefix="partita-venv-task-") as tmp:
            folder = Path(tmp)
            script = folder / "script.py"
            script.write_text(
                _RUNNER.format(serializer=self.serializer, source=self.source, name=name)
            )
            try:
                with open(folder / "input", "wb") as handle:
                    serializer.dump((args, kwargs), handle)
            except Exception as exc:
                raise ExternalPythonError(
                    f"task {self.task_id!r}: the arguments of {name}() cannot be serialised "
                    f"with {self.serializer} ({type(exc).__name__}: {exc})"
                ) from None
            log.info("running %s() with %s", name, python)
            process = subprocess.Popen(
                [str(python), str(script), str(folder / "input"), str(folder / "output")],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=tmp,
            )  # fmt: skip
            self._process = process
            last = ""
            try:
                for raw in process.stdout or ():
                    line = raw.decode(errors="replace").rstrip("\n")
                    if line:
                        last = line
                    log.info("%s", line)
                code = process.wait()
            finally:
                self.on_kill()
            if code in self.skip_on_exit_code:
                raise SkipTask(f"{name}() exited with code {code}; the task is skipped")
            if code != 0:
                raise ExternalPythonError(
                    f"task {self.task_id!r}: {name}() failed in {python} (exit code {code}): {last}"
                )
            try:
                with open(folder / "output", "rb") as handle:
                    return serializer.load(handle)
            except Exception as exc:
                raise ExternalPythonError(
                    f"task {self.task_id!r}: the return value of {name}() cannot be read back "
                    f"with {self.serializer} ({type(exc).__name__}: {exc}); return plain "
                    "values (numbers, strings, lists, dicts)"
                ) from None


class PythonVirtualenvOperator(_ExternalPythonBase):
    """Run ``python_callable`` in a cached virtualenv holding ``requirements``."""

    template_fields: ClassVar[Sequence[str]] = (
        "templates_dict", "op_args", "op_kwargs", "requirements", "venv_cache_path",
    )  # fmt: skip

    def __init__(
        self,
        *,
        requirements: str | Iterable[str] | None = None,
        python_version: str | None = None,
        system_site_packages: bool = True,
        pip_install_options: Sequence[str] | None = None,
        index_urls: Sequence[str] | None = None,
        venv_cache_path: str | Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(requirements, str):  # a requirements.txt's text
            requirements = [r.strip() for r in requirements.splitlines()]
        self.requirements = [r for r in requirements or () if r and not r.startswith("#")]
        if python_version is not None:
            python_version = str(python_version)
        self.python_version = python_version
        self.system_site_packages = system_site_packages
        self.pip_install_options = list(pip_install_options or ())
        self.index_urls = list(index_urls or ())
        self.venv_cache_path = venv_cache_path

    def spec(self) -> VenvSpec:
        """The environment this task runs in."""
        requirements = list(self.requirements)
        if self.serializer != "pickle" and self.serializer not in requirements:
            requirements.append(self.serializer)  # the function's side needs it too
        return VenvSpec(
            requirements=tuple(requirements),
            python_version=self.python_version,
            system_site_packages=self.system_site_packages,
            pip_install_options=tuple(self.pip_install_options),
            index_urls=tuple(self.index_urls),
        )

    def python_path(self, context: Context) -> Path:
        if self.venv_cache_path:
            root = Path(self.venv_cache_path)
        else:
            from partita.settings import load_settings

            root = load_settings().home / "venvs"
        context["log"].info("virtualenv for %s under %s", self.requirements or "no packages", root)
        return ensure_venv(self.spec(), root)


class ExternalPythonOperator(_ExternalPythonBase):
    """Run ``python_callable`` with the interpreter ``python`` (an existing environment's)."""

    template_fields: ClassVar[Sequence[str]] = ("templates_dict", "op_args", "op_kwargs", "python")

    def __init__(self, *, python: str | Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(python, (str, Path)) or not str(python):
            raise DefinitionError(
                f"{self._where()}: python must be the path of a Python interpreter, got {python!r}"
            )
        self.python = str(python)

    def python_path(self, context: Context) -> Path:
        path = Path(self.python)
        if not path.is_file():
            raise ExternalPythonError(
                f"task {self.task_id!r}: python={self.python!r} is not a file; give the path of "
                "an interpreter (such as /path/to/venv/bin/python)"
            )
        return path


class BranchPythonVirtualenvOperator(PythonVirtualenvOperator, BaseBranchOperator):
    """A ``PythonVirtualenvOperator`` whose function returns the task id(s) to follow."""

    ui_color = BaseBranchOperator.ui_color

    def choose_branch(self, context: Context) -> Any:
        return PythonVirtualenvOperator.execute(self, context)

    def execute(self, context: Context) -> Any:
        return BaseBranchOperator.execute(self, context)


class BranchExternalPythonOperator(ExternalPythonOperator, BaseBranchOperator):
    """An ``ExternalPythonOperator`` whose function returns the task id(s) to follow."""

    ui_color = BaseBranchOperator.ui_color

    def choose_branch(self, context: Context) -> Any:
        return ExternalPythonOperator.execute(self, context)

    def execute(self, context: Context) -> Any:
        return BaseBranchOperator.execute(self, context)


__all__ = [
    "CONTEXT_KEYS",
    "BranchExternalPythonOperator",
    "BranchPythonVirtualenvOperator",
    "ExternalPythonError",
    "ExternalPythonOperator",
    "PythonVirtualenvOperator",
    "function_source",
]
