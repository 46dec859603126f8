"""Turning what a task returned into asset check evaluations, and when a failure blocks.

Shared by ``@asset_check`` tasks (``asset_check.py``) and by assets that
report their own checks (``@asset(check_specs=[...])``, ``asset.py``).

The design decision: a result names its check only when it must
(``check_name=`` / ``asset_key=``); it is matched against the checks the
task may report, and one that matches none or several is an error naming
them, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from partita.definitions.asset_check_result import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
)
from partita.definitions.asset_key import as_asset_key
from partita.definitions.metadata import normalize_metadata
from partita.exceptions import FailTask, PartitaError


def evaluation_of(
    result: Any, candidates: Sequence[AssetCheckSpec], who: str
) -> AssetCheckEvaluation:
    """The evaluation ``result`` reports for one of ``candidates``."""
    if not isinstance(result, AssetCheckResult):
        raise PartitaError(
            f"{who} returned {type(result).__name__}; return "
            "AssetCheckResult(passed=..., metadata={...})"
        )
    key = None if result.asset_key is None else as_asset_key(result.asset_key)
    matching = [
        spec
        for spec in candidates
        if (key is None or spec.asset_key == key)
        and (result.check_name is None or spec.name == result.check_name)
    ]
    if len(matching) != 1:
        known = ", ".join(f"{s.asset_key.to_user_string()}:{s.name}" for s in candidates)
        asked = ":".join(
            part
            for part in (key.to_user_string() if key else None, result.check_name)
            if part is not None
        )
        raise PartitaError(
            f"{who} returned an AssetCheckResult{f' for {asked!r}' if asked else ''} that "
            f"matches {len(matching)} of its checks ({known or 'none'}); give check_name= "
            "(and asset_key=) naming one of them"
        )
    spec = matching[0]
    return AssetCheckEvaluation(
        spec.asset_key,
        spec.name,
        bool(result.passed),
        AssetCheckSeverity(result.severity),
        normalize_metadata(dict(result.metadata)),
        result.description,
    )


def blocking_failure(
    who: str, evaluations: Sequence[AssetCheckEvaluation], specs: Sequence[AssetCheckSpec]
) -> FailTask | None:
    """The error that fails the task when a blocking check failed with severity ERROR."""
    blocking = {(s.asset_key, s.name) for s in specs if s.blocking}
    failed = [
        e
        for e in evaluations
        if not e.passed
        and e.severity is AssetCheckSeverity.ERROR
        and (e.asset_key, e.check_name) in blocking
    ]
    if not failed:
        return None
    names = ", ".join(f"{e.check_name!r} of asset {e.asset_key.to_user_string()!r}" for e in failed)
    assets = ", ".join(dict.fromkeys(repr(e.asset_key.to_user_string()) for e in failed))
    metadata = failed[0].metadata if len(failed) == 1 else {}
    return FailTask(
        description=(
            f"{who}: blocking asset check {names} failed; the assets downstream of {assets} "
            "do not run"
        ),
        metadata=metadata,
    )


__all__ = ["blocking_failure", "evaluation_of"]
