"""Operators: Python, Bash, Empty, branching, HTTP, SQL, email, trigger and TaskFlow ``@task``.

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
    from partita.operators.email import EmailOperator
    from partita.operators.empty import DummyOperator, EmptyOperator
    from partita.operators.external_task_marker import ExternalTaskMarker
    from partita.operators.http import HttpOperator, HttpSensor, SimpleHttpOperator
    from partita.operators.latest_only import LatestOnlyOperator
    from partita.operators.python import PythonOperator
    from partita.operators.sql import SQLExecuteQueryOperator, SqlSensor
    from partita.operators.trigger_dagrun import TriggerDagRunOperator
    from partita.operators.virtualenv import (
        BranchExternalPythonOperator,
        BranchPythonVirtualenvOperator,
        ExternalPythonOperator,
        PythonVirtualenvOperator,
    )

#: Public name -> the module of this package that defines it.
_HOMES: dict[str, str] = {
    "AssetOperator": "asset",
    "BaseBranchOperator": "branch",
    "BashOperator": "bash",
    "BranchExternalPythonOperator": "virtualenv",
    "BranchPythonOperator": "branch",
    "BranchPythonVirtualenvOperator": "virtualenv",
    "DummyOperator": "empty",
    "EmailOperator": "email",
    "EmptyOperator": "empty",
    "ExternalPythonOperator": "virtualenv",
    "ExternalTaskMarker": "external_task_marker",
    "HttpOperator": "http",
    "HttpSensor": "http",
    "LatestOnlyOperator": "latest_only",
    "PythonOperator": "python",
    "PythonVirtualenvOperator": "virtualenv",
    "SQLExecuteQueryOperator": "sql",
    "ShortCircuitOperator": "branch",
    "SimpleHttpOperator": "http",
    "SqlSensor": "sql",
    "TriggerDagRunOperator": "trigger_dagrun",
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
    "BranchExternalPythonOperator",
    "BranchPythonOperator",
    "BranchPythonVirtualenvOperator",
    "DummyOperator",
    "EmailOperator",
    "EmptyOperator",
    "ExternalPythonOperator",
    "ExternalTaskMarker",
    "HttpOperator",
    "HttpSensor",
    "LatestOnlyOperator",
    "PythonOperator",
    "PythonVirtualenvOperator",
    "SQLExecuteQueryOperator",
    "ShortCircuitOperator",
    "SimpleHttpOperator",
    "SqlSensor",
    "TriggerDagRunOperator",
]
