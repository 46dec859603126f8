"""Task outputs for the SQL store: pickled, small ones inline in the database, large ones in files.

The design decision: ``encode`` decides where a value lives from the size of
its pickle. Up to ``inline_output_limit`` bytes the pickle rides in the
``task_output`` row (location ``inline``); above it, it is written right away,
atomically (temporary file, then ``os.replace``), to
``<storage_dir>/outputs/<run>/<task>/<map index>/<key>.pkl`` and the row only
holds the path. Either way the record is committed by the caller's batch, so
a value becomes visible exactly when the batch that names it does. Both are
signed (``storage/signing.py``) and checked before they are unpickled.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, Row, select

from partita.exceptions import StorageError
from partita.storage.base import OutputStore
from partita.storage.files import write_atomically
from partita.storage.records import OutputRecord
from partita.storage.signing import HEADER_SIZE, MAGIC, PickleSigner
from partita.storage.sql.errors import connect
from partita.storage.sql.models import task_output_table as outputs

INLINE = "inline"


class SqlOutputStore(OutputStore):
    """Output records in the ``task_output`` table; values pickled inline or to files."""

    def __init__(
        self, engine: Engine, storage_dir: Path, inline_output_limit: int, signer: PickleSigner
    ) -> None:
        self._engine = engine
        self.storage_dir = Path(storage_dir)
        self.inline_output_limit = inline_output_limit
        self._signer = signer

    def encode(
        self, run_id: str, task_id: str, map_index: int, key: str, value: Any
    ) -> OutputRecord:
        try:
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise StorageError(
                f"run {run_id!r}, task {task_id!r} (map index {map_index}): output {key!r} of "
                f"type {type(value).__name__} cannot be pickled ({exc}); return a value that "
                f"pickle can store, or use an IO manager that knows its type"
            ) from exc
        size = HEADER_SIZE + len(data)
        if len(data) <= self.inline_output_limit:
            signed = self._signer.sign(data)
            return OutputRecord(run_id, task_id, map_index, key, INLINE, size, signed)
        path = self.output_path(run_id, task_id, map_index, key)
        _write_atomically(path, (MAGIC, self._signer.mac(data), data))  # no copy of data
        return OutputRecord(run_id, task_id, map_index, key, str(path), size, None)

    def output_path(self, run_id: str, task_id: str, map_index: int, key: str) -> Path:
        """Where a large output of that task instance is written."""
        parts = (run_id, task_id, str(map_index))
        folder = self.storage_dir.joinpath("outputs", *(_path_part(p) for p in parts))
        return folder / f"{_path_part(key)}.pkl"

    def run_folder(self, run_id: str) -> Path:
        """The folder of a run's large outputs (``partita db clean`` removes it with the run)."""
        return self.storage_dir.joinpath("outputs", _path_part(run_id))

    def get_record(
        self, run_id: str, task_id: str, map_index: int, key: str
    ) -> OutputRecord | None:
        query = select(outputs).where(
            outputs.c.run_id == run_id,
            outputs.c.task_id == task_id,
            outputs.c.map_index == map_index,
            outputs.c.key == key,
        )
        with connect(self._engine, "read an output record") as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else _to_record(row)

    def list_records(self, run_id: str) -> list[OutputRecord]:
        """All output records of a run; inline payloads are left out (``load`` fetches them)."""
        columns = [c for c in outputs.c if c.name != "payload"]
        query = select(*columns).where(outputs.c.run_id == run_id)
        with connect(self._engine, "list output records") as connection:
            rows = connection.execute(query).all()
        records = [
            OutputRecord(r.run_id, r.task_id, r.map_index, r.key, r.location, r.size) for r in rows
        ]
        records.sort(key=lambda r: (r.task_id, r.map_index, r.key))
        return records

    def page_records(
        self,
        run_id: str,
        *,
        task_id: str | None = None,
        map_index: int | None = None,
        limit: int,
        offset: int = 0,
    ) -> list[OutputRecord]:
        columns = [c for c in outputs.c if c.name != "payload"]
        query = select(*columns).where(outputs.c.run_id == run_id)
        if task_id is not None:
            query = query.where(outputs.c.task_id == task_id)
        if map_index is not None:
            query = query.where(outputs.c.map_index == map_index)
        by_task = (
            outputs.c.task_id.collate("C")
            if self._engine.dialect.name == "postgresql"
            else outputs.c.task_id
        )
        by_key = (
            outputs.c.key.collate("C")
            if self._engine.dialect.name == "postgresql"
            else outputs.c.key
        )
        query = query.order_by(by_task, outputs.c.map_index, by_key).limit(limit).offset(offset)
        with connect(self._engine, "list a page of output records") as connection:
            rows = connection.execute(query).all()
        return [
            OutputRecord(r.run_id, r.task_id, r.map_index, r.key, r.location, r.size) for r in rows
        ]

    def load(self, record: OutputRecord) -> Any:
        if record.payload is not None:
            return self._signer.loads(record.payload, f"{_describe(record)} (inline)")
        if record.location == INLINE:
            stored = self.get_record(record.run_id, record.task_id, record.map_index, record.key)
            if stored is None or stored.payload is None:
                raise StorageError(f"{_describe(record)} is not stored in the metadata database")
            return self._signer.loads(stored.payload, f"{_describe(record)} (inline)")
        if "://" in record.location:
            raise StorageError(
                f"{_describe(record)} is at {record.location!r}, which this store cannot read; "
                f"it was written by another kind of store (e.g. the in-memory one)"
            )
        what = f"{_describe(record)}: file {record.location}"
        return self._signer.loads(_read_file(record), what)


def _to_record(row: Row[Any]) -> OutputRecord:
    return OutputRecord(
        row.run_id, row.task_id, row.map_index, row.key, row.location, row.size, row.payload
    )


def _describe(record: OutputRecord) -> str:
    return (
        f"output {record.key!r} of run {record.run_id!r}, task {record.task_id!r} "
        f"(map index {record.map_index})"
    )


def _path_part(text: str) -> str:
    """One safe path component: no separators, no '.' or '..', readable where possible."""
    part = quote(text, safe=" +-_=@,;")
    return part.replace(".", "%2E") if part in (".", "..") else part


def _write_atomically(path: Path, data: Iterable[bytes]) -> None:
    try:
        write_atomically(path, data)
    except OSError as exc:
        raise StorageError(
            f"cannot write output file {path}: {exc.strerror or exc}; check that the storage "
            f"folder is writable and has free space (PARTITA_STORAGE_DIR sets where it is)"
        ) from exc


def _read_file(record: OutputRecord) -> bytes:
    try:
        return Path(record.location).read_bytes()
    except FileNotFoundError:
        raise StorageError(
            f"{_describe(record)}: file {record.location} is missing; it was deleted or the "
            f"storage folder moved (PARTITA_STORAGE_DIR); re-run the task to produce it again"
        ) from None
    except OSError as exc:
        raise StorageError(
            f"{_describe(record)}: file {record.location} cannot be read ({exc.strerror or exc})"
        ) from exc


__all__ = ["INLINE", "SqlOutputStore"]
