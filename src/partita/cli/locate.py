"""Find the DAG a command names (``partita run PATH DAG``, ``dags show``), warning about siblings.

The design decision: the commands go through ``partita.discovery`` with the
index under ``$PARTITA_HOME``, so a broken or hanging file next to the one
that defines the DAG costs a one-line warning on stderr, not a wait or a failure.
"""

from __future__ import annotations

from rich.text import Text

from partita.cli.console import make_console
from partita.dag_index import DagIndex
from partita.definitions.dag import DAG
from partita.discovery import locate_dag
from partita.settings import Settings, load_settings


def find_dag(path: str, dag_id: str, settings: Settings | None = None) -> DAG:
    """The DAG ``dag_id`` of ``path``; prints one warning per sibling file that failed to import."""
    settings = settings if settings is not None else load_settings()
    located = locate_dag(
        path,
        dag_id,
        import_timeout=settings.import_timeout,
        index=DagIndex.load(settings.dag_index_file),
    )
    if located.warnings:
        err = make_console(stderr=True)
        for warning in located.warnings:
            err.print(Text(f"Warning: {warning}", style="yellow"))
    located.dag.use_default_timezone(settings.default_timezone)
    return located.dag


__all__ = ["find_dag"]
