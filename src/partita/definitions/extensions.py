"""Extension points: the few things a definition needs from the layers above it.

A few definitions need code that lives higher up: ``DAG.test()`` needs the
engine's in-process runner, ``BaseOperator.partial`` needs ``OperatorPartial``
(in ``definitions.mapping``, which imports ``baseoperator``), and an asset job
needs the operators that materialize an asset and evaluate an asset check.
Each is an ``ExtensionPoint`` declared next to the code that uses it and
looked up when it is used.

The design decision: nothing is set as a side effect of importing a module.
The implementations are registered by one explicit function,
``partita.bootstrap.install``, which the first lookup of an empty extension
point runs (it is named here as a string and imported only then, so the
definitions layer never imports a higher layer, and ``import
partita.definitions.dag`` alone is enough for ``dag.test()``). A test or an
embedding program may ``register`` its own implementation first; the
bootstrap never replaces one.
"""

from __future__ import annotations

import importlib
import threading
from typing import Generic, TypeVar

from partita.exceptions import PartitaError

#: The module whose ``install()`` registers partita's own implementations.
BOOTSTRAP_MODULE = "partita.bootstrap"

T = TypeVar("T")
_bootstrap_lock = threading.Lock()
_bootstrapped = False


class ExtensionPoint(Generic[T]):
    """One named slot for an implementation; ``get()`` fills it through the bootstrap."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._implementation: T | None = None

    def register(self, implementation: T, *, replace: bool = True) -> None:
        """Use ``implementation`` from now on (unless ``replace`` is false and one is set)."""
        if replace or self._implementation is None:
            self._implementation = implementation

    def get(self) -> T:
        """The registered implementation, running the bootstrap first when there is none."""
        if self._implementation is None:
            run_bootstrap()
        if self._implementation is None:
            raise PartitaError(
                f"nothing is registered for {self.name}; {BOOTSTRAP_MODULE}.install() "
                "should have registered it (is partita installed completely?)"
            )
        return self._implementation


def run_bootstrap() -> None:
    """Run ``partita.bootstrap.install()`` once per process (later calls return at once)."""
    global _bootstrapped
    if _bootstrapped:
        return
    with _bootstrap_lock:
        if not _bootstrapped:
            importlib.import_module(BOOTSTRAP_MODULE).install()
            _bootstrapped = True


__all__ = ["BOOTSTRAP_MODULE", "ExtensionPoint", "run_bootstrap"]
