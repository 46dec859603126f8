"""The SQL metadata store: SQLAlchemy models, Alembic migrations, SQLite and PostgreSQL engines.

The design decision: everything SQL lives below this package (and the
migrations beside it); the layers above see only the ``Storage`` interface
and the plain records, so ``SqlStorage`` and ``MemoryStorage`` are
interchangeable. Alembic is imported only to migrate (``migrate``), never to
open a database that is already at the newest schema: ``upgrade`` is still
importable from here, but is looked up (with Alembic) only when asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

from partita.storage.sql.engine import create_sql_engine
from partita.storage.sql.store import SqlStorage


def __getattr__(name: str) -> Any:
    if name == "upgrade":
        return importlib.import_module("partita.storage.sql.migrate").upgrade
    raise AttributeError(f"module 'partita.storage.sql' has no attribute {name!r}")


__all__ = ["SqlStorage", "create_sql_engine", "upgrade"]
