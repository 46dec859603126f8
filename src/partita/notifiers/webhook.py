"""``WebhookNotifier`` and ``SlackNotifier``: a JSON POST to a URL, or to a Slack incoming webhook.

``WebhookNotifier(url=...)`` or ``WebhookNotifier(conn_id=..., endpoint=...)``
POSTs ``payload`` (a JSON object, templated; default: the DAG, task, run,
state, exception and link) through ``HttpHook``. ``SlackNotifier`` posts
``{"text": ..., "channel": ...}`` to the incoming webhook of an HTTP
connection set up as in Slack's docs and seed 002: host
``https://hooks.slack.com/services/``, the ``T.../B.../X...`` token in the
password.

The design decision: both are one POST through ``HttpHook`` with no retries
of its own (the notifier's retry loop owns them), so an answer >= 400
counts as a failed try.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from partita.exceptions import DefinitionError
from partita.hooks.connection_check import http_base_url
from partita.hooks.http import HttpHook, join_url
from partita.notifiers.base import BaseNotifier, run_url

DEFAULT_TEXT = (
    ":red_circle: DAG {{ dag.dag_id }}, task {{ ti.task_id if ti is defined else '-' }}, "
    "run {{ run_id }}: {{ exception if exception is defined else 'finished' }} "
    "<{{ run_url }}|open the run>"
)


def _default_payload(context: Mapping[str, Any], url: str) -> dict[str, Any]:
    ti = context.get("ti")
    exception = context.get("exception")
    return {
        "dag_id": getattr(context.get("dag"), "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "run_id": context.get("run_id"),
        "state": str(getattr(ti, "state", "") or context.get("reason", "")),
        "exception": None if exception is None else str(exception),
        "run_url": url,
    }


class WebhookNotifier(BaseNotifier):
    """POST ``payload`` (JSON) to ``url``, or to ``endpoint`` of HTTP connection ``conn_id``."""

    template_fields = ("payload", "endpoint", "url", "headers")

    def __init__(
        self,
        *,
        url: str | None = None,
        conn_id: str | None = None,
        endpoint: str | None = None,
        payload: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (url is None) == (conn_id is None):
            raise DefinitionError(
                "WebhookNotifier needs exactly one of url= (a full URL) or conn_id= (an HTTP "
                "connection, with endpoint= for the path)"
            )
        self.url = url
        self.conn_id = conn_id
        self.endpoint = endpoint
        self.payload = dict(payload) if payload is not None else None
        self.headers = dict(headers or {})
        self.timeout = timeout

    def notify(self, context: Mapping[str, Any]) -> None:
        payload = (
            self.payload
            if self.payload is not None
            else _default_payload(context, run_url(context))
        )
        hook = HttpHook("POST", self.conn_id, timeout=self.timeout, retries=0)
        hook.run(self.url or self.endpoint, json=payload, headers=self.headers)


class SlackNotifier(BaseNotifier):
    """Post ``text`` to the Slack incoming webhook of HTTP connection ``slack_conn_id``."""

    template_fields = ("text", "channel", "username", "icon_emoji", "blocks")

    def __init__(
        self,
        *,
        slack_conn_id: str = "slack_default",
        text: str = DEFAULT_TEXT,
        channel: str | None = None,
        username: str | None = None,
        icon_emoji: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.slack_conn_id = slack_conn_id
        self.text = text
        self.channel = channel
        self.username = username
        self.icon_emoji = icon_emoji
        self.blocks = blocks
        self.timeout = timeout

    def webhook_url(self) -> str:
        """The webhook's URL: the connection's base URL joined with the token in its password."""
        connection = HttpHook.get_connection(self.slack_conn_id)
        connection.register_secrets()
        return join_url(http_base_url(connection), connection.password or "")

    def message(self) -> dict[str, Any]:
        """The JSON body Slack receives."""
        body: dict[str, Any] = {"text": self.text}
        optional = {
            "channel": self.channel, "username": self.username, "icon_emoji": self.icon_emoji,
            "blocks": self.blocks,
        }  # fmt: skip
        body.update({key: value for key, value in optional.items() if value is not None})
        return body

    def notify(self, context: Mapping[str, Any]) -> None:
        hook = HttpHook("POST", None, timeout=self.timeout, retries=0)
        hook.run(self.webhook_url(), json=self.message())


__all__ = ["DEFAULT_TEXT", "SlackNotifier", "WebhookNotifier"]
