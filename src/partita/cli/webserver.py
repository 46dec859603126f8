"""``partita webserver``: serve the web UI and the REST API until Ctrl-C or SIGTERM;
also the web server ``partita dev`` runs beside its scheduler.

At start: the code locations (PATH, else ``code_locations:``) are read once
into the DAG registry when given, the first admin is created when there is
no user (its password printed once and kept in ``$PARTITA_HOME/admin-password``,
mode 0600), the socket is bound, and the URL is printed.

The design decision: every refusal (``--no-auth`` off loopback, a port in
use, half a TLS pair) happens before anything is served, as one line and
exit 2; uvicorn is told to stop by a signal handler of ours, so a SIGTERM
ends the command with "Stopped" and exit 0, like ``partita scheduler``.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import click
import uvicorn
from rich.console import Console
from rich.text import Text

from partita.cli.console import make_console
from partita.cli.store import metadata_store
from partita.scheduler.dag_files import DagFileProcessor
from partita.server.app import create_app
from partita.server.auth.accounts import ensure_initial_admin
from partita.server.bind import BindOptions, bind_socket, check_bind_options, server_url
from partita.server.config import ServerConfig
from partita.server.serve import ServerThread, make_server
from partita.settings import Settings, load_settings
from partita.storage.base import Storage
from partita.storage.sql.engine import mask_url

DEFAULT_PORT = 8080


def web_options(function: click.decorators.FC) -> click.decorators.FC:
    """The options both ``webserver`` and ``dev`` take for the web server."""
    for option in reversed(
        [
            click.option("--host", default="127.0.0.1", show_default=True,
                         help="The address to listen on (0.0.0.0: every interface)."),
            click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT,
                         show_default=True, help="The port to listen on (0: any free port)."),
            click.option("--no-auth", is_flag=True,
                         help="No login: everyone is an admin. Only on a loopback --host."),
            click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False,
                         path_type=Path), help="Serve HTTPS with this certificate (PEM)."),
            click.option("--tls-key", type=click.Path(exists=True, dir_okay=False,
                         path_type=Path), help="The private key of --tls-cert (PEM)."),
            click.option("--forwarded-allow-ips", metavar="IPS",
                         help="Trust X-Forwarded-* headers (HTTPS behind a proxy) from these "
                         "comma-separated addresses."),
        ]
    ):  # fmt: skip
        function = option(function)
    return function


@contextmanager
def web_server_running(
    storage: Storage, settings: Settings, options: BindOptions, *, auth: bool, out: Console
) -> Iterator[str]:
    """A web server on ``storage`` in a thread of this process for the block; yields its URL."""
    sock = prepare_web_server(storage, settings, options, auth=auth, out=out)
    app = create_app(storage, ServerConfig(settings, auth=auth))
    thread = ServerThread(make_server(app, options), sock)
    thread.start()
    url = server_url(options, sock)
    try:
        yield url
    finally:
        thread.stop()
        sock.close()


def prepare_web_server(
    storage: Storage, settings: Settings, options: BindOptions, *, auth: bool, out: Console
) -> socket.socket:
    """Check the options, make the first admin if needed, bind; returns the bound socket."""
    check_bind_options(options, auth=auth)
    sock = bind_socket(options)
    if not auth:
        out.print(
            Text(
                f"Authentication is OFF (--no-auth): anyone who can reach {options.host} "
                "is an admin.",
                style="bold yellow",
            )
        )
        return sock
    admin = ensure_initial_admin(storage.auth, settings.home)
    if admin is not None:
        out.print(Text("Created the first user: 'admin', with the password:", style="bold"))
        out.print(f"    {admin.password}")
        out.print(
            f"  (shown once; also in {admin.password_file}, readable only by you; change it "
            "with 'partita users set-password admin')"
        )
    return sock


@contextmanager
def _stop_signals(server: uvicorn.Server) -> Iterator[list[int]]:
    """SIGINT/SIGTERM stop ``server``, also before it runs (uvicorn handles them while it
    runs, then raises them again, which lands here too)."""
    received: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        server.should_exit = True

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _record_code_locations(storage: Storage, settings: Settings, path: str | None) -> int:
    locations = [path] if path is not None else list(settings.code_locations)
    if not locations:
        return 0
    files = DagFileProcessor(
        locations,
        storage.registry,
        import_timeout=settings.import_timeout,
        default_timezone=settings.default_timezone,
        paused_at_creation=settings.dags_paused_at_creation,
    )
    files.run_once(datetime.now(UTC))
    return len(files.dags)


@click.command()
@click.argument("path", required=False)
@web_options
def webserver(
    path: str | None,
    host: str,
    port: int,
    no_auth: bool,
    tls_cert: Path | None,
    tls_key: Path | None,
    forwarded_allow_ips: str | None,
) -> None:
    """Serve the REST API (/api/v1) on --host and --port until Ctrl-C or SIGTERM.

    Authentication is on: the first start creates the user 'admin' with a
    random password, printed once. PATH (a DAG file, folder or module; else
    'code_locations:' of partita.yaml) is read into the DAG registry at start;
    without either, the server shows what the scheduler recorded.
    """
    settings = load_settings()
    options = BindOptions(host, port, tls_cert, tls_key, forwarded_allow_ips)
    out = make_console()
    auth = not no_auth
    check_bind_options(options, auth=auth)
    with metadata_store(settings) as storage:
        loaded = _record_code_locations(storage, settings, path)
        sock = prepare_web_server(storage, settings, options, auth=auth, out=out)
        app = create_app(storage, ServerConfig(settings, auth=auth))
        server = make_server(app, options)
        with _stop_signals(server) as received:
            _webserver_banner(out, settings, server_url(options, sock), loaded)
            server.run(sockets=[sock])
        name = signal.Signals(received[0]).name if received else "stopped"
        out.print(Text(f"Stopped ({name}).", style="bold"))


def _webserver_banner(out: Console, settings: Settings, url: str, loaded: int) -> None:
    out.print(Text("partita webserver", style="bold"))
    out.print(f"  database:  {mask_url(settings.database_url)}")
    if loaded:
        out.print(f"  DAGs:      {loaded} loaded")
    out.print(f"  UI:        {url}", highlight=False)
    out.print(f"  API:       {url}api/v1 (schema: {url}api/v1/openapi.json)", highlight=False)
    out.print("  Press Ctrl-C to stop.")


__all__ = ["prepare_web_server", "web_options", "web_server_running", "webserver"]
