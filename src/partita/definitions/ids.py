"""How long an id may be: the width of the id columns of the metadata database.

The design decision: ids (DAG ids, task ids with their group prefixes, output
keys, run ids) are checked against ``MAX_ID_LENGTH`` where they are made,
when the DAG is defined or the run is created, so that a store never meets
one it cannot hold in the middle of a run. The storage layer checks again
with the same number (``storage.values``), so every backend refuses alike.

Names wrapped in double underscores (``__automation__``, ``__materialize__``)
are partita's own: a user's DAG, job, sensor or schedule may not take one
(``check_not_reserved``), so partita's jobs and their cursors never meet a
user's definition of the same name. Partita builds its own inside
``reserved_ids_allowed()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from partita.exceptions import DefinitionError

#: The widest id any store keeps (its id columns are VARCHAR of this width).
MAX_ID_LENGTH = 250


def check_id_length(value: str, what: str, fix: str) -> None:
    """Raise ``DefinitionError`` naming ``what`` and ``fix`` when ``value`` is too long."""
    if len(value) > MAX_ID_LENGTH:
        raise DefinitionError(
            f"{what} is {len(value)} characters long ({value[:60]!r}...); ids may have at "
            f"most {MAX_ID_LENGTH} characters, the width of the metadata database's id "
            f"columns: {fix}"
        )


_RESERVED_ALLOWED: ContextVar[bool] = ContextVar("partita_reserved_ids", default=False)


def is_reserved(name: str) -> bool:
    """Whether ``name`` is in partita's own namespace (``__name__``)."""
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def check_not_reserved(name: str, what: str) -> None:
    """Refuse a user's ``__name__`` (``what`` says which kind: ``dag_id``, ``sensor name``)."""
    if is_reserved(name) and not _RESERVED_ALLOWED.get():
        raise DefinitionError(
            f"{what} {name!r} is reserved: names that begin and end with '__' belong to "
            f"partita's own jobs (like '__automation__'); rename it, e.g. {name.strip('_')!r}"
        )


@contextmanager
def reserved_ids_allowed() -> Iterator[None]:
    """Within this block partita builds its own ``__name__`` jobs."""
    token = _RESERVED_ALLOWED.set(True)
    try:
        yield
    finally:
        _RESERVED_ALLOWED.reset(token)


__all__ = [
    "MAX_ID_LENGTH",
    "check_id_length",
    "check_not_reserved",
    "is_reserved",
    "reserved_ids_allowed",
]
