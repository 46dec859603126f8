"""Real local servers for the tests of hooks, operators and notifiers: HTTP and SMTP.

``http_recorder`` is an HTTP server on a free port of 127.0.0.1, in a thread,
that records every request and answers from a script of statuses (200 when
the script is empty); ``smtp_server`` is an aiosmtpd server that keeps the
messages it receives (``running_smtp_server`` also with STARTTLS, implicit TLS
and a required login, on a ``self_signed_certificate``). Imported by the
conftest files that use them.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
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
    with running_smtp_server() as server:
        yield server


@contextmanager
def running_smtp_server(
    tls: ssl.SSLContext | None = None,
    *,
    implicit_tls: bool = False,
    login: tuple[str, str] | None = None,
) -> Iterator[SmtpServer]:
    """An aiosmtpd server: plain; offering STARTTLS with ``tls`` (required then); or speaking
    TLS from the first byte (``implicit_tls``); with ``login``, it requires that login."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    server = SmtpServer("127.0.0.1", 0)

    class Handler:
        async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
            server.messages.append(message_from_bytes(envelope.original_content))
            server.envelopes.append(list(envelope.rcpt_tos))
            return "250 OK"

    def authenticate(smtp: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        given = (data.login.decode(), data.password.decode())
        return AuthResult(success=given == login)

    with socket.socket() as probe:  # a free port (aiosmtpd checks it can connect to it)
        probe.bind(("127.0.0.1", 0))
        server.port = probe.getsockname()[1]
    options: dict[str, Any] = {}
    if tls is not None and implicit_tls:
        options["ssl_context"] = tls
    elif tls is not None:
        options.update(tls_context=tls, require_starttls=True)
    if login is not None:
        options.update(authenticator=authenticate, auth_required=True)
        # aiosmtpd counts only STARTTLS as TLS; with implicit TLS every byte is encrypted.
        options["auth_require_tls"] = not implicit_tls
    controller = Controller(Handler(), hostname="127.0.0.1", port=server.port, **options)
    if implicit_tls:  # the controller's own readiness check speaks plain SMTP
        controller.ready_timeout = 30
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, signed by its own key: (cert, key) files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "partita test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
