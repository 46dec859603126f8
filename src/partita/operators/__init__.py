"""Operators: Python, Bash, Empty, branching and TaskFlow ``@task``; they use only definitions.

The operator classes are importable from here, as Airflow users write them
(``from partita.operators import BashOperator``). They are loaded lazily
(PEP 562 ``__getattr__``): importing this package imports no operator
module; naming an operator imports only the module that defines it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from partita.operators.asset import AssetOperator
    from partita.operators.bash import BashOperator
    from partita.operators.branch import (
        BaseBranchOperator,
        BranchPythonOperator,
        ShortCircuitOperator,
    )
    from partita.operators.empty import DummyOperator, EmptyOperator
    from partita.operators.latest_only import LatestOnlyOperator
    from partita.operators.python import PythonOperator

#: Public name -> the module of this package that defines it.
_HOMES: dict[str, str] = {
    "AssetOperator": "asset",
    "BaseBranchOperator": "branch",
    "BashOperator": "bash",
    "BranchPythonOperator": "branch",
    "DummyOperator": "empty",
    "EmptyOperator": "empty",
    "LatestOnlyOperator": "latest_only",
    "PythonOperator": "python",
    "ShortCircuitOperator": "branch",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(
            f"module 'partita.operators' has no attribute {name!r}; the operators it holds are "
            + ", ".join(sorted(_HOMES))
        )
    value = getattr(importlib.import_module(f"partita.operators.{home}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


__all__ = [
    "AssetOperator",
    "BaseBranchOperator",
    "BashOperator",
    "BranchPythonOperator",
    "DummyOperator",
    "EmptyOperator",
    "LatestOnlyOperator",
    "PythonOperator",
    "ShortCircuitOperator",
]
