"""``partita scheduler`` and ``partita dev``: run the scheduler in this process until stopped.

Both load the code locations (PATH, else ``code_locations:`` of
``partita.yaml``), print what they loaded and where they store, and serve
until Ctrl-C or SIGTERM; then the runs being driven are stopped (recorded
failed, their unfinished tasks cancelled), so nothing is left running.
``partita dev`` is the one-machine setup (with the web server in a thread of
the same process, unless ``--no-webserver``); ``partita scheduler`` is the
daemon alone.

Both start one ``WorkerPool`` of ``--workers N`` processes (default: the
number of cores) before they serve; every run the scheduler drives gets its
own view of that pool (``pool.executor()``), so the tasks of all runs share
the workers. The pool is closed (its workers stopped) when the scheduler
stops, after the runs being driven were stopped.

The design decision: a lock file under ``$PARTITA_HOME`` (``fcntl.flock``,
released by the kernel when the process dies, even by ``kill -9``) makes a
second ``partita dev`` (or a second scheduler on the same SQLite database)
say that one is already running instead of starting.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

import click
from rich.console import Console
from rich.text import Text

from partita.cli.console import make_console
from partita.cli.store import metadata_store
from partita.executors.local import WorkerPool
from partita.scheduler.clock import parse_clock
from partita.scheduler.dag_files import DagFileProcessor
from partita.scheduler.loop import Scheduler, SchedulerOptions
from partita.scheduler.supervisor import ExecutorFactory
from partita.scheduler.wakeup import WakeSocket
from partita.server.bind import BindOptions, check_bind_options
from partita.settings import Settings, load_settings
from partita.storage.base import Storage
from partita.storage.sql.engine import mask_url

LOCK_FILE_NAME = "scheduler.lock"


class AlreadyRunning(click.ClickException):
    """Another scheduler holds the lock of this home."""


@contextmanager
def home_lock(home: Path) -> Iterator[None]:
    """Hold ``$PARTITA_HOME/scheduler.lock`` for the block; refuse if another process holds it."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / LOCK_FILE_NAME
    handle: IO[str] = path.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise AlreadyRunning(
                f"a partita scheduler is already running on {home} (pid {holder}, lock file "
                f"{path}); stop it first, or use another PARTITA_HOME"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


@contextmanager
def _signals_stop() -> Iterator[list[int]]:
    """The first SIGINT or SIGTERM raises ``KeyboardInterrupt``; later ones wait for the stop."""
    received: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) == 1:
            raise KeyboardInterrupt(f"received {signal.Signals(signum).name}")

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def code_locations(path: str | None, settings: Settings) -> list[str]:
    """What to load: PATH, else the settings' ``code_locations``; an error when neither."""
    if path is not None:
        return [path]
    if settings.code_locations:
        return list(settings.code_locations)
    raise click.UsageError(
        f"no code location: give PATH (a DAG file, a folder or a module), or list them under "
        f"'code_locations:' in {settings.config_file}"
    )


@dataclass(frozen=True)
class WebServerRequest:
    """``partita dev``'s web server: where it listens and whether it asks for a login."""

    options: BindOptions
    auth: bool


def serve(
    path: str | None,
    *,
    title: str,
    always_lock: bool,
    workers: int | None = None,
    web: WebServerRequest | None = None,
) -> None:
    """Load, start the worker pool (and the web server), print the banner, and run the
    scheduler until a signal stops it; then stop the runs being driven and the pool's workers."""
    settings = load_settings()
    locations = code_locations(path, settings)
    clock = parse_clock(settings.scheduler_clock)
    out = make_console()
    lock = always_lock or settings.database_url.startswith("sqlite")
    with home_lock(settings.home) if lock else _no_lock(), metadata_store(settings) as storage:
        files = DagFileProcessor(
            locations,
            storage.registry,
            import_timeout=settings.import_timeout,
            default_timezone=settings.default_timezone,
            paused_at_creation=settings.dags_paused_at_creation,
        )
        files.run_once(clock.now())
        options = SchedulerOptions(
            max_concurrent_runs=settings.max_concurrent_runs,
            run_tag_limits=settings.run_tag_limits,
            max_lost_attempts=settings.max_lost_attempts,
            sensors_stopped_by_default=settings.sensors_default_status == "stopped",
            sensor_evaluation_timeout=settings.sensor_evaluation_timeout,
            poll_interval=settings.scheduler_poll_interval,
            retention=settings.retention,
        )
        with (
            _signals_stop() as received,
            suppress(KeyboardInterrupt),
            _executors(settings, storage, workers) as (factory, where, activity),
            WakeSocket(settings.home) as wake,
            _web_server(storage, settings, web, out) as url,
        ):
            scheduler = Scheduler(
                storage, files, factory, options=options, clock=clock,
                activity=activity, wake=wake,
            )  # fmt: skip
            _banner(out, title, settings, files, where)
            if url is not None:
                out.print(f"  web:       {url} (API: {url}api/v1)", highlight=False)
            _log_to_stderr()
            scheduler.serve()
        name = signal.Signals(received[0]).name if received else "interrupt"
        out.print(Text(f"Stopped ({name}); nothing is left running.", style="bold"))


@contextmanager
def _no_lock() -> Iterator[None]:
    yield


@contextmanager
def _web_server(
    storage: Storage, settings: Settings, web: WebServerRequest | None, out: Console
) -> Iterator[str | None]:
    if web is None:
        yield None
        return
    # The server's modules (FastAPI, uvicorn) load only when a web server is asked for.
    from partita.cli.webserver import web_server_running

    with web_server_running(storage, settings, web.options, auth=web.auth, out=out) as url:
        yield url


@contextmanager
def _executors(
    settings: Settings, storage: Storage, workers: int | None
) -> Iterator[tuple[ExecutorFactory, str, threading.Event | None]]:
    """The executor factory the settings name (a worker pool, or Celery), where tasks run,
    and the event set when a task outcome arrives (None for Celery: the scheduler naps)."""
    if settings.executor == "celery":
        if workers is not None:
            raise click.UsageError(
                "--workers sizes the local executor's pool, but the executor is celery; "
                "start 'partita worker' processes instead, or set PARTITA_EXECUTOR=local"
            )
        try:
            from partita.executors.celery_executor import CeleryHub
        except ImportError as exc:
            raise click.ClickException(
                f"the celery executor needs Celery ({exc}); install it with: "
                f"pip install 'partita[celery]'"
            ) from None
        with CeleryHub(
            storage, settings.celery_broker_url,
            heartbeat_interval=settings.worker_heartbeat_interval,
            heartbeat_timeout=settings.worker_heartbeat_timeout,
            default_timezone=settings.default_timezone,
        ) as hub:  # fmt: skip
            yield hub.executor, f"Celery workers via {mask_url(settings.celery_broker_url)}", None
        return
    pool = WorkerPool(
        workers,
        storage=storage,
        heartbeat_interval=settings.worker_heartbeat_interval,
        heartbeat_timeout=settings.worker_heartbeat_timeout,
        default_timezone=settings.default_timezone,
    )
    with pool:
        yield pool.executor, f"{pool.size} worker processes", pool.activity


def _banner(
    out: Console, title: str, settings: Settings, files: DagFileProcessor, workers: str
) -> None:
    out.print(Text(title, style="bold"))
    out.print(f"  home:      {settings.home}")
    out.print(f"  database:  {mask_url(settings.database_url)}")
    out.print(f"  workers:   {workers}")
    for location in files.locations:
        out.print(f"  code:      {location}")
    dag_ids = sorted(files.dags)
    shown = ", ".join(dag_ids[:20]) + (" ..." if len(dag_ids) > 20 else "")
    out.print(f"  DAGs:      {len(dag_ids)} loaded" + (f": {shown}" if dag_ids else ""))
    if files.sensors or files.schedules:
        out.print(f"  sensors:   {len(files.sensors)}, schedules: {len(files.schedules)}")
    if files.errors:
        out.print(
            Text(
                f"  {len(files.errors)} file(s) failed to import; 'partita dags list' shows why",
                style="yellow",
            )
        )
    out.print("  Press Ctrl-C to stop.")


def _log_to_stderr() -> None:
    logger = logging.getLogger("partita.scheduler")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


_workers_option = click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Run the tasks in a pool of N worker processes shared by all runs "
    "(default: the number of cores).",
)


@click.command()
@click.argument("path", required=False)
@_workers_option
def scheduler(path: str | None, workers: int | None) -> None:
    """Run the scheduler: load DAGs, queue scheduled runs, run queued runs, until stopped.

    PATH is a DAG file, a folder or a module; without it the code locations
    listed under 'code_locations:' in partita.yaml are loaded. Changed DAG
    files are re-loaded while it runs. The tasks run in a pool of --workers N
    processes (default: the number of cores). Ctrl-C or SIGTERM stops it
    cleanly, workers included.
    """
    serve(path, title="partita scheduler", always_lock=False, workers=workers)


@click.command()
@click.argument("path", required=False)
@_workers_option
@click.option("--no-webserver", is_flag=True, help="Run without the web server.")
@click.option("--host", default="127.0.0.1", show_default=True, help="The web server's address.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
    help="The web server's port (0: any free port).",
)  # fmt: skip
@click.option("--no-auth", is_flag=True, help="No login (only on a loopback --host).")
def dev(
    path: str | None, workers: int | None, no_webserver: bool, host: str, port: int, no_auth: bool
) -> None:
    """Run partita on this machine (the scheduler, its executor, the web server) until Ctrl-C.

    Like 'partita scheduler', on the metadata database of $PARTITA_HOME; only
    one 'partita dev' runs per home at a time. The tasks run in a pool of
    --workers N processes (default: the number of cores). The web server
    (see 'partita webserver') listens on --host and --port in the same process;
    the first start creates the user 'admin' and prints its password once.
    """
    web = None
    if not no_webserver:
        web = WebServerRequest(BindOptions(host, port), auth=not no_auth)
        check_bind_options(web.options, auth=web.auth)
    serve(path, title="partita dev", always_lock=True, workers=workers, web=web)


__all__ = ["code_locations", "dev", "home_lock", "scheduler", "serve"]
