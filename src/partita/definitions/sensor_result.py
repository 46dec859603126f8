"""``SensorResult``: everything one sensor evaluation asks for, returned at once (Dagster's).

A sensor may return one ``SensorResult`` instead of yielding ``RunRequest``\\ s:
the runs to request (``run_requests``) or why none (``skip_reason``), the
cursor to keep (``cursor``, instead of ``context.update_cursor``), and the keys
to add to or delete from dynamic partitions definitions
(``dynamic_partitions_requests``), which the scheduler applies before it
queues the runs, so a run request may name a partition added in the same
result.

The design decision: what partita does not do with a sensor result
(``asset_events``, ``automation_condition_evaluations``) is refused when the
result is made, naming the way partita does it, rather than dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from partita.definitions.partitions import (
    AddDynamicPartitionsRequest,
    DeleteDynamicPartitionsRequest,
)
from partita.definitions.schedules import RunRequest, SkipReason, describe_value
from partita.exceptions import DefinitionError

#: What ``dynamic_partitions_requests`` may hold.
DynamicPartitionsRequest = AddDynamicPartitionsRequest | DeleteDynamicPartitionsRequest


class SensorResult:
    """The run requests (or skip reason), cursor and dynamic partition changes of one tick."""

    def __init__(
        self,
        run_requests: Sequence[RunRequest] | None = None,
        skip_reason: str | SkipReason | None = None,
        cursor: str | None = None,
        dynamic_partitions_requests: Sequence[DynamicPartitionsRequest] | None = None,
        asset_events: Sequence[Any] | None = None,
        automation_condition_evaluations: Sequence[Any] | None = None,
    ) -> None:
        if asset_events:
            raise DefinitionError(
                "SensorResult(asset_events=...) is not supported: partita records asset "
                "materializations from the runs that make them; request a run of the asset "
                "(run_requests=[RunRequest(...)]) or report it with 'partita assets report'"
            )
        if automation_condition_evaluations:
            raise DefinitionError(
                "SensorResult(automation_condition_evaluations=...) is not supported: the "
                "scheduler evaluates automation conditions itself; leave it out"
            )
        self.run_requests: list[RunRequest] = _typed(
            "run_requests", run_requests, (RunRequest,), "RunRequest(...)"
        )
        if isinstance(skip_reason, SkipReason):
            skip_reason = skip_reason.skip_message
        if skip_reason is not None and not isinstance(skip_reason, str):
            raise DefinitionError(
                f"SensorResult(skip_reason=...) must be a string or a SkipReason, got "
                f"{describe_value(skip_reason)}"
            )
        if skip_reason is not None and self.run_requests:
            raise DefinitionError(
                "SensorResult: give run_requests or skip_reason, not both (a tick that "
                "requests runs is not skipped)"
            )
        self.skip_reason: str | None = skip_reason
        if cursor is not None and not isinstance(cursor, str):
            raise DefinitionError(
                f"SensorResult(cursor=...) must be a string (or None), got "
                f"{describe_value(cursor)}; serialize it, e.g. with json.dumps"
            )
        self.cursor = cursor
        self.dynamic_partitions_requests: list[DynamicPartitionsRequest] = _typed(
            "dynamic_partitions_requests", dynamic_partitions_requests,
            (AddDynamicPartitionsRequest, DeleteDynamicPartitionsRequest),
            "AddDynamicPartitionsRequest(...) or DeleteDynamicPartitionsRequest(...) (a "
            "DynamicPartitionsDefinition's build_add_request / build_delete_request)",
        )  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"SensorResult(run_requests={len(self.run_requests)}, "
            f"skip_reason={self.skip_reason!r}, cursor={self.cursor!r}, "
            f"dynamic_partitions_requests={len(self.dynamic_partitions_requests)})"
        )


def _typed(field: str, items: Sequence[Any] | None, types: tuple[type, ...], want: str) -> Any:
    if items is None:
        return []
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise DefinitionError(
            f"SensorResult({field}=...) must be a list, got {describe_value(items)}"
        )
    for item in items:
        if not isinstance(item, types):
            raise DefinitionError(
                f"SensorResult({field}=...) holds {describe_value(item)}; give {want}"
            )
    return list(items)


__all__ = ["DynamicPartitionsRequest", "SensorResult"]
