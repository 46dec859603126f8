"""IO managers on fsspec: values in object stores (``s3://``, ``gs://``), memory or files.

``FsspecIOManager(base_path="s3://bucket/prefix")`` stores each value at
``<base_path>/<identifier...>.pkl``, like the filesystem IO manager, through
the fsspec filesystem of the URL's protocol: ``file://`` and ``memory://``
work with fsspec alone; ``s3://`` needs ``s3fs`` (``partita[s3]``),
``gs://`` needs ``gcsfs`` (``partita[gcs]``); ``storage_options`` go to that
filesystem (credentials, endpoint). ``ParquetIOManager`` (``parquet_io.py``)
stores tables the same way as Parquet files.

The design decision: values are signed pickles, signed and checked exactly
like the filesystem IO manager's (``storage/signing.py``), so a value
written by anyone without the key is refused rather than unpickled. Local
files are written atomically (a temporary file, then a rename); an object
store's PUT is atomic already. fsspec is imported by this module only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fsspec
from fsspec.spec import AbstractFileSystem
from pydantic import PrivateAttr

from partita.definitions.io_manager import InputContext, IOManager, OutputContext
from partita.definitions.resources import Resource
from partita.exceptions import ConfigurationError, StorageError, ValueNotFoundError
from partita.settings import load_settings
from partita.storage.files import write_atomically
from partita.storage.io_managers import describe_output, path_part
from partita.storage.signing import PickleSigner, load_signer

LOCAL_PROTOCOLS = frozenset({"file", "local"})


class FsspecIOManager(IOManager, Resource):
    """Signed pickles under ``base_path``, a URL any installed fsspec filesystem serves."""

    base_path: str
    storage_options: dict[str, Any] = {}
    #: The file ending of stored values (subclasses storing other formats change it).
    extension: str = ".pkl"
    _signer: PickleSigner | None = PrivateAttr(default=None)
    _fs: AbstractFileSystem | None = PrivateAttr(default=None)
    _root: str = PrivateAttr(default="")

    def signed_with(self, signer: PickleSigner) -> FsspecIOManager:
        """This IO manager signing and checking its values with ``signer``."""
        self._signer = signer
        return self

    def signer(self) -> PickleSigner:
        if self._signer is None:
            self._signer = load_signer(load_settings())
        return self._signer

    def filesystem(self) -> tuple[AbstractFileSystem, str]:
        """The fsspec filesystem of ``base_path`` and the root path in it."""
        if self._fs is None:
            try:
                self._fs, self._root = fsspec.core.url_to_fs(self.base_path, **self.storage_options)
            except (ImportError, ValueError) as exc:
                protocol = self.base_path.split("://", 1)[0]
                raise ConfigurationError(
                    f"{type(self).__name__}: cannot open {self.base_path!r}: {exc}; the "
                    f"'{protocol}' protocol needs its fsspec package (s3fs for s3://, gcsfs "
                    "for gs://: pip install 'partita[s3]' or 'partita[gcs]')"
                ) from exc
        return self._fs, self._root

    def path_for(self, identifier: list[str]) -> str:
        """Where the value of ``identifier`` is stored, as a path of the filesystem."""
        _, root = self.filesystem()
        *folders, name = identifier
        return "/".join([root.rstrip("/"), *(path_part(f) for f in folders), path_part(name)]) + (
            self.extension
        )

    def url_for(self, path: str) -> str:
        fs, _ = self.filesystem()
        return str(fs.unstrip_protocol(path))

    def dump(self, obj: Any, context: OutputContext) -> bytes:
        """The bytes stored for ``obj``: a signed pickle."""
        try:
            return self.signer().dumps(obj)
        except Exception as exc:
            raise StorageError(
                f"{type(self).__name__}: the value of {describe_output(context)} (type "
                f"{type(obj).__name__}) cannot be pickled ({exc}); return a picklable value"
            ) from exc

    def load(self, data: bytes, where: str) -> Any:
        """The value stored as ``data``, after checking its signature."""
        return self.signer().loads(data, f"{type(self).__name__}: {where}")

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        fs, _ = self.filesystem()
        path = self.path_for(context.get_identifier())
        data = self.dump(obj, context)
        url = self.url_for(path)
        try:
            if _protocol(fs) in LOCAL_PROTOCOLS:
                write_atomically(Path(path), data)
            else:
                fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
                fs.pipe_file(path, data)
        except OSError as exc:
            raise StorageError(f"{type(self).__name__} cannot write {url}: {exc}") from exc
        context.location = url
        context.add_output_metadata({"uri": url})

    def load_input(self, context: InputContext) -> Any:
        fs, _ = self.filesystem()
        path = self.path_for(context.get_identifier())
        url = self.url_for(path)
        try:
            data = fs.cat_file(path)
        except FileNotFoundError:
            raise ValueNotFoundError(f"nothing stored at {url}") from None
        except OSError as exc:
            raise StorageError(f"cannot read {url}: {exc}") from exc
        return self.load(bytes(data), url)


def _protocol(fs: AbstractFileSystem) -> str:
    protocol = fs.protocol
    return protocol[0] if isinstance(protocol, tuple | list) else str(protocol)


UPathIOManager = FsspecIOManager

__all__ = ["FsspecIOManager", "UPathIOManager"]
