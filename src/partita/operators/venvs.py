"""Virtual environments for ``PythonVirtualenvOperator``: one per requirement set, built once.

``ensure_venv(spec, root)`` returns the Python interpreter of the environment
that ``spec`` (requirements, Python version, system site packages, pip
options, index URLs) describes, building it the first time under
``root/<hash of the spec>``. ``uv`` builds it when it is on ``PATH``
(seconds), otherwise ``python -m venv`` and that environment's ``pip``.

Design decision: an environment is built in its final place (the scripts
inside a venv name their folder) under a file lock, and a marker file is
written last; an environment without the marker is a build that died and is
removed before building again. So two task instances (threads, processes or
workers sharing the folder) build it once and never use it half-built; a
failed build leaves nothing behind and fails the task with pip's (or uv's)
last lines.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from partita.exceptions import PartitaError

#: Written last into a complete environment.
READY = ".partita-venv-ready"


class VirtualenvError(PartitaError):
    """A virtual environment could not be built (a bad requirement, no such Python...)."""


@dataclass(frozen=True)
class VenvSpec:
    """What an environment holds; equal specs share one environment."""

    requirements: tuple[str, ...] = ()
    python_version: str | None = None
    system_site_packages: bool = True
    pip_install_options: tuple[str, ...] = ()
    index_urls: tuple[str, ...] = ()

    def key(self) -> str:
        """A short stable hash naming the environment's folder."""
        text = json.dumps(
            [
                sorted(self.requirements),
                self.python_version,
                self.system_site_packages,
                list(self.pip_install_options),
                list(self.index_urls),
            ]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def interpreter(venv: Path) -> Path:
    """The Python executable inside ``venv``."""
    return venv / "bin" / "python"


def base_python(version: str | None) -> str:
    """The interpreter the environment is made from: this one, or ``python<version>``."""
    if version is None or version == f"{sys.version_info.major}.{sys.version_info.minor}":
        return sys.executable
    found = shutil.which(f"python{version}")
    if found is None:
        raise VirtualenvError(
            f"python_version={version!r}: no python{version} on PATH; install it, or leave "
            "python_version out to use this Python"
        )
    return found


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_venv(spec: VenvSpec, root: Path) -> Path:
    """The interpreter of ``spec``'s environment under ``root`` (built if it is not there yet)."""
    venv = root / spec.key()
    if (venv / READY).exists():
        return interpreter(venv)
    with _locked(root / f"{spec.key()}.lock"):
        if (venv / READY).exists():  # built by another instance meanwhile
            return interpreter(venv)
        shutil.rmtree(venv, ignore_errors=True)  # a build that died half way
        try:
            _build(spec, venv)
        except BaseException:
            shutil.rmtree(venv, ignore_errors=True)
            raise
        (venv / READY).write_text(json.dumps(dataclasses.asdict(spec)) + "\n")
    return interpreter(venv)


def _build(spec: VenvSpec, venv: Path) -> None:
    python = base_python(spec.python_version)
    uv = shutil.which("uv")
    if uv is not None:
        create = [uv, "venv", "--quiet", "--python", python, str(venv)]
        if spec.system_site_packages:
            create.append("--system-site-packages")
        _run(create, "creating the virtual environment")
        install = [uv, "pip", "install", "--quiet", "--python", str(interpreter(venv))]
    else:
        create = [python, "-m", "venv", str(venv)]
        if spec.system_site_packages:
            create.append("--system-site-packages")
        if not spec.requirements:
            create.append("--without-pip")  # nothing to install: skip ensurepip's seconds
        _run(create, "creating the virtual environment")
        install = [str(interpreter(venv)), "-m", "pip", "install", "--quiet"]
        install.append("--disable-pip-version-check")
    if not spec.requirements:
        return
    if spec.index_urls:
        install += ["--index-url", spec.index_urls[0]]
        for extra in spec.index_urls[1:]:
            install += ["--extra-index-url", extra]
    _run([*install, *spec.pip_install_options, *spec.requirements], "installing the requirements")


def _run(command: Sequence[str], what: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise VirtualenvError(
            f"{what} failed (exit code {done.returncode}) running {' '.join(command)}:\n{tail}"
        )


__all__ = ["READY", "VenvSpec", "VirtualenvError", "base_python", "ensure_venv", "interpreter"]
