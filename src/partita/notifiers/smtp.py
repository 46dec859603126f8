"""``SmtpNotifier`` (alias ``EmailNotifier``): an email about a task or a run, through SMTP.

Also what ``email_on_failure`` / ``email_on_retry`` with ``email`` in a
task's arguments (or the DAG's ``default_args``) send: ``failure_email``
builds that notifier, with Airflow's subject and a body naming the DAG,
the task, the run, the try, the exception and the link to the run.

The design decision: the message is sent by ``SmtpHook`` (connection
``smtp_default`` unless named), so SSL/STARTTLS and the error messages are
the same as ``EmailOperator``'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from partita.exceptions import DefinitionError
from partita.hooks.smtp import Recipients, SmtpHook, recipients
from partita.notifiers.base import BaseNotifier

FAILURE_SUBJECT = (
    "partita alert: {{ dag.dag_id }}.{{ ti.task_id }} failed (try {{ ti.try_number }}, "
    "run {{ run_id }})"
)
FAILURE_BODY = (
    "DAG: {{ dag.dag_id }}<br>Task: {{ ti.task_id }}<br>Run: {{ run_id }}<br>"
    "Try: {{ ti.try_number }}<br>Exception: {{ exception if exception is defined else '' }}<br>"
    '<a href="{{ run_url }}">Open the run</a>'
)


class SmtpNotifier(BaseNotifier):
    """Email ``subject`` / ``html_content`` to ``to`` through connection ``smtp_conn_id``."""

    template_fields = ("to", "subject", "html_content", "cc", "bcc", "from_email")

    def __init__(
        self,
        *,
        to: Recipients,
        subject: str = FAILURE_SUBJECT,
        html_content: str = FAILURE_BODY,
        from_email: str | None = None,
        cc: Recipients | None = None,
        bcc: Recipients | None = None,
        files: Sequence[str] | None = None,
        smtp_conn_id: str = "smtp_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not recipients(to):
            raise DefinitionError("SmtpNotifier: 'to' needs at least one address")
        self.to = to
        self.subject = subject
        self.html_content = html_content
        self.from_email = from_email
        self.cc = cc
        self.bcc = bcc
        self.files = list(files or [])
        self.smtp_conn_id = smtp_conn_id

    def notify(self, context: Mapping[str, Any]) -> None:
        SmtpHook(self.smtp_conn_id).send_email(
            self.to, self.subject, self.html_content, from_email=self.from_email, cc=self.cc,
            bcc=self.bcc, files=self.files,
        )  # fmt: skip


EmailNotifier = SmtpNotifier


def failure_email(to: Recipients) -> SmtpNotifier:
    """The notifier ``email_on_failure`` / ``email_on_retry`` call for the addresses ``to``."""
    return SmtpNotifier(to=to)


__all__ = ["EmailNotifier", "SmtpNotifier", "failure_email"]
