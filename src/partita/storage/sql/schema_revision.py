"""Is the metadata database at the newest schema? Answered without importing Alembic.

Every command opens the metadata database, and most find it already at the
newest schema; importing Alembic to learn that would cost more than the
command itself. So the newest revision shipped is read from the migration
files (their ``revision`` and ``down_revision`` lines), the database's from
``alembic_version`` with one plain query, and ``ensure_schema`` imports
Alembic (``migrate``) only when the two differ, to migrate or to refuse a
database from a newer partita. A test checks the shipped head against
Alembic's own answer.
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
from pathlib import Path

from sqlalchemy import Engine, inspect, text

from partita.storage.sql.errors import wrap_db_errors

VERSIONS_DIR = Path(__file__).resolve().parent.parent / "migrations" / "versions"
VERSION_TABLE = "alembic_version"
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+)$", re.MULTILINE)


@functools.cache
def shipped_head() -> str | None:
    """The newest revision among the migration files; None when that is not one revision."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in VERSIONS_DIR.glob("*.py"):
        values = dict(_ASSIGNMENT.findall(script.read_text(encoding="utf-8")))
        if "revision" not in values:
            continue
        try:
            revision = ast.literal_eval(values["revision"])
            down = ast.literal_eval(values.get("down_revision", "None"))
        except (ValueError, SyntaxError):
            return None  # not a plain literal: let Alembic read it
        revisions.add(str(revision))
        parents.update([down] if isinstance(down, str) else (down or ()))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def database_revisions(engine: Engine) -> tuple[str, ...]:
    """The revisions stamped in the database (none for a database never migrated)."""
    with wrap_db_errors(engine.url, "read the schema revision"), engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return ()
        rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
        return tuple(sorted(str(row[0]) for row in rows))


def ensure_schema(engine: Engine) -> str:
    """Upgrade the database when it is new or behind; one query when it is already at head."""
    head = shipped_head()
    if head is not None and database_revisions(engine) == (head,):
        return head
    migrate = importlib.import_module("partita.storage.sql.migrate")  # Alembic: only now
    revision: str = migrate.upgrade(engine)
    return revision


__all__ = ["VERSIONS_DIR", "database_revisions", "ensure_schema", "shipped_head"]
