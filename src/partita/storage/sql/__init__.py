"""The SQL metadata store: SQLAlchemy models, Alembic migrations, SQLite and PostgreSQL engines.

The design decision: everything SQL lives below this package (and the
migrations beside it); the layers above see only the ``Storage`` interface
and the plain records, so ``SqlStorage`` and ``MemoryStorage`` are
interchangeable. Alembic is imported only to migrate (``migrate``), never to
open a database that is already at the newest schema.
"""

from __future__ import annotations

from partita.storage.sql.engine import create_sql_engine
from partita.storage.sql.store import SqlStorage

__all__ = ["SqlStorage", "create_sql_engine"]
