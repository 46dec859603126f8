"""The built-in IO managers: pickles in files (the default), or objects in memory (for tests).

``FilesystemIOManager`` writes ``<base_dir>/<identifier...>.pkl``: an asset
``["some_db_schema", "orders"]`` goes to ``<base_dir>/some_db_schema/orders.pkl``,
a task output to ``<base_dir>/<dag>/<run>/<task>/<output>.pkl``. ``base_dir``
defaults to the storage folder of partita's settings (``$PARTITA_HOME/storage``),
read when the first value is stored or loaded, so values outlive the process
and any later run, in any process on the machine, loads them.
``InMemoryIOManager`` keeps values in a dict of the instance: pass the same
instance to several ``materialize`` calls to share values between them.

The design decision: files are written atomically (temporary file, then
``os.replace``), so a reader never sees half a value, and a missing value is
``ValueNotFoundError`` naming the file, which the engine turns into "asset X
was never materialized". Files are signed pickles (``storage/signing.py``):
the key is the store's when the engine made this IO manager as a persistent
store's default, else the one partita's settings name; a file that is not
signed with it raises ``SignatureError`` instead of being unpickled.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import PrivateAttr

from partita.definitions.io_manager import InputContext, IOManager, OutputContext
from partita.definitions.metadata import MetadataValue
from partita.definitions.resources import Resource
from partita.exceptions import StorageError, ValueNotFoundError
from partita.settings import load_settings
from partita.storage.files import write_atomically
from partita.storage.signing import PickleSigner, load_signer


def path_part(text: str) -> str:
    """One segment of an identifier as a file or folder name (quoted, never . or ..)."""
    part = quote(text, safe=" +-_=@,;")
    return part.replace(".", "%2E") if part in (".", "..") else part


class FilesystemIOManager(IOManager, Resource):
    """Pickles each value to a file under ``base_dir`` (default: ``$PARTITA_HOME/storage``)."""

    base_dir: str | None = None
    _signer: PickleSigner | None = PrivateAttr(default=None)

    def signed_with(self, signer: PickleSigner) -> FilesystemIOManager:
        """This IO manager signing and checking its files with ``signer`` (the store's key)."""
        self._signer = signer
        return self

    def signer(self) -> PickleSigner:
        """The signer given by ``signed_with``, else the one partita's settings name."""
        if self._signer is None:
            self._signer = load_signer(load_settings())
        return self._signer

    def root(self) -> Path:
        """The folder values go under (the settings' storage folder when ``base_dir`` is None)."""
        if self.base_dir is not None:
            return Path(self.base_dir)
        return load_settings().storage_dir

    def path_for(self, identifier: list[str]) -> Path:
        *folders, name = identifier
        return self.root().joinpath(*(path_part(f) for f in folders), f"{path_part(name)}.pkl")

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        path = self.path_for(context.get_identifier())
        try:
            data = self.signer().dumps(obj)
        except Exception as exc:
            raise StorageError(
                f"FilesystemIOManager: the value of {describe_output(context)} (type "
                f"{type(obj).__name__}) cannot be pickled ({exc}); return a picklable value or "
                "use an IO manager that knows its type"
            ) from exc
        _write_atomically(path, data)
        context.location = str(path)
        context.add_output_metadata({"path": MetadataValue.path(path)})

    def load_input(self, context: InputContext) -> Any:
        path = self.path_for(context.get_identifier())
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ValueNotFoundError(f"no file {path}") from None
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from exc
        return self.signer().loads(data, f"FilesystemIOManager: file {path}")


def describe_output(context: OutputContext) -> str:
    """'asset X' or 'output Y of task Z', for messages."""
    if context.asset_key is not None:
        return f"asset {context.asset_key.to_user_string()!r}"
    return f"output {context.name!r} of task {context.task_id!r}"


def _write_atomically(path: Path, data: bytes) -> None:
    try:
        write_atomically(path, data)
    except OSError as exc:
        raise StorageError(
            f"FilesystemIOManager cannot write {path}: {exc.strerror or exc}; check that the "
            "folder is writable (base_dir, or PARTITA_STORAGE_DIR for the default)"
        ) from exc


class InMemoryIOManager(IOManager):
    """Keeps values in this instance, by identifier; nothing is written anywhere."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, ...], Any] = {}
        self._lock = threading.Lock()

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        identifier = tuple(context.get_identifier())
        with self._lock:
            self.values[identifier] = obj
        context.location = "memory://" + "/".join(identifier)

    def load_input(self, context: InputContext) -> Any:
        identifier = tuple(context.get_identifier())
        with self._lock:
            if identifier not in self.values:
                raise ValueNotFoundError(f"nothing stored in memory for {'/'.join(identifier)}")
            return self.values[identifier]

    def __repr__(self) -> str:
        return f"InMemoryIOManager({len(self.values)} values)"


__all__ = ["FilesystemIOManager", "InMemoryIOManager", "describe_output", "path_part"]
