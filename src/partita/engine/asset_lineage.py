"""Which data versions of its upstream assets each materialization consumed.

When a task materializes an asset, the engine adds to the materialization's
metadata, under ``UPSTREAM_VERSIONS_KEY``, the data version each upstream
asset had at that moment: ``{"schema/a": "3f2c...", "b": None}``. Staleness
(``asset_status.py``) compares these with the upstreams' current data
versions, so re-materializing an upstream with the same data leaves its
downstream fresh.

The design decision: the versions are looked up by the engine (which owns
the catalog), never by the task: an upstream materialized earlier in this
run is known from the run itself (its records may not be flushed yet), any
other from the catalog's newest record, read once per key and run. It
lives in the materialization's metadata, so no schema change was needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from msgspec.structs import replace

from partita.definitions.asset_key import AssetKey
from partita.storage.base import AssetCatalog
from partita.storage.records import AssetMaterializationRecord

#: The metadata key holding ``{upstream key (user string): its data version}``.
UPSTREAM_VERSIONS_KEY = "partita/upstream_data_versions"

_ABSENT = object()


class UpstreamVersions:
    """The current data version of each asset, as one run sees it."""

    def __init__(self, catalog: AssetCatalog) -> None:
        self._catalog = catalog
        #: key -> data version (None when not hashable), or _ABSENT when never materialized.
        self._known: dict[AssetKey, str | object | None] = {}

    def _lookup(self, keys: Iterable[AssetKey]) -> None:
        missing = [k for k in keys if k not in self._known]
        if not missing:
            return
        latest = self._catalog.latest_materializations(missing)
        for key in missing:
            record = latest.get(key)
            self._known[key] = _ABSENT if record is None else record.data_version

    def consumed(self, upstream: Sequence[AssetKey]) -> dict[str, str | None]:
        """The data version of each materialized key of ``upstream``, by its user string."""
        self._lookup(upstream)
        return {
            key.to_user_string(): version  # type: ignore[misc]
            for key in upstream
            if (version := self._known[key]) is not _ABSENT
        }

    def annotate(
        self,
        records: Sequence[AssetMaterializationRecord],
        upstream: Sequence[AssetKey],
    ) -> Sequence[AssetMaterializationRecord]:
        """``records`` with the upstream versions they consumed added to their metadata.

        Then their versions are the current ones of their keys.
        """
        if upstream:
            versions = self.consumed(upstream)
            records = [
                replace(record, metadata={**record.metadata, UPSTREAM_VERSIONS_KEY: versions})
                for record in records
            ]
        for record in records:
            self._known[record.asset_key] = record.data_version
        return records


__all__ = ["UPSTREAM_VERSIONS_KEY", "UpstreamVersions"]
