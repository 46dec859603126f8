"""Run the app with uvicorn: in this thread until a signal (``partita webserver``), or in a
thread of its own beside the scheduler (``partita dev``).

The design decision: uvicorn gets a socket bound beforehand (``bind.bind_socket``)
and installs signal handlers only when it runs in the main thread, so the same
server runs in ``partita dev``'s thread, stopped by ``should_exit``.
"""

from __future__ import annotations

import socket
import threading

import uvicorn
from fastapi import FastAPI

from partita.server.bind import BindOptions


def make_server(app: FastAPI, options: BindOptions) -> uvicorn.Server:
    """A uvicorn server for ``app`` (TLS and trusted proxies as ``options`` say)."""
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        ssl_certfile=str(options.tls_cert) if options.tls_cert else None,
        ssl_keyfile=str(options.tls_key) if options.tls_key else None,
        proxy_headers=options.forwarded_allow_ips is not None,
        forwarded_allow_ips=options.forwarded_allow_ips,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    return uvicorn.Server(config)


class ServerThread:
    """A uvicorn server running in a daemon thread; ``stop`` ends it and waits."""

    def __init__(self, server: uvicorn.Server, sock: socket.socket) -> None:
        self.server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="partita-webserver", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self._thread.join(timeout)


__all__ = ["ServerThread", "make_server"]
