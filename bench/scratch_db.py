"""A database a benchmark may fill and throw away: a SQLite file in a scratch folder, or a new
database on a PostgreSQL server, dropped afterwards.

Design decision: the database a PostgreSQL URL names is never written to
(others may be using it); the URL only says which server to make one on.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def scratch_database(url: str, scratch: Path, prefix: str) -> Iterator[str]:
    """The URL of an empty database like ``url``'s (``prefix`` starts a PostgreSQL one's
    name, a SQLite one is ``scratch/<prefix>.db``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        yield f"sqlite:///{scratch / f'{prefix}.db'}"
        return
    server = parsed.set(drivername="postgresql+psycopg")
    name = f"partita_{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


__all__ = ["scratch_database"]
