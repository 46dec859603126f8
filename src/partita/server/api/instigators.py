"""``/api/v1/sensors`` and ``/api/v1/schedules``: the list with their state, one with its
ticks (pages, filter by status), start and stop.

The design decision: as ``partita sensors|schedules``, the names are those of
the loaded code (``code_locations:``) and those with a stored state; start and
stop only write the stored status, which the scheduler reads before each
evaluation, so they work whether a scheduler runs or not. A name known
neither in code nor in the store is 404, not a new row.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from partita.schemas import InstigatorModel, Page, TickModel
from partita.server.api.params import PageParams, page_params
from partita.server.auth.deps import require
from partita.server.code import ServerCode, server_code
from partita.server.problems import ApiProblem
from partita.server.state import ServerState, server_state
from partita.storage.auth import Role
from partita.storage.instigators import (
    InstigatorKind,
    InstigatorState,
    InstigatorStatus,
    TickStatus,
)

router = APIRouter(dependencies=[Depends(require(Role.VIEWER))])


class InstigatorPageModel(Page):
    """One page of sensors or schedules, sorted by name."""

    instigators: list[InstigatorModel]


class TickPageModel(BaseModel):
    """One page of a sensor's or schedule's ticks, newest first."""

    ticks: list[TickModel]
    limit: int
    offset: int
    has_more: bool = Field(description="True when an older tick follows this page.")


def instigator_names(server: ServerState, code: ServerCode, kind: InstigatorKind) -> list[str]:
    """Every name of ``kind`` in the loaded code or the store, sorted."""
    defined = code.sensors if kind is InstigatorKind.SENSOR else code.schedules
    stored = {s.name for s in server.storage.instigators.list_states(kind)}
    return sorted(stored | set(defined))


def _definition_fields(
    server: ServerState, code: ServerCode, kind: InstigatorKind, name: str
) -> tuple[bool, dict[str, object]]:
    """Whether it runs by default, and what its definition (when loaded) says of it."""
    if kind is InstigatorKind.SENSOR:
        sensor = code.sensors.get(name)
        stopped = server.config.settings.sensors_default_status == "stopped"
        running = sensor.is_running_by_default(stopped) if sensor is not None else not stopped
        return running, {
            "type": sensor.sensor_type if sensor else "sensor",
            "job": sensor.job_name if sensor else None,
            "interval": f"{sensor.minimum_interval_seconds:g}s" if sensor else "-",
            "loaded": sensor is not None,
        }
    schedule = code.schedules.get(name)
    running = schedule.is_running_by_default if schedule is not None else False
    return running, {
        "type": "cron",
        "job": schedule.job_name if schedule else None,
        "interval": (
            f"{schedule.cron_schedule} ({schedule.execution_timezone})" if schedule else "-"
        ),
        "loaded": schedule is not None,
    }


def status_in_force(
    server: ServerState, code: ServerCode, kind: InstigatorKind, name: str,
    state: InstigatorState | None,
) -> InstigatorStatus:  # fmt: skip
    """Running or stopped: set by hand, else as declared (no store read)."""
    running, _ = _definition_fields(server, code, kind, name)
    return (state or InstigatorState(kind, name)).resolved_status(running)


def instigator_model(
    server: ServerState, code: ServerCode, kind: InstigatorKind, name: str,
    state: InstigatorState | None = None,
) -> InstigatorModel:  # fmt: skip
    """One sensor or schedule: its definition (when loaded), stored state and last tick."""
    storage = server.storage
    state = state or storage.instigators.get_state(kind, name) or InstigatorState(kind, name)
    running, fields = _definition_fields(server, code, kind, name)
    ticks = storage.instigators.list_ticks(kind, name, limit=1)
    return InstigatorModel.model_validate(
        {
            "name": name,
            "kind": kind,
            "status": state.resolved_status(running),
            "status_set_by_hand": state.status is not None,
            "cursor": state.cursor,
            "last_tick": TickModel.from_record(ticks[0]) if ticks else None,
            **fields,
        }
    )


def known_instigator(
    server: ServerState, code: ServerCode, kind: InstigatorKind, name: str
) -> InstigatorModel:
    """The sensor or schedule ``name``, or 404 naming where to look."""
    defined = code.sensors if kind is InstigatorKind.SENSOR else code.schedules
    state = server.storage.instigators.get_state(kind, name)
    if state is None and name not in defined:
        raise ApiProblem(
            404,
            "Not found",
            f"no {kind} {name!r} in the loaded code nor in the metadata database; "
            f"GET /api/v1/{kind}s lists the known ones",
        )
    return instigator_model(server, code, kind, name, state)


def page_instigators(
    server: ServerState, code: ServerCode, kind: InstigatorKind, search: str,
    status: InstigatorStatus | None, page: PageParams,
) -> InstigatorPageModel:  # fmt: skip
    """One page of ``kind``, filtered by name and (the status in force) ``status``."""
    names = [n for n in instigator_names(server, code, kind) if search.lower() in n.lower()]
    states = {s.name: s for s in server.storage.instigators.list_states(kind)}
    if status is not None:
        names = [
            n for n in names if status_in_force(server, code, kind, n, states.get(n)) is status
        ]
    chosen = names[page.offset : page.offset + page.limit]
    return InstigatorPageModel(
        instigators=[instigator_model(server, code, kind, n, states.get(n)) for n in chosen],
        total=len(names),
        limit=page.limit,
        offset=page.offset,
    )


def tick_page(
    server: ServerState, kind: InstigatorKind, name: str, statuses: list[TickStatus] | None,
    page: PageParams,
) -> TickPageModel:  # fmt: skip
    """One page of ticks, newest first (one more is read to know whether older ones follow)."""
    records = server.storage.instigators.list_ticks(
        kind, name, statuses=statuses or None, limit=page.limit + 1, offset=page.offset
    )
    return TickPageModel(
        ticks=[TickModel.from_record(r) for r in records[: page.limit]],
        limit=page.limit,
        offset=page.offset,
        has_more=len(records) > page.limit,
    )


def set_instigator_status(
    server: ServerState, code: ServerCode, kind: InstigatorKind, name: str,
    status: InstigatorStatus,
) -> InstigatorModel:  # fmt: skip
    """Start or stop a known sensor or schedule (the stored status)."""
    known_instigator(server, code, kind, name)
    state = server.storage.instigators.set_status(kind, name, status, datetime.now(UTC))
    return instigator_model(server, code, kind, name, state)


def _routes(kind: InstigatorKind) -> None:
    plural = f"{kind}s"

    def listing(
        search: str = Query("", max_length=250, description="Only names containing this."),
        status: InstigatorStatus | None = Query(None, description="Only running or stopped."),
        page: PageParams = Depends(page_params),
        server: ServerState = Depends(server_state),
        code: ServerCode = Depends(server_code),
    ) -> InstigatorPageModel:
        return page_instigators(server, code, kind, search, status, page)

    def detail(
        name: str,
        server: ServerState = Depends(server_state),
        code: ServerCode = Depends(server_code),
    ) -> InstigatorModel:
        return known_instigator(server, code, kind, name)

    def ticks(
        name: str,
        status: list[TickStatus] | None = Query(None, description="Only ticks in these statuses."),
        page: PageParams = Depends(page_params),
        server: ServerState = Depends(server_state),
        code: ServerCode = Depends(server_code),
    ) -> TickPageModel:
        known_instigator(server, code, kind, name)
        return tick_page(server, kind, name, status, page)

    def changer(target: InstigatorStatus) -> Callable[..., InstigatorModel]:
        def change(
            name: str,
            server: ServerState = Depends(server_state),
            code: ServerCode = Depends(server_code),
            _: object = Depends(require(Role.OPERATOR)),
        ) -> InstigatorModel:
            return set_instigator_status(server, code, kind, name, target)

        return change

    listing.__doc__ = f"The {plural} (loaded or stored), sorted by name, with their state."
    detail.__doc__ = f"One {kind}: its definition, status in force, cursor and last tick."
    ticks.__doc__ = f"One {kind}'s ticks, newest first, one page at a time."
    tag: list[str | Enum] = [plural]
    router.add_api_route(
        f"/{plural}", listing, response_model=InstigatorPageModel, tags=tag,
        name=f"list_{plural}",
    )  # fmt: skip
    router.add_api_route(
        f"/{plural}/{{name}}", detail, response_model=InstigatorModel, tags=tag,
        name=f"get_{kind}",
    )  # fmt: skip
    router.add_api_route(
        f"/{plural}/{{name}}/ticks", ticks, response_model=TickPageModel, tags=tag,
        name=f"{kind}_ticks",
    )  # fmt: skip
    for verb, target in (("start", InstigatorStatus.RUNNING), ("stop", InstigatorStatus.STOPPED)):
        endpoint = changer(target)
        endpoint.__doc__ = f"{verb.capitalize()} a {kind} (operator): its stored status."
        router.add_api_route(
            f"/{plural}/{{name}}/{verb}", endpoint, methods=["POST"],
            response_model=InstigatorModel, tags=tag, name=f"{verb}_{kind}",
        )  # fmt: skip


for _kind in InstigatorKind:
    _routes(_kind)


__all__ = [
    "InstigatorPageModel",
    "TickPageModel",
    "instigator_model",
    "known_instigator",
    "page_instigators",
    "router",
    "set_instigator_status",
    "tick_page",
]
