"""Where the web server listens: the options, the checks, and the bound socket.

``check_bind_options`` refuses what must not start: ``--no-auth`` on an
address other than loopback, half a TLS pair. ``bind_socket`` binds before
anything else prints, so a port in use is one clear error, not a log line
of uvicorn's.

The design decision: the socket is bound here and handed to uvicorn, so the
URL printed is the one really served (``--port 0`` picks a free port, which
tests use). This module imports neither FastAPI nor uvicorn, so the commands
that only check options stay quick to start.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path

from partita.exceptions import PartitaError

LOOPBACK_NAMES = frozenset({"localhost"})


class BindError(PartitaError):
    """The server cannot listen where it was asked to, or with the options given."""


@dataclass(frozen=True)
class BindOptions:
    """Where and how the server listens."""

    host: str = "127.0.0.1"
    port: int = 8080
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: Proxies whose X-Forwarded-* headers are trusted (uvicorn's ``forwarded_allow_ips``).
    forwarded_allow_ips: str | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert is not None else "http"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is an address (or name) only this machine can reach."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind_options(options: BindOptions, *, auth: bool) -> None:
    """Refuse ``--no-auth`` off loopback and half a TLS pair, naming the fix."""
    if not auth and not is_loopback(options.host):
        raise BindError(
            f"--no-auth is allowed only on a loopback address (127.0.0.1, ::1, localhost), "
            f"not on {options.host!r}: anyone who reaches it would be an admin; drop --no-auth "
            "or use --host 127.0.0.1"
        )
    if (options.tls_cert is None) != (options.tls_key is None):
        raise BindError("--tls-cert and --tls-key go together: give both, or neither")


def bind_socket(options: BindOptions) -> socket.socket:
    """A listening socket at ``host:port``; ``BindError`` naming the fix when it cannot be."""
    try:
        infos = socket.getaddrinfo(options.host, options.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise BindError(f"cannot listen on host {options.host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise BindError(
            f"cannot listen on {options.host}:{options.port}: {exc.strerror}; "
            "pick another with --port (or stop what uses it)"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def server_url(options: BindOptions, sock: socket.socket) -> str:
    """The URL the server answers at, with the port really bound."""
    port = sock.getsockname()[1]
    host = f"[{options.host}]" if ":" in options.host else options.host
    return f"{options.scheme}://{host}:{port}/"


__all__ = [
    "BindError",
    "BindOptions",
    "bind_socket",
    "check_bind_options",
    "is_loopback",
    "server_url",
]
