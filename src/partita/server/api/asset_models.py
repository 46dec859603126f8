"""The asset API's shapes: a catalog page, one asset's detail, its partitions, the lineage
graph, and dynamic partition keys (``partita.server.api.assets``).

The design decision: they sit next to the routes that answer them, not in
``partita.schemas``, because no CLI command prints them; a materialization
is still ``schemas.MaterializationModel``, the shape of ``partita assets --json``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from partita.schemas import MaterializationModel, Page, Timestamp
from partita.storage.records import AssetPartitionStatus


class AssetSummaryModel(BaseModel):
    """One asset of the catalog: its group, newest materialization and staleness."""

    asset_key: str
    group: str = Field(description="Its group in code; '' when its code is not loaded.")
    last_materialization: MaterializationModel | None = None
    stale: bool
    stale_reasons: list[str]
    partitioned: bool = Field(description="True when its definition (loaded) has partitions.")
    upstream: list[str] = Field(description="The assets it reads, directly.")


class AssetPageModel(Page):
    """One page of the asset catalog, sorted by key, and every group there is."""

    assets: list[AssetSummaryModel]
    groups: list[str]


class MetadataPointModel(BaseModel):
    """One numeric metadata value of one materialization."""

    timestamp: Timestamp
    value: float


class KeyRangeModel(BaseModel):
    """Consecutive partition keys with one status."""

    first: str
    last: str
    count: int


class PartitionKeyModel(BaseModel):
    """One partition key and its latest status."""

    partition_key: str
    status: AssetPartitionStatus
    run_id: str | None = None


class PartitionsModel(Page):
    """An asset's partitions: counts and key ranges by status, and one page of keys."""

    asset_key: str
    from_definition: bool = Field(
        description="True: every key of the definition (missing ones too); False: only "
        "the partitions that ran (the code is not loaded)."
    )
    counts: dict[AssetPartitionStatus, int]
    ranges: dict[AssetPartitionStatus, list[KeyRangeModel]]
    partitions: list[PartitionKeyModel]


class AssetDetailModel(AssetSummaryModel):
    """One asset: the summary, what it feeds, its code version and metadata series."""

    description: str | None = None
    code_version: str | None = None
    downstream: list[str]
    metadata_series: dict[str, list[MetadataPointModel]] = Field(
        description="Each numeric metadata entry over its latest materializations, oldest first."
    )


class LineageNodeModel(BaseModel):
    """One asset of the lineage graph."""

    asset_key: str
    group: str
    stale: bool
    materialized: bool


class LineageEdgeModel(BaseModel):
    """``upstream`` is read by ``downstream``."""

    upstream: str
    downstream: str


class LineageGraphModel(BaseModel):
    """Assets and the edges between them."""

    nodes: list[LineageNodeModel]
    edges: list[LineageEdgeModel]


class AssetLineageDetailModel(LineageGraphModel):
    """One asset's lineage: the assets up and down from it, and the graph of them all."""

    asset_key: str
    upstream: list[str]
    downstream: list[str]


class DynamicPartitionsModel(BaseModel):
    """The keys of a dynamic partitions definition, in the order they were added."""

    name: str
    partition_keys: list[str]


class DynamicPartitionsChange(BaseModel):
    """Keys to add to (or delete from) a dynamic partitions definition."""

    partition_keys: list[str] = Field(min_length=1, max_length=10_000)


class DynamicPartitionsChangedModel(DynamicPartitionsModel):
    """The keys after a change, and which of those asked for were changed."""

    changed: list[str]
