"""Asset checks: ``@asset_check(asset=...)`` returning ``AssetCheckResult(passed=...)``.

A check verifies a property of an asset's data after it is materialized::

    @asset_check(asset=orders, blocking=True)
    def orders_has_rows(orders):
        return AssetCheckResult(passed=len(orders) > 0, metadata={"rows": len(orders)})

Each check runs as its own task in an asset job, right after the task that
materializes its asset; its function gets the asset's value (loaded by the
asset's IO manager) through its one data parameter, if it has one. The
result is recorded in the asset catalog. A failed check with
``blocking=True`` and severity ``ERROR`` fails its task, so the assets
downstream of the checked asset do not run (``upstream_failed``).

The design decision: an ``AssetChecksDefinition`` is pure data like an
``AssetsDefinition``; the job builder (``asset_job.py``) turns it into a task
through the factory the operators layer installs.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from partita.definitions.asset import (
    AssetsDefinition,
    checked_task_kwargs,
    is_config_annotation,
    is_resource_annotation,
)
from partita.definitions.asset_check_result import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    checked_name,
)
from partita.definitions.asset_key import AssetKey, CoercibleToAssetKey, as_asset_key
from partita.definitions.context import Context
from partita.definitions.types import resolved_hints
from partita.exceptions import DefinitionError


class AssetChecksDefinition:
    """What ``@asset_check`` returns: one check of one asset. Calling it calls the function."""

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        asset_key: AssetKey,
        name: str,
        description: str | None,
        blocking: bool,
        data_param: str | None,
        required_resource_keys: frozenset[str],
        task_kwargs: Mapping[str, Any],
    ) -> None:
        functools.update_wrapper(self, function)
        self.function = function
        self.asset_key = asset_key
        self.name = name
        self.description = description
        self.blocking = blocking
        #: The parameter that receives the asset's value (None: the check reads nothing).
        self.data_param = data_param
        self.required_resource_keys = required_resource_keys
        self.task_kwargs = dict(task_kwargs)

    def task_id(self) -> str:
        """The id of the task that runs this check in a DAG."""
        return f"{self.asset_key.to_task_id()}__check__{self.name}"

    def describe(self) -> str:
        return f"asset check {self.name!r} of asset {self.asset_key.to_user_string()!r}"

    @property
    def spec(self) -> AssetCheckSpec:
        """What the check is, without its function."""
        return AssetCheckSpec(
            self.name, asset=self.asset_key, description=self.description, blocking=self.blocking
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<AssetChecksDefinition {self.name} of {self.asset_key.to_user_string()}>"


def _data_param(fn: Callable[..., Any], where: str) -> str | None:
    """The one parameter that receives the checked asset's value, if the function has one."""
    hints = resolved_hints(fn)
    data: list[str] = []
    for param in inspect.signature(fn).parameters.values():
        annotation = hints.get(param.name, param.annotation)
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.name == "context" or annotation is Context:
            continue
        if is_resource_annotation(annotation) or is_config_annotation(annotation):
            continue
        if param.default is not param.empty:
            continue
        data.append(param.name)
    if len(data) > 1:
        raise DefinitionError(
            f"{where}: the function takes {len(data)} data parameters ({', '.join(data)}); a "
            "check takes at most one, which receives the asset's value (give the others "
            "defaults, or make them resources)"
        )
    return data[0] if data else None


def asset_check(
    *,
    asset: AssetsDefinition | CoercibleToAssetKey,
    name: str | None = None,
    description: str | None = None,
    blocking: bool = False,
    required_resource_keys: Sequence[str] | None = None,
    **task_kwargs: Any,
) -> Callable[[Callable[..., Any]], AssetChecksDefinition]:
    """Make a function a check of ``asset`` (a definition or a key); it returns an AssetCheckResult.

    ``blocking=True``: when the check fails with severity ERROR, the assets
    downstream of ``asset`` in the same run do not run.
    """
    if isinstance(asset, AssetsDefinition):
        key = asset.key
    else:
        key = as_asset_key(asset, "@asset_check: asset")

    def build(fn: Callable[..., Any]) -> AssetChecksDefinition:
        check_name = name or fn.__name__
        where = f"asset check {check_name!r} of asset {key.to_user_string()!r}"
        checked_name(check_name, where)
        return AssetChecksDefinition(
            fn,
            asset_key=key,
            name=check_name,
            description=description or (inspect.getdoc(fn) or None),
            blocking=blocking,
            data_param=_data_param(fn, where),
            required_resource_keys=frozenset(required_resource_keys or ()),
            task_kwargs=checked_task_kwargs(where, task_kwargs),
        )

    return build


__all__ = [
    "AssetCheckEvaluation",
    "AssetCheckResult",
    "AssetCheckSeverity",
    "AssetCheckSpec",
    "AssetChecksDefinition",
    "asset_check",
]
