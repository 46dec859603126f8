"""``/api/v1/runs/{run_id}/tasks/{task_id}/logs``: one try's log by line range or tail, and
the same log followed live as server-sent events.

The design decision: every read is bounded (a range of line numbers, a tail,
the lines after a cursor) and goes to the log store's index, so a huge log
costs a page, never the whole log. Following polls the store from a worker
thread between ``await``ed sleeps, so a followed running task never holds
the event loop; it ends when the instance has finished and its last lines
are out, or when the client goes away.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from partita.schemas import LogChunkModel, LogLineModel
from partita.server.api.tasks import MapIndex, find_instance
from partita.server.auth.deps import require
from partita.server.state import ServerState, server_state
from partita.storage.auth import Role
from partita.storage.records import LogLineRecord

router = APIRouter(
    prefix="/runs/{run_id}/tasks/{task_id}/logs",
    tags=["task instances"],
    dependencies=[Depends(require(Role.VIEWER))],
)

TryNumber = Query(None, ge=1, le=100_000, description="The try; default the latest.")
#: Lines one server-sent event batch carries at most.
FOLLOW_BATCH = 1000


@router.get("", response_model=LogChunkModel)
def read_log(
    run_id: str,
    task_id: str,
    map_index: int = MapIndex,
    try_number: int | None = TryNumber,
    offset: int = Query(0, ge=0, le=2**31 - 1, description="The first line number."),
    limit: int | None = Query(None, ge=1, description="Lines at most (default: the maximum)."),
    tail: int | None = Query(None, ge=1, description="The last N lines instead of a range."),
    server: ServerState = Depends(server_state),
) -> LogChunkModel:
    """A piece of one try's log: lines from ``offset`` on, or the last ``tail`` lines."""
    storage, most = server.storage, server.config.max_log_lines
    ti = find_instance(storage, run_id, task_id, map_index)
    tries = storage.logs.log_tries(run_id, task_id, map_index)
    number = try_number or ti.try_number or 1
    if tail is not None:
        lines = storage.logs.tail_lines(run_id, task_id, map_index, number, min(tail, most))
    else:
        count = min(limit or most, most)
        lines = storage.logs.read_lines(
            run_id, task_id, map_index, number, start=offset, limit=count
        )
    next_offset = lines[-1].seq + 1 if lines else offset
    lines = server.secrets.lines(lines)
    return LogChunkModel(
        try_number=number,
        tries=tries,
        lines=[LogLineModel.from_record(line) for line in lines],
        next_offset=next_offset,
        finished=number < ti.try_number or ti.state.finished,
    )


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Log lines as SSE."}},
)
def follow_log(
    request: Request,
    run_id: str,
    task_id: str,
    map_index: int = MapIndex,
    try_number: int | None = TryNumber,
    offset: int = Query(0, ge=0, le=2**31 - 1, description="The first line number."),
    server: ServerState = Depends(server_state),
) -> StreamingResponse:
    """Follow one try's log as server-sent events: ``line`` events, then one ``end``."""
    ti = find_instance(server.storage, run_id, task_id, map_index)
    number = try_number or ti.try_number or 1
    stream = _follow(request, server, (run_id, task_id, map_index, number), offset)
    return StreamingResponse(
        stream, media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
    )


async def _follow(
    request: Request, server: ServerState, key: tuple[str, str, int, int], start: int
) -> AsyncIterator[str]:
    run_id, task_id, map_index, number = key
    storage, interval = server.storage, server.config.log_poll_interval
    while True:
        lines: list[LogLineRecord] = await run_in_threadpool(
            storage.logs.read_lines, run_id, task_id, map_index, number,
            start=start, limit=FOLLOW_BATCH,
        )  # fmt: skip
        for line in server.secrets.lines(lines):
            yield _event("line", LogLineModel.from_record(line).model_dump_json(), line.seq)
        if lines:
            start = lines[-1].seq + 1
            continue
        ti = await run_in_threadpool(find_instance, storage, run_id, task_id, map_index)
        if ti.try_number > number or ti.state.finished:
            # One more read: lines written just before the state changed.
            rest = await run_in_threadpool(
                storage.logs.read_lines, run_id, task_id, map_index, number, start=start
            )
            for line in server.secrets.lines(rest):
                yield _event("line", LogLineModel.from_record(line).model_dump_json(), line.seq)
            yield _event("end", json.dumps({"state": str(ti.state)}), None)
            return
        if await request.is_disconnected():
            return
        yield ": waiting\n\n"  # a comment: keeps proxies from closing an idle stream
        await asyncio.sleep(interval)


def _event(name: str, data: str, event_id: int | None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {data}\n\n"


__all__ = ["router"]
