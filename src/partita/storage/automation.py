"""The automation store: the asset events after a cursor, and the cursors of who consumes them.

Two scheduler services run pipelines on asset events: asset-triggered DAGs
(``schedule=[Asset(...)]``) and automation conditions (``@asset(
automation_condition=...)``). Each keeps a cursor: a named JSON value with a
version (a DAG's last consumed event id; the per-asset state of the
automation conditions). The events are the asset catalog's entries, read in
id order after the last one seen.

The design decision: ``advance`` writes a cursor and queues the runs it
decided in one transaction, and only if the cursor is still at the version
the caller read (a compare-and-set). A scheduler killed between deciding and
writing leaves nothing half done, and of two schedulers deciding from the
same cursor only one queues its runs: the same events never make two runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from partita.definitions.asset_key import AssetKey
from partita.storage.records import AssetMaterializationRecord, DagRunRecord


@dataclass(frozen=True, slots=True)
class CursorRecord:
    """One consumer's cursor: its JSON value and the version ``advance`` compares."""

    name: str
    version: int
    value: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None


class AutomationStore(ABC):
    """Asset events in id order, and versioned cursors written with the runs they queue."""

    @abstractmethod
    def events_after(
        self,
        after_id: int,
        asset_keys: Iterable[AssetKey] | None = None,
        *,
        limit: int = 1000,
    ) -> list[AssetMaterializationRecord]:
        """Catalog entries with ``id > after_id`` (of ``asset_keys``, or of all), oldest first."""

    @abstractmethod
    def last_event_id(self) -> int:
        """The id of the newest catalog entry (0 when there is none)."""

    @abstractmethod
    def get_cursor(self, name: str) -> CursorRecord | None:
        """The cursor ``name``, or None when it was never written."""

    @abstractmethod
    def list_cursors(self, prefix: str = "") -> list[CursorRecord]:
        """The cursors whose names start with ``prefix``, sorted by name."""

    @abstractmethod
    def advance(
        self,
        name: str,
        seen_version: int | None,
        value: dict[str, Any],
        runs: Sequence[DagRunRecord],
        now: datetime,
    ) -> bool:
        """Write cursor ``name`` (version + 1) and queue ``runs``, in one transaction.

        Only when the stored cursor still has ``seen_version`` (None: it must not
        exist yet); otherwise write nothing and return False. A run id already
        stored is left alone, as ``RunQueue.enqueue`` does.
        """


__all__ = ["AutomationStore", "CursorRecord"]
