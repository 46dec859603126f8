"""``partita worker``: a Celery worker that runs the task instances the scheduler publishes.

It loads the code locations once (PATH, else ``code_locations:``), opens the
metadata store of the settings, and serves the given queues with
``--concurrency N`` threads until Ctrl-C or SIGTERM (Celery's warm
shutdown: the tries running finish first).

The design decision: the worker uses Celery's ``threads`` pool, not
``prefork``: the code locations are imported once per worker process (not
once per child), the run's resources are opened once per run, and a try's
liveness is its worker process's liveness, which the scheduler checks with
Celery's ``ping`` (a prefork child killed mid-try would leave a live node
that answers for a try nobody runs). Start several ``partita worker``
processes to use several cores.
"""

from __future__ import annotations

from pathlib import Path

import click

from partita.cli.scheduler import code_locations
from partita.settings import load_settings
from partita.storage.factory import open_storage
from partita.storage.sql.engine import mask_url


def parse_queues(text: str) -> list[str]:
    """``q1,q2`` -> ``["q1", "q2"]``; a clear error for an empty name."""
    queues = [name.strip() for name in text.split(",")]
    if not all(queues):
        raise click.BadParameter(
            f"{text!r} has an empty queue name; give names separated by commas, e.g. default,q2",
            param_hint="--queues",
        )
    return queues


def dag_files(locations: list[str]) -> list[str]:
    """The ``.py`` files of the code locations (a module location is imported on demand)."""
    found: list[str] = []
    for location in locations:
        path = Path(location)
        if path.is_file():
            found.append(str(path.resolve()))
        elif path.is_dir():
            found.extend(str(p.resolve()) for p in sorted(path.rglob("*.py")))
    return found


@click.command()
@click.argument("path", required=False)
@click.option(
    "--queues", default="default", show_default=True, metavar="Q1,Q2",
    help="The queues to take task instances from (a task's queue= picks its queue).",
)  # fmt: skip
@click.option(
    "--concurrency", type=click.IntRange(min=1), default=4, show_default=True, metavar="N",
    help="Task instances this worker runs at once (threads).",
)  # fmt: skip
def worker(path: str | None, queues: str, concurrency: int) -> None:
    """Run a Celery worker: run the task instances the scheduler sends to its queues.

    PATH is a DAG file or folder; without it the code locations listed under
    'code_locations:' in partita.yaml are loaded. The broker is
    PARTITA_CELERY_BROKER_URL (or 'celery_broker_url:'); the worker writes
    states, outputs and logs to the metadata database of its settings, which
    must be the scheduler's. Ctrl-C or SIGTERM stops it after the running tries.
    """
    names = parse_queues(queues)
    settings = load_settings()
    locations = code_locations(path, settings)
    try:
        from partita.executors.celery_app import TASK_NAME, make_app
        from partita.executors.celery_worker import TaskRunner, node_name
    except ImportError as exc:
        raise click.ClickException(
            f"partita worker needs Celery ({exc}); install it with: pip install 'partita[celery]'"
        ) from None
    node = node_name(names)
    storage = open_storage(settings)
    if not storage.persistent:
        raise click.ClickException("partita worker needs a database shared with the scheduler")
    runner = TaskRunner(storage, node)
    runner.preload(dag_files(locations), settings.default_timezone)
    app = make_app(settings.celery_broker_url, settings.worker_heartbeat_timeout)
    app.task(name=TASK_NAME, ignore_result=True)(runner.handle)
    click.echo(
        f"partita worker {node}: queues {', '.join(names)}, {concurrency} threads, "
        f"broker {mask_url(settings.celery_broker_url)}, database {mask_url(settings.database_url)}"
    )
    try:
        app.worker_main(argv=[
            "worker", f"--hostname={node}", f"--queues={','.join(names)}",
            f"--concurrency={concurrency}", "--pool=threads", "--loglevel=INFO",
            "--without-gossip", "--without-mingle",
        ])  # fmt: skip
    finally:
        runner.close()
        storage.close()


__all__ = ["dag_files", "parse_queues", "worker"]
