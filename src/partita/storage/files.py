"""partita's own files: private folders and files, written atomically.

Everything partita writes under ``$PARTITA_HOME`` and the storage folder is
private to the user running it: folders it creates are 0700 and files 0600,
whatever the umask. The modes are set explicitly (``os.chmod`` after
``mkdir``; ``mkstemp`` and ``os.open(..., 0o600)`` for files), because
``mkdir``'s mode argument is only an upper bound the umask can lower.
Folders that already exist are left as they are: partita does not change
the mode of a folder it did not create.

A value's file is written atomically: a temporary file in the same folder,
then a rename, so a reader sees the old file or the whole new one, never a
part. There is no fsync: the metadata database runs SQLite in WAL mode with
synchronous=NORMAL, which survives a crash or kill of the process but not a
power loss, and the value files match it (the page cache survives a process
crash too).

A writer killed between the two steps leaves its temporary file behind. Its
name says whose it is (``.<name>~<host>~<pid>~<random>.tmp``), so whoever
records that process's run as dead removes them (``remove_temp_files``).
"""

from __future__ import annotations

import os
import socket
import stat
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

from partita.exceptions import ConfigurationError

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
TEMP_SUFFIX = ".tmp"


def temp_marker(hostname: str, pid: int) -> str:
    """The part of a temporary file's name that names the process writing it."""
    return f"~{hostname}~{pid}~"


def _temp_prefix(path: Path) -> str:
    return f".{path.name}{temp_marker(socket.gethostname(), os.getpid())}"


def make_private_dirs(folder: Path) -> None:
    """Create ``folder`` and its missing parents, each 0700; raises OSError."""
    if folder.is_dir():
        return
    missing: list[Path] = []
    current = folder
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # another process made it first; it is theirs to set
        os.chmod(path, PRIVATE_DIR_MODE)


def create_private_file(path: Path, data: bytes = b"") -> bool:
    """Create ``path`` 0600 holding ``data`` unless it exists; True when this call created it.

    The file appears whole or not at all (written aside, then hard-linked into
    place, which fails when another process got there first).
    """
    make_private_dirs(path.parent)
    if path.exists():
        return False
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(path), suffix=TEMP_SUFFIX)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.link(temp, path)
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: create in place instead
        return _create_exclusively(path, data)
    finally:
        Path(temp).unlink(missing_ok=True)
    return True


def _create_exclusively(path: Path, data: bytes) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as file:
        os.fchmod(fd, PRIVATE_FILE_MODE)
        file.write(data)
    return True


def read_private_key_file(path: Path, new_key: bytes, what: str, variable: str) -> str:
    """The text of key file ``path``, created 0600 holding ``new_key`` when it does not exist.

    Raises ``ConfigurationError`` naming ``what`` (e.g. "signing key file") and the
    environment ``variable`` that replaces the file, when the file cannot be created
    or read, or can be read by other users.
    """
    try:
        create_private_file(path, new_key)
        mode = os.stat(path).st_mode
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ConfigurationError(
            f"{what} {path} cannot be created or read ({reason}); make "
            f"PARTITA_HOME ({path.parent}) writable, or set {variable}"
        ) from exc
    if stat.S_IMODE(mode) & 0o077:
        raise ConfigurationError(
            f"{what} {path} can be read by other users (mode "
            f"{stat.S_IMODE(mode):04o}); make it private with: chmod 600 {path}"
        )
    return text


def write_atomically(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Write ``data`` (bytes, or chunks of it) to ``path``, 0600, whole or not at all.

    Raises OSError.
    """
    make_private_dirs(path.parent)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(path), suffix=TEMP_SUFFIX)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)  # mkstemp asks for 0600; a umask may take more away
        with os.fdopen(fd, "wb") as file:
            if isinstance(data, bytes | bytearray | memoryview):
                file.write(data)
            else:
                file.writelines(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def remove_temp_files(folder: Path, hostname: str, pid: int, written_before: datetime) -> int:
    """Remove the temporary files process ``pid`` of ``hostname`` left under ``folder``.

    Only files last written before ``written_before`` go (a live process that got
    the same pid later keeps its own); returns how many were removed.
    """
    removed = 0
    limit = written_before.timestamp()
    for path in _temp_files(folder, temp_marker(hostname, pid)):
        try:
            if path.stat().st_mtime <= limit:
                path.unlink()
                removed += 1
        except OSError:  # gone already, or not ours to remove
            continue
    return removed


def _temp_files(folder: Path, marker: str) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for root, _, names in os.walk(folder):
        for name in names:
            if name.endswith(TEMP_SUFFIX) and marker in name:
                yield Path(root, name)


__all__ = [
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "create_private_file",
    "make_private_dirs",
    "read_private_key_file",
    "remove_temp_files",
    "temp_marker",
    "write_atomically",
]
