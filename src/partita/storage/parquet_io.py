"""``ParquetIOManager``: tables (pyarrow, pandas) as Parquet files in any fsspec store.

Part of ``partita[parquet]`` (pyarrow). A ``pyarrow.Table`` or a
``pandas.DataFrame`` is written to ``<base_path>/<identifier...>.parquet``;
loading answers a ``pyarrow.Table``, or a ``pandas.DataFrame`` when a
DataFrame was stored (pyarrow keeps that in the file) and pandas is
installed. Any other value is refused with a message naming its type.

The design decision: Parquet is data, not code, so these files are not
signed (nothing is unpickled when they are read); the store, paths and
protocols are ``FsspecIOManager``'s.
"""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from partita.definitions.io_manager import OutputContext
from partita.exceptions import StorageError
from partita.storage.io_managers import describe_output
from partita.storage.object_io import FsspecIOManager


class ParquetIOManager(FsspecIOManager):
    """Stores ``pyarrow.Table`` / ``pandas.DataFrame`` values as Parquet under ``base_path``."""

    extension: str = ".parquet"

    def dump(self, obj: Any, context: OutputContext) -> bytes:
        table = _as_table(obj, context)
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        context.add_output_metadata({"num_rows": table.num_rows})
        return buffer.getvalue()

    def load(self, data: bytes, where: str) -> Any:
        try:
            table = pq.read_table(pa.BufferReader(data))
        except pa.ArrowInvalid as exc:
            raise StorageError(f"ParquetIOManager: {where} is not a Parquet file: {exc}") from exc
        if table.schema.pandas_metadata:
            try:
                return table.to_pandas()
            except ImportError:  # stored from pandas, read where pandas is missing
                return table
        return table


def _as_table(obj: Any, context: OutputContext) -> pa.Table:
    if isinstance(obj, pa.Table):
        return obj
    if type(obj).__module__.startswith("pandas") and type(obj).__name__ == "DataFrame":
        return pa.Table.from_pandas(obj)
    raise StorageError(
        f"ParquetIOManager: {describe_output(context)} is a {type(obj).__name__}; it stores "
        "pyarrow Tables and pandas DataFrames only; return one, or use another IO manager"
    )


__all__ = ["ParquetIOManager"]
