"""How long an id may be: the width of the id columns of the metadata database.

The design decision: ids (DAG ids, task ids with their group prefixes, output
keys, run ids) are checked against ``MAX_ID_LENGTH`` where they are made,
when the DAG is defined or the run is created, so that a store never meets
one it cannot hold in the middle of a run. The storage layer checks again
with the same number (``storage.values``), so every backend refuses alike.
"""

from __future__ import annotations

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


__all__ = ["MAX_ID_LENGTH", "check_id_length"]
