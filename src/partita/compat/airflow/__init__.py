"""Run Airflow DAG files unchanged: ``airflow`` imports are served by partita.

``install()`` puts a finder first on ``sys.meta_path`` that answers every
import of ``airflow`` or ``airflow.*`` from ``table.MODULES`` (Airflow module
path -> Airflow name -> partita object). The loader calls it only for DAG files
whose source mentions ``airflow``, so ``import partita`` never imports this
package. It does nothing when Apache Airflow itself is installed (the real
package wins) or when ``PARTITA_AIRFLOW_COMPAT=0``.

The design decision: the served modules are empty shells whose module-level
``__getattr__`` resolves a name on first use, so an Airflow name costs nothing
until a file asks for it, and a name partita lacks fails the ``import`` line
with ``ImportError: airflow.sdk.Label is not supported by partita yet`` rather
than with an ``AttributeError`` later. A module outside the table is looked up
as a real file under an ``airflow/`` folder on ``sys.path`` (so a DAG folder's
own ``airflow/...`` helpers still import); when there is none, the import fails
with the same "not supported yet" message.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from partita.compat.airflow.table import MODULES
from partita.loader import AIRFLOW_NOTICE_SHOWN

ENV_SWITCH = "PARTITA_AIRFLOW_COMPAT"
NOTICE = (
    "partita: DAG files import 'airflow'; partita serves those imports "
    f"(see docs/airflow.md; {ENV_SWITCH}=0 turns this off)"
)
_HELP = "see docs/airflow.md for what maps to what"


class AirflowNameNotSupported(ImportError):
    """An Airflow module or name that partita has no counterpart for yet.

    An ``ImportError`` (raised from the module's ``__getattr__``) so that the
    ``from airflow... import`` line itself fails, with this message.
    """


def enabled() -> bool:
    """Whether ``PARTITA_AIRFLOW_COMPAT`` allows the compat layer (anything but ``0``/``false``)."""
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def real_airflow_installed() -> bool:
    """Whether Apache Airflow itself is importable (a regular ``airflow`` package)."""
    if isinstance(sys.meta_path[0], AirflowFinder):
        return False
    spec = importlib.util.find_spec("airflow")
    return spec is not None and spec.origin is not None


def install() -> bool:
    """Serve ``airflow`` imports from partita; return whether the compat layer is active.

    Idempotent. Prints ``NOTICE`` to stderr the first time it activates.
    """
    if any(isinstance(finder, AirflowFinder) for finder in sys.meta_path):
        return True
    if not enabled() or "airflow" in sys.modules or real_airflow_installed():
        return False
    sys.meta_path.insert(0, AirflowFinder())
    if not os.environ.get(AIRFLOW_NOTICE_SHOWN):  # once per command (the importer passes it on)
        os.environ[AIRFLOW_NOTICE_SHOWN] = "1"
        print(NOTICE, file=sys.stderr, flush=True)
    return True


def uninstall() -> None:
    """Remove the finder and every module it served (for tests and embedding)."""
    os.environ.pop(AIRFLOW_NOTICE_SHOWN, None)
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, AirflowFinder)]
    for name in [n for n in sys.modules if n == "airflow" or n.startswith("airflow.")]:
        del sys.modules[name]


def resolve(target: str, airflow_name: str) -> Any:
    """The object ``target`` (``"module:attr"`` or ``"module"``) names, for ``airflow_name``."""
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attribute) if attribute else module
    except (ImportError, AttributeError):
        raise AirflowNameNotSupported(
            f"{airflow_name} is not supported by partita yet "
            f"(it maps to {target}, which this partita does not have); {_HELP}",
            name=airflow_name,
        ) from None


def _packages() -> frozenset[str]:
    """Every served module name: the table's, and each of their parent packages."""
    names = set(MODULES)
    for name in MODULES:
        parts = name.split(".")
        names.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return frozenset(names)


class AirflowFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds and builds the ``airflow.*`` modules partita serves."""

    def __init__(self) -> None:
        self._served = _packages()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "airflow" and not fullname.startswith("airflow."):
            return None
        if fullname in self._served:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        parent = fullname.rpartition(".")[0]
        if parent not in self._served:  # below a real package found on disk: the usual way
            return None
        folders = [os.path.join(entry, *parent.split(".")) for entry in sys.path if entry]
        found = importlib.machinery.PathFinder.find_spec(fullname, folders)
        if found is not None:
            return found
        raise AirflowNameNotSupported(
            f"module {fullname} is not supported by partita yet; {_HELP}", name=fullname
        )

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        name = module.__name__
        names = MODULES.get(name, {})
        module.__path__ = []
        module.__all__ = sorted(names)  # type: ignore[attr-defined]

        def __getattr__(attribute: str) -> Any:
            if attribute.startswith("__"):
                raise AttributeError(f"module {name!r} has no attribute {attribute!r}")
            if f"{name}.{attribute}" in self._served:  # a served subpackage
                return importlib.import_module(f"{name}.{attribute}")
            if attribute not in names:
                raise AirflowNameNotSupported(
                    f"{name}.{attribute} is not supported by partita yet; {_HELP}",
                    name=f"{name}.{attribute}",
                )
            value = resolve(names[attribute], f"{name}.{attribute}")
            setattr(module, attribute, value)
            return value

        module.__getattr__ = __getattr__  # type: ignore[method-assign]


__all__ = [
    "ENV_SWITCH",
    "NOTICE",
    "AirflowFinder",
    "AirflowNameNotSupported",
    "enabled",
    "install",
    "real_airflow_installed",
    "resolve",
    "uninstall",
]
