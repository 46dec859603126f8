"""``/api/v1/dags/{dag_id}/tasks/{task_id}/rendered``: a task's template fields rendered for a
manual run, as ``partita tasks render`` prints them, secrets masked.

The design decision: the server renders with its own store as the source of
``var`` and ``conn`` (as a run of that store would), then masks the result
twice: with the secrets rendering read (the process's masker, as the CLI
does) and with every secret the store holds (the server's masker), so a
template that spells out a secret without reading it is masked too.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from partita.engine.render_preview import render_preview
from partita.engine.secrets import use_store
from partita.server.api.dags import known_dag, load_dag
from partita.server.auth.deps import require
from partita.server.state import ServerState, server_state
from partita.storage.auth import Role

router = APIRouter(tags=["DAGs"], dependencies=[Depends(require(Role.VIEWER))])


class RenderedFieldsModel(BaseModel):
    """A task's template fields rendered for a manual run at ``logical_date``."""

    dag_id: str
    task_id: str
    fields: dict[str, str] = Field(description="Field name -> rendered text (secrets ``***``).")


@router.get("/dags/{dag_id}/tasks/{task_id}/rendered", response_model=RenderedFieldsModel)
def rendered_fields(
    dag_id: str,
    task_id: str,
    logical_date: datetime | None = Query(None, description="Default: now."),
    state: ServerState = Depends(server_state),
) -> RenderedFieldsModel:
    """The task's template fields rendered as a manual run would render them (masked)."""
    dag = load_dag(state, known_dag(state, dag_id))
    use_store(state.storage)
    fields = render_preview(dag, task_id, logical_date=logical_date)
    masked = {name: state.secrets.mask(text) for name, text in fields.items()}
    return RenderedFieldsModel(dag_id=dag_id, task_id=task_id, fields=masked)


__all__ = ["router"]
