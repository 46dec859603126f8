"""``partita.operators`` re-exports its operators, lazily (``from partita.operators import X``)."""

from __future__ import annotations

import importlib.util

import pytest

import partita
import partita.operators


def test_every_operator_is_importable_from_the_package_and_is_the_same_class() -> None:
    from partita.operators import (  # noqa: F401  (the import itself is the test)
        BashOperator,
        BranchPythonOperator,
        EmptyOperator,
        LatestOnlyOperator,
        PythonOperator,
        ShortCircuitOperator,
    )

    for name in partita.operators.__all__:
        assert getattr(partita.operators, name) is getattr(partita, name), name
    assert partita.operators.__all__ == sorted(partita.operators.__all__)
    assert set(partita.operators.__all__) <= set(dir(partita.operators))


def test_an_unknown_name_says_which_operators_there_are() -> None:
    with pytest.raises(AttributeError, match=r"has no attribute 'SqlOperator'.*BashOperator"):
        partita.operators.SqlOperator  # noqa: B018


def test_the_package_body_imports_no_operator_until_one_is_named() -> None:
    spec = importlib.util.find_spec("partita.operators")
    assert spec is not None and spec.loader is not None
    fresh = importlib.util.module_from_spec(spec)  # a second, unregistered copy of the package
    spec.loader.exec_module(fresh)
    assert "BashOperator" not in vars(fresh)
    operator_class = fresh.BashOperator
    assert operator_class.__module__ == "partita.operators.bash"
    assert vars(fresh)["BashOperator"] is operator_class  # cached after the first lookup
