"""Real local servers for the tests of hooks, operators and notifiers: HTTP and SMTP.

``http_recorder`` is an HTTP server on a free port of 127.0.0.1, in a thread,
that records every request and answers from a script of statuses (200 when
the script is empty); ``smtp_server`` is an aiosmtpd server that keeps the
messages it receives. Imported by the conftest files that use them.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpRecorder:
    url: str
    port: int
    requests: list[Received] = field(default_factory=list)
    #: Statuses to answer, first to last; then 200.
    statuses: list[int] = field(default_factory=list)
    #: Body of the 200 answers.
    body: bytes = b'{"ok": true}'


def _handler(recorder: HttpRecorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            recorder.requests.append(
                Received(self.command, self.path, dict(self.headers.items()), body)
            )
            status = recorder.statuses.pop(0) if recorder.statuses else 200
            payload = recorder.body if status == 200 else b"no"
            self.send_response(status)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def http_recorder() -> Iterator[HttpRecorder]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(HttpRecorder("", 0)))
    recorder = HttpRecorder(f"http://127.0.0.1:{server.server_port}", server.server_port)
    server.RequestHandlerClass = _handler(recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list[Message] = field(default_factory=list)
    envelopes: list[list[str]] = field(default_factory=list)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    from aiosmtpd.controller import Controller

    server = SmtpServer("127.0.0.1", 0)

    class Handler:
        async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
            server.messages.append(message_from_bytes(envelope.original_content))
            server.envelopes.append(list(envelope.rcpt_tos))
            return "250 OK"

    with socket.socket() as probe:  # a free port (aiosmtpd checks it can connect to it)
        probe.bind(("127.0.0.1", 0))
        server.port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
