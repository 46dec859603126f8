"""The IO manager interface: how an asset's (or a task's) value is stored and loaded back.

An IO manager is a resource with two methods::

    class MyIOManager(IOManager):
        def handle_output(self, context: OutputContext, obj): ...   # store obj
        def load_input(self, context: InputContext): ...            # return it

A partitioned asset's value is stored per partition: the identifier ends with
the partition key, and ``context.partition_key`` names it.

An asset's value is handed to the IO manager named by its ``io_manager_key``
(default ``"io_manager"``) and loaded by that same IO manager for each
downstream asset, in this run or a later one, in this process or another.
``context.get_identifier()`` is a stable path for the value: the asset key's
segments, or ``[dag_id, run_id, task_id, output]`` for a task's output.

The design decision: the interface lives in ``definitions`` (operators call it
and users subclass it); the built-in filesystem and in-memory IO managers,
which touch files, live in ``storage/io_managers.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from partita.definitions.asset_key import AssetKey

DEFAULT_IO_MANAGER_KEY = "io_manager"


@dataclass
class OutputContext:
    """What an IO manager knows about a value it is asked to store."""

    dag_id: str
    run_id: str
    task_id: str
    name: str = "result"
    asset_key: AssetKey | None = None
    map_index: int = -1
    #: The metadata the asset or output was defined with.
    definition_metadata: Mapping[str, Any] = field(default_factory=dict)
    log: Any = None
    resources: Any = None
    #: Where the value was stored (set by the IO manager; shown in the asset catalog).
    location: str | None = None
    #: The partition of a partitioned asset this value is (None: not partitioned).
    partition_key: str | None = None
    _added_metadata: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def has_asset_key(self) -> bool:
        return self.asset_key is not None

    @property
    def has_partition_key(self) -> bool:
        return self.partition_key is not None

    def get_identifier(self) -> list[str]:
        """A path naming the value: the asset key (and its partition key, when partitioned), or
        dag/run/task/output for a task output."""
        if self.asset_key is not None:
            path = list(self.asset_key.path)
            return path if self.partition_key is None else [*path, self.partition_key]
        parts = [self.dag_id, self.run_id, self.task_id]
        if self.map_index >= 0:
            parts.append(str(self.map_index))
        parts.append(self.name)
        return parts

    def add_output_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Attach metadata (a path, a row count...) to the materialization being recorded."""
        self._added_metadata.update(metadata)

    @property
    def added_metadata(self) -> dict[str, Any]:
        return dict(self._added_metadata)


@dataclass
class InputContext:
    """What an IO manager knows about a value it is asked to load."""

    #: The asset or output being loaded, as it was stored.
    upstream_output: OutputContext
    #: The downstream task and the parameter the value is for.
    task_id: str
    name: str
    dag_id: str = ""
    run_id: str = ""
    log: Any = None
    resources: Any = None

    @property
    def asset_key(self) -> AssetKey | None:
        return self.upstream_output.asset_key

    @property
    def has_asset_key(self) -> bool:
        return self.upstream_output.asset_key is not None

    def get_identifier(self) -> list[str]:
        return self.upstream_output.get_identifier()

    @property
    def partition_key(self) -> str | None:
        """The upstream partition being loaded (None: the upstream is not partitioned)."""
        return self.upstream_output.partition_key

    @property
    def has_partition_key(self) -> bool:
        return self.upstream_output.partition_key is not None


class IOManager(ABC):
    """Stores values (``handle_output``) and loads them back (``load_input``).

    ``load_input`` should raise ``partita.exceptions.ValueNotFoundError`` (or
    ``FileNotFoundError``) when nothing is stored for the identifier, so the
    engine can say which asset was never materialized.
    """

    @abstractmethod
    def handle_output(self, context: OutputContext, obj: Any) -> None:
        """Store ``obj``; set ``context.location`` and add metadata if useful."""

    @abstractmethod
    def load_input(self, context: InputContext) -> Any:
        """Return the value stored for ``context.upstream_output``."""


def io_manager_key_of(task: Any) -> str | None:
    """The IO manager key a task's output goes to (a mapped task's from its partial arguments)."""
    key = getattr(task, "io_manager_key", None)
    if key is None:
        partial = getattr(task, "partial_kwargs", None)
        if isinstance(partial, Mapping):
            key = partial.get("io_manager_key")
    return key


__all__ = [
    "DEFAULT_IO_MANAGER_KEY",
    "IOManager",
    "InputContext",
    "OutputContext",
    "io_manager_key_of",
]
