"""Signing, once, the outputs an earlier partita stored unsigned (revision 0006).

Before signing existed, task outputs (inline in ``task_output`` or in files)
and the filesystem IO manager's values were bare pickles, which a partita
that signs refuses to load. Migration 0006 signs them: the inline payloads in
the database, and the ``.pkl`` files under the storage folder that are
pickles. It needs the installation's key, so only ``partita db upgrade``
(which passes an ``OutputResigner``) can run it on a database that holds
outputs; any other command opening such a database stops with a message
saying to run it.

The design decision: re-signing happens at that one transition, never later,
since signing whatever is unsigned on each upgrade would bless a pickle an
attacker dropped in meanwhile. Should someone reset the schema revision to
replay it, the migration signs nothing when the database already holds a
signed payload. Files outside the storage folder (an IO manager with its own
``base_dir``) are left alone: their assets are materialized again instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from partita.exceptions import StorageError
from partita.storage.files import write_atomically
from partita.storage.signing import MAGIC, PickleSigner, is_signed
from partita.storage.sql.engine import mask_url

INLINE = "inline"
_PICKLE_START = b"\x80"  # the PROTO opcode: every pickle of protocol 2 or later starts so
_outputs = sa.table(
    "task_output",
    sa.column("run_id", sa.String),
    sa.column("task_id", sa.String),
    sa.column("map_index", sa.Integer),
    sa.column("key", sa.String),
    sa.column("location", sa.String),
    sa.column("payload", sa.LargeBinary),
)
_materializations = sa.table("asset_materialization", sa.column("location", sa.String))


@dataclass
class OutputResigner:
    """The key and storage folder ``partita db upgrade`` signs with, and what it did."""

    signer: PickleSigner
    storage_dir: Path
    signed_rows: int = 0
    signed_files: int = 0
    skipped_reason: str | None = None


def resign_legacy_outputs(connection: Connection, resigner: OutputResigner | None) -> None:
    """Sign the unsigned outputs of the database and the storage folder (see the module)."""
    if _holds_signed_payload(connection):
        if resigner is not None:
            resigner.skipped_reason = (
                "the database already holds signed outputs, so it was signed before; "
                "nothing was signed again"
            )
        return
    if resigner is None:
        if _holds_outputs(connection):
            raise StorageError(
                f"database {mask_url(connection.engine.url)} holds outputs stored by an "
                "earlier partita, which did not sign them; run 'partita db upgrade' once to "
                "migrate it and sign them with this installation's key"
            )
        return
    _sign_inline_rows(connection, resigner)
    _sign_files(resigner)


def _holds_signed_payload(connection: Connection) -> bool:
    head = sa.func.substr(_outputs.c.payload, 1, len(MAGIC))
    query = sa.select(_outputs.c.run_id).where(
        _outputs.c.location == INLINE, head == sa.literal(MAGIC, sa.LargeBinary)
    )
    return connection.execute(query.limit(1)).first() is not None


def _holds_outputs(connection: Connection) -> bool:
    if connection.execute(sa.select(_outputs.c.run_id).limit(1)).first() is not None:
        return True
    query = sa.select(_materializations.c.location).where(_materializations.c.location.is_not(None))
    return connection.execute(query.limit(1)).first() is not None


def _sign_inline_rows(connection: Connection, resigner: OutputResigner) -> None:
    keys = (_outputs.c.run_id, _outputs.c.task_id, _outputs.c.map_index, _outputs.c.key)
    rows = connection.execute(
        sa.select(*keys).where(_outputs.c.location == INLINE, _outputs.c.payload.is_not(None))
    ).all()
    for run_id, task_id, map_index, key in rows:
        where = (
            (_outputs.c.run_id == run_id)
            & (_outputs.c.task_id == task_id)
            & (_outputs.c.map_index == map_index)
            & (_outputs.c.key == key)
        )
        payload = connection.execute(sa.select(_outputs.c.payload).where(where)).scalar_one()
        if is_signed(payload):
            continue
        signed = resigner.signer.sign(bytes(payload))
        connection.execute(sa.update(_outputs).where(where).values(payload=signed))
        resigner.signed_rows += 1


def _sign_files(resigner: OutputResigner) -> None:
    if not resigner.storage_dir.is_dir():
        return
    for path in sorted(resigner.storage_dir.rglob("*.pkl")):
        if not path.is_file() or path.is_symlink():
            continue
        try:
            with path.open("rb") as file:
                start = file.read(len(MAGIC))
            if start == MAGIC or not start.startswith(_PICKLE_START):
                continue  # signed already, or not a pickle: not partita's to sign
            payload = path.read_bytes()
            write_atomically(path, resigner.signer.sign(payload))
        except OSError as exc:
            raise StorageError(
                f"cannot sign {path}: {exc.strerror or exc}; make the storage folder "
                f"{resigner.storage_dir} writable and run 'partita db upgrade' again"
            ) from exc
        resigner.signed_files += 1


__all__ = ["OutputResigner", "resign_legacy_outputs"]
