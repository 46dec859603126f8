"""``AssetKey``: the name of a data asset, a path of one or more segments.

``AssetKey("orders")`` and ``AssetKey(["some_db_schema", "orders"])`` name
assets; on the command line and in selections a key is written with slashes,
``some_db_schema/orders``. The task that materializes an asset in a DAG gets
the id ``some_db_schema__orders`` (segments joined by ``__``), which is a
valid task id.

The design decision: segments are restricted to letters, digits, ``_`` and
``-`` so that the slash form, the task id and the file path of a stored value
are all unambiguous, and a key is checked once, where it is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from partita.exceptions import DefinitionError

_SEGMENT = re.compile(r"^[A-Za-z0-9_\-]{1,120}$")
TASK_ID_SEPARATOR = "__"


class AssetKey:
    """The key of an asset: ``AssetKey("a")`` or ``AssetKey(["schema", "a"])``."""

    __slots__ = ("path",)
    path: tuple[str, ...]

    def __init__(self, path: str | Sequence[str], *more: str) -> None:
        segments = (path, *more) if isinstance(path, str) else (*path, *more)
        if not segments:
            raise DefinitionError("an AssetKey needs at least one segment, e.g. AssetKey('orders')")
        for segment in segments:
            if not isinstance(segment, str) or not _SEGMENT.match(segment):
                raise DefinitionError(
                    f"asset key {list(segments)!r}: segment {segment!r} must be 1-120 letters, "
                    "digits, '_' or '-'; give several segments as a list, "
                    "e.g. AssetKey(['some_db_schema', 'orders'])"
                )
        object.__setattr__(self, "path", tuple(segments))

    @classmethod
    def from_user_string(cls, text: str) -> AssetKey:
        """The key written ``schema/table`` (as on the command line)."""
        return cls(text.strip().strip("/").split("/"))

    def to_user_string(self) -> str:
        """``schema/table``."""
        return "/".join(self.path)

    def to_task_id(self) -> str:
        """The id of the task that materializes this asset: ``schema__table``."""
        return TASK_ID_SEPARATOR.join(self.path)

    def with_prefix(self, prefix: str | Sequence[str] | None) -> AssetKey:
        """This key with ``prefix`` segments in front."""
        if not prefix:
            return self
        front = [prefix] if isinstance(prefix, str) else list(prefix)
        return AssetKey([*front, *self.path])

    @property
    def name(self) -> str:
        """The last segment."""
        return self.path[-1]

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("AssetKey is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssetKey) and other.path == self.path

    def __lt__(self, other: AssetKey) -> bool:
        return self.path < other.path

    def __hash__(self) -> int:
        return hash(("AssetKey", self.path))

    def __repr__(self) -> str:
        return f"AssetKey({list(self.path)!r})"

    def __str__(self) -> str:
        return self.to_user_string()

    def __reduce__(self) -> tuple[Any, ...]:
        return (AssetKey, (list(self.path),))


CoercibleToAssetKey = AssetKey | str | Sequence[str]


def as_asset_key(value: Any, what: str = "asset key") -> AssetKey:
    """An ``AssetKey`` from a key, a string (``"a"`` or ``"schema/a"``) or a list of segments."""
    if isinstance(value, AssetKey):
        return value
    key = getattr(value, "key", None)  # an asset definition with one key
    if isinstance(key, AssetKey):
        return key
    if isinstance(value, str):
        return AssetKey.from_user_string(value)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return AssetKey(list(value))
    raise DefinitionError(
        f"{what} must be an AssetKey, a string like 'schema/table' or a list of strings, "
        f"got {value!r}"
    )


def sorted_keys(keys: Iterable[AssetKey]) -> list[AssetKey]:
    return sorted(keys, key=lambda k: k.path)


__all__ = ["AssetKey", "CoercibleToAssetKey", "as_asset_key", "sorted_keys"]
