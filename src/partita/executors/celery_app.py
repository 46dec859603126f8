"""The Celery side shared by the scheduler and ``partita worker``: the app and the message.

``make_app`` builds the Celery app from the settings (broker URL, heartbeat
timeout): late acknowledgement (``acks_late``, ``task_reject_on_worker_lost``,
a prefetch of one), the Redis visibility timeout set to the worker heartbeat
timeout instead of Redis's default hour, no result backend
(``task_ignore_result``), JSON messages only. ``TaskMessage`` is what one
message holds: the facts of one try of one task instance (DAG id and file,
run, task id, map index, try number, the partita version), never a pickled
user object.

The design decision: Celery only carries the request to run a try. What the
try did (its state, outputs, logs, error) travels through the metadata
database and the log/IO storage, written by the worker and read by the
scheduler; a Celery result is never read, so a lost result cannot lose a try.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import msgspec
from celery import Celery

from partita.engine.work import RunInfo, TaskWork

#: The name of the one Celery task partita registers.
TASK_NAME = "partita.run_task_instance"
#: The queue of a task that names none (``queue=``).
DEFAULT_QUEUE = "default"
#: Seconds a publish waits for a broker that does not answer before it counts as down.
CONNECT_TIMEOUT = 2.0


def make_app(broker_url: str, heartbeat_timeout: float) -> Celery:
    """The Celery app of partita on ``broker_url`` (``redis://`` or ``amqp://``)."""
    app = Celery("partita", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=DEFAULT_QUEUE,
        task_create_missing_queues=True,
        task_serializer="json",
        accept_content=["json"],
        # Redis redelivers an unacknowledged message after this many seconds.
        broker_transport_options={"visibility_timeout": max(int(heartbeat_timeout), 1)},
        broker_connection_timeout=CONNECT_TIMEOUT,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        worker_enable_remote_control=True,
    )
    return app


class TaskMessage(msgspec.Struct, frozen=True):
    """One Celery message: run this try of this task instance (JSON, no pickles)."""

    partita_version: str
    run: RunInfo
    dag_file: str
    default_timezone: str | None
    work: TaskWork
    #: Task id -> number of instances, for the mapped tasks of the run expanded so far.
    map_lengths: dict[str, int]

    def encode(self) -> dict[str, Any]:
        """The message as JSON-ready builtins (the run's validated task configs stay home:
        the worker validates the run's conf again)."""
        slim = replace(self.run, task_config={})
        return msgspec.to_builtins(msgspec.structs.replace(self, run=slim))

    @classmethod
    def decode(cls, payload: Mapping[str, Any]) -> TaskMessage:
        """The message from what ``encode`` made; ``msgspec.ValidationError`` if malformed."""
        return msgspec.convert(payload, cls, strict=False)


def probe_broker(broker_url: str, timeout: float = CONNECT_TIMEOUT) -> str | None:
    """None when the broker at ``broker_url`` answers within ``timeout`` seconds, else why not
    (one line, the URL's password masked)."""
    from kombu import Connection

    from partita.storage.sql.engine import mask_url

    try:
        with Connection(broker_url, connect_timeout=timeout) as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
            connection.default_channel  # noqa: B018 - Redis is only reached by a channel
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"the broker {mask_url(broker_url)} is unreachable: {reason}"
    return None


__all__ = ["DEFAULT_QUEUE", "TASK_NAME", "TaskMessage", "make_app", "probe_broker"]
