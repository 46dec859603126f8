"""SmtpHook, EmailOperator, SmtpNotifier and email_on_failure against a real aiosmtpd server."""

from __future__ import annotations

import json
import socket
import ssl
from pathlib import Path

import pytest

from local_servers import SmtpServer, running_smtp_server, self_signed_certificate
from partita import (
    DAG,
    EmailError,
    EmailNotifier,
    EmailOperator,
    FailTask,
    PartitaError,
    PythonOperator,
    RunState,
    SmtpHook,
    SmtpNotifier,
    TaskState,
)


@pytest.fixture
def smtp(smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> SmtpServer:
    """``smtp_default`` points at the local server (plain SMTP, no STARTTLS offered)."""
    conn = {
        "conn_type": "smtp", "host": smtp_server.host, "port": smtp_server.port,
        "extra": {"from_email": "partita@example.com", "starttls": False},
    }  # fmt: skip
    monkeypatch.setenv("PARTITA_CONN_SMTP_DEFAULT", json.dumps(conn))
    return smtp_server


def test_hook_sends_a_message_with_cc_bcc_and_an_attachment(
    smtp: SmtpServer, tmp_path: Path
) -> None:
    report = tmp_path / "report.csv"
    report.write_text("a,b\n1,2\n")
    SmtpHook().send_email(
        "ops@example.com; dev@example.com", "Nightly", "<b>done</b>",
        cc=["cc@example.com"], bcc="hidden@example.com", files=[str(report)],
    )  # fmt: skip
    (message,) = smtp.messages
    assert message["Subject"] == "Nightly" and message["From"] == "partita@example.com"
    assert message["To"] == "ops@example.com, dev@example.com"
    assert "Bcc" not in message
    assert sorted(smtp.envelopes[0]) == sorted(
        ["ops@example.com", "dev@example.com", "cc@example.com", "hidden@example.com"]
    )
    parts = list(message.walk())
    assert any(p.get_filename() == "report.csv" for p in parts)
    assert any("<b>done</b>" in str(p.get_payload(decode=True)) for p in parts)


def test_email_operator_renders_its_templates(smtp: SmtpServer) -> None:
    with DAG(dag_id="mail_dag", schedule=None) as dag:
        EmailOperator(
            task_id="mail", to="team@example.com", subject="Run {{ dag.dag_id }}",
            html_content="Params: {{ params.x }}", params={"x": 42},
        )  # fmt: skip
    assert dag.test(verbose=False).state is RunState.SUCCESS
    (message,) = smtp.messages
    assert message["Subject"] == "Run mail_dag"
    assert "Params: 42" in message.get_payload(decode=True).decode()


def _fail() -> None:
    raise FailTask("disk full")


def test_email_on_failure_in_default_args_mails_once_and_the_notifier_works_too(
    smtp: SmtpServer,
) -> None:
    default_args = {"email": ["oncall@example.com"], "email_on_failure": True}
    with DAG(dag_id="mail_alerts", schedule=None, default_args=default_args) as dag:
        PythonOperator(task_id="breaks", python_callable=_fail)
        PythonOperator(
            task_id="breaks_quietly", python_callable=_fail, email_on_failure=False,
            on_failure_callback=EmailNotifier(to="boss@example.com", subject="{{ ti.task_id }}!"),
        )  # fmt: skip
    result = dag.test(verbose=False)
    assert result.state is RunState.FAILED
    by_rcpt = {tuple(e): m for e, m in zip(smtp.envelopes, smtp.messages, strict=True)}
    assert set(by_rcpt) == {("oncall@example.com",), ("boss@example.com",)}
    alert = by_rcpt[("oncall@example.com",)]
    assert "mail_alerts.breaks" in alert["Subject"] and "failed" in alert["Subject"]
    body = alert.get_payload(decode=True).decode()
    assert "disk full" in body and result.run_id in body
    assert by_rcpt[("boss@example.com",)]["Subject"] == "breaks_quietly!"
    assert SmtpNotifier is EmailNotifier


def test_a_refused_smtp_server_is_logged_and_the_task_state_is_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("PARTITA_CONN_SMTP_DEFAULT", f"smtp://127.0.0.1:{port}")
    with pytest.raises(EmailError, match=rf"SMTP server 127.0.0.1:{port} .* refused us"):
        SmtpHook().send_email("a@example.com", "s", "b")
    notifier = SmtpNotifier(to="a@example.com", retries=1, retry_delay=0.01)
    with DAG(dag_id="mail_down", schedule=None) as dag:
        PythonOperator(task_id="ok", python_callable=lambda: 1, on_success_callback=notifier)
    result = dag.test(verbose=False)
    assert result.task_states == {"ok": TaskState.SUCCESS}
    lines = "\n".join([result.logs("ok")])
    assert "SmtpNotifier failed after 2 tries" in lines and "refused us" in lines


def test_bad_email_arguments_are_refused() -> None:
    with pytest.raises(PartitaError, match="'to' needs at least one address"):
        EmailOperator(task_id="m", to=" , ", subject="s", html_content="b")
    with pytest.raises(PartitaError, match="'to' needs at least one address"):
        SmtpNotifier(to=[])


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # TLS from byte 1
def test_the_hook_speaks_tls_and_logs_in_as_the_connection_says(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """STARTTLS (offered and required by the server) or SSL from the first byte, each checking
    the server's certificate against the trusted ones, then the connection's login."""
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    login = ("mailer", "Smtp-Pa55word")
    extra = {"from_email": "partita@example.com", "ssl": mode == "ssl"}
    with running_smtp_server(context, implicit_tls=mode == "ssl", login=login) as server:
        conn = {"conn_type": "smtp", "host": "127.0.0.1", "port": server.port,
                "login": login[0], "password": login[1], "extra": extra}  # fmt: skip
        monkeypatch.setenv("PARTITA_CONN_SMTP_DEFAULT", json.dumps(conn))
        # Not trusted yet: the certificate check fails, naming what to check.
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "none.pem"))
        with pytest.raises(EmailError, match=r"SSLCertVerificationError.*ssl/starttls extras"):
            SmtpHook().send_email("ops@example.com", "Nightly", "done")
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        SmtpHook().send_email("ops@example.com", "Nightly", "done")
        assert [m["Subject"] for m in server.messages] == ["Nightly"]
