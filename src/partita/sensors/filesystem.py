"""``FileSensor``: waits until a file, or a directory holding files, exists at a path or glob.

The path is a template field (``/data/{{ ds }}/*.csv``) and may be a glob;
with ``recursive=True`` ``**`` matches any number of directories. A match
that is a directory counts only once some file is somewhere under it, as in
Airflow (an empty directory made ahead of the data is not the data).

The design decision: Airflow's ``fs_conn_id`` names a connection whose path
is prefixed to ``filepath``; partita has no connections yet, so only the
default (``fs_default``, no prefix) is accepted and any other id is refused
when the DAG is defined, saying to put the whole path in ``filepath``.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from typing import Any, ClassVar

from partita.definitions.context import Context
from partita.definitions.sensor_operator import BaseSensorOperator
from partita.exceptions import DefinitionError

#: The only connection id accepted (Airflow's default: no base path).
DEFAULT_FS_CONN_ID = "fs_default"


class FileSensor(BaseSensorOperator):
    """Waits for a file (or a non-empty directory) at ``filepath``, a path or a glob."""

    template_fields: ClassVar[Sequence[str]] = ("filepath",)
    ui_color = "#91818a"

    def __init__(
        self,
        *,
        filepath: str | os.PathLike[str],
        fs_conn_id: str = DEFAULT_FS_CONN_ID,
        recursive: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if fs_conn_id != DEFAULT_FS_CONN_ID:
            raise DefinitionError(
                f"{self._where()}: fs_conn_id={fs_conn_id!r} names a connection, and partita "
                "has no connections yet; drop fs_conn_id and put the whole path in filepath"
            )
        if not isinstance(filepath, (str, os.PathLike)) or not os.fspath(filepath):
            raise DefinitionError(
                f"{self._where()}: filepath must be a non-empty path or glob, got {filepath!r}"
            )
        self.filepath = os.fspath(filepath)
        self.fs_conn_id = fs_conn_id
        self.recursive = bool(recursive)

    def poke(self, context: Context) -> bool:
        log = context.get("log")
        if log is not None:
            log.info("poking for file %s", self.filepath)
        for path in glob.iglob(self.filepath, recursive=self.recursive):
            if os.path.isfile(path):
                if log is not None:
                    log.info("found file %s", path)
                return True
            for _, _, files in os.walk(path):
                if files:
                    if log is not None:
                        log.info("found directory %s with files in it", path)
                    return True
        return False


__all__ = ["DEFAULT_FS_CONN_ID", "FileSensor"]
