"""``EmailOperator``: sends an email through an SMTP connection as a task.

The design decision: the subject and body are template fields (a ``.html``
file is read as the body), and the operator only calls ``SmtpHook``, which
owns SSL/STARTTLS and the error messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from partita.definitions.baseoperator import BaseOperator
from partita.definitions.context import Context
from partita.exceptions import DefinitionError
from partita.hooks.smtp import Recipients, SmtpHook, recipients


class EmailOperator(BaseOperator):
    """Send ``subject`` / ``html_content`` to ``to`` through connection ``conn_id``."""

    template_fields = ("to", "subject", "html_content", "files")
    template_ext = (".html",)
    ui_color = "#e6faf9"

    def __init__(
        self,
        *,
        to: Recipients,
        subject: str,
        html_content: str,
        files: Sequence[str] | None = None,
        cc: Recipients | None = None,
        bcc: Recipients | None = None,
        from_email: str | None = None,
        mime_subtype: str = "html",
        conn_id: str = "smtp_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not recipients(to):
            raise DefinitionError(f"task {self.task_id!r}: 'to' needs at least one address")
        self.to = to
        self.subject = subject
        self.html_content = html_content
        self.files = list(files or [])
        self.cc = cc
        self.bcc = bcc
        self.from_email = from_email
        self.mime_subtype = mime_subtype
        self.conn_id = conn_id

    def execute(self, context: Context) -> None:
        SmtpHook(self.conn_id).send_email(
            self.to, self.subject, self.html_content, files=self.files, cc=self.cc,
            bcc=self.bcc, from_email=self.from_email, mime_subtype=self.mime_subtype,
        )  # fmt: skip
        context["log"].info("sent email %r to %s", self.subject, ", ".join(recipients(self.to)))


__all__ = ["EmailOperator"]
