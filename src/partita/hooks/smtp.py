"""``SmtpHook``: sends email through the SMTP server of a connection (smtplib).

The connection (``smtp_default`` unless named) gives the host, the port,
the login and password, and in its extras: ``ssl`` (connect with SSL;
also the default on port 465), ``starttls`` (true: always, false: never,
unset: when the server offers it), Airflow's ``disable_ssl`` /
``disable_tls``, ``from_email`` and ``timeout``.

The design decision: the standard library's ``smtplib`` and ``email``
only; every failure (refused connection, refused login, refused
recipient) becomes one ``EmailError`` naming the server and the fix.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from partita.definitions.connection import Connection
from partita.exceptions import PartitaError
from partita.hooks.base import BaseHook

Recipients = str | Sequence[str]


class EmailError(PartitaError):
    """An email could not be sent."""


def recipients(value: Recipients | None) -> list[str]:
    """A list of addresses from a list or a string separated by commas or semicolons."""
    if value is None:
        return []
    items = value.replace(";", ",").split(",") if isinstance(value, str) else list(value)
    return [item.strip() for item in items if item and item.strip()]


def _flag(extra: dict[str, Any], name: str) -> bool | None:
    value = extra.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class SmtpHook(BaseHook):
    """An SMTP client of connection ``smtp_conn_id``."""

    conn_name_attr = "smtp_conn_id"
    default_conn_name = "smtp_default"
    conn_type = "smtp"
    hook_name = "SMTP"

    def __init__(self, smtp_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.smtp_conn_id = smtp_conn_id

    def connection(self) -> Connection:
        connection = self.get_connection(self.smtp_conn_id)
        connection.register_secrets()
        if not connection.host:
            raise EmailError(
                f"SMTP connection {self.smtp_conn_id!r} has no host; set it, e.g. "
                f"'partita connections add {self.smtp_conn_id} --uri smtp://user:pass@host:587'"
            )
        return connection

    def get_conn(self) -> smtplib.SMTP:
        """A logged-in SMTP client (SSL or STARTTLS as the connection says)."""
        connection = self.connection()
        extra = connection.extra_dejson
        use_ssl = _flag(extra, "ssl")
        if use_ssl is None:
            disable_ssl = _flag(extra, "disable_ssl")
            use_ssl = connection.port == 465 if disable_ssl is None else not disable_ssl
        starttls = _flag(extra, "starttls")
        if _flag(extra, "disable_tls"):
            starttls = False
        timeout = float(extra.get("timeout", 30))
        where = f"SMTP server {connection.host}:{connection.port or (465 if use_ssl else 25)}"
        try:
            client: smtplib.SMTP
            if use_ssl:
                context = ssl.create_default_context()
                client = smtplib.SMTP_SSL(
                    connection.host or "", connection.port or 465, timeout=timeout, context=context
                )
            else:
                client = smtplib.SMTP(connection.host or "", connection.port or 25, timeout=timeout)
                client.ehlo()
                if starttls or (starttls is None and client.has_extn("starttls")):
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
            if connection.login:
                client.login(connection.login, connection.password or "")
        except (smtplib.SMTPException, OSError) as exc:
            raise EmailError(
                f"{where} (connection {self.smtp_conn_id!r}) refused us: "
                f"{type(exc).__name__}: {exc}; check the host, port, login and the ssl/starttls "
                "extras"
            ) from exc
        return client

    def from_address(self) -> str:
        connection = self.connection()
        return str(
            connection.extra_dejson.get("from_email") or connection.login or "partita@localhost"
        )

    def send_email(
        self,
        to: Recipients,
        subject: str,
        html_content: str,
        *,
        from_email: str | None = None,
        files: Sequence[str] | None = None,
        cc: Recipients | None = None,
        bcc: Recipients | None = None,
        mime_subtype: str = "html",
    ) -> EmailMessage:
        """Send one message; answer it (as sent)."""
        to_list = recipients(to)
        if not to_list:
            raise EmailError("an email needs at least one recipient in 'to'")
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = from_email or self.from_address()
        message["To"] = ", ".join(to_list)
        if cc:
            message["Cc"] = ", ".join(recipients(cc))
        message.set_content(html_content, subtype=mime_subtype)
        for name in files or ():
            path = Path(name)
            if not path.is_file():
                raise EmailError(f"attachment {name!r} is not a file")
            message.add_attachment(
                path.read_bytes(), maintype="application", subtype="octet-stream",
                filename=path.name,
            )  # fmt: skip
        everyone = to_list + recipients(cc) + recipients(bcc)
        client = self.get_conn()
        try:
            client.send_message(message, to_addrs=everyone)
        except (smtplib.SMTPException, OSError) as exc:
            raise EmailError(
                f"the SMTP server of connection {self.smtp_conn_id!r} did not accept the "
                f"message to {', '.join(everyone)}: {exc}"
            ) from exc
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
        return message

    def test_connection(self) -> tuple[bool, str]:
        try:
            self.get_conn().quit()
        except PartitaError as exc:
            return False, str(exc)
        return True, "the SMTP server accepted us"


__all__ = ["EmailError", "SmtpHook", "recipients"]
