"""``partita users``, ``partita tokens`` and the refusals of ``partita webserver`` (in process)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

from cli_helpers import Invoke
from click.testing import CliRunner

from partita.cli.main import cli
from partita.server.auth.secrets import digest, verify_password
from partita.storage.auth import Role
from partita.storage.base import Storage


def run_with_stdin(text: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=text)
    return result.exit_code, result.stdout, result.stderr


def test_users_are_created_listed_and_given_new_passwords(
    cli_home: Path, cli_storage: Callable[[], Storage], invoke: Invoke
) -> None:
    code, out, _ = run_with_stdin(
        "s3cret-pass\n", "users", "create", "--username", "ann", "--role", "operator",
        "--password-stdin",
    )  # fmt: skip
    assert (code, out) == (0, "Created user 'ann' (operator).\n")
    user = cli_storage().auth.get_user("ann")
    assert user is not None and user.role is Role.OPERATOR
    assert verify_password(user.password_hash, "s3cret-pass")
    assert "s3cret" not in user.password_hash

    listed = invoke("users", "list")
    assert "ann" in listed.stdout and "operator" in listed.stdout

    code, _, _ = run_with_stdin(
        "another-pass\n", "users", "set-password", "ann", "--password-stdin"
    )
    user = cli_storage().auth.get_user("ann")
    assert code == 0 and user is not None and verify_password(user.password_hash, "another-pass")


def test_bad_user_input_is_one_line_and_exit_2(cli_home: Path, invoke: Invoke) -> None:
    code, _, err = run_with_stdin(
        "short\n", "users", "create", "--username", "ann", "--role", "viewer", "--password-stdin"
    )
    assert code == 2 and "the password is too short: use at least 8" in err
    code, _, err = run_with_stdin(
        "long enough\n", "users", "create", "--username", "bad name", "--role", "viewer",
        "--password-stdin",
    )  # fmt: skip
    assert code == 2 and "invalid username 'bad name'" in err
    bad_role = invoke("users", "create", "--username", "ann", "--role", "king")
    assert bad_role.exit_code == 2 and "'king' is not one of" in bad_role.stderr
    no_terminal = invoke("users", "create", "--username", "ann", "--role", "viewer")
    assert no_terminal.exit_code == 2 and "--password-stdin" in no_terminal.stderr
    missing = invoke("users", "delete", "nobody")
    assert missing.exit_code == 2 and "no user 'nobody'" in missing.stderr


def test_the_only_admin_cannot_be_deleted(cli_home: Path, invoke: Invoke) -> None:
    run_with_stdin(
        "admin-pass\n", "users", "create", "--username", "root", "--role", "admin",
        "--password-stdin",
    )  # fmt: skip
    refused = invoke("users", "delete", "root")
    assert refused.exit_code == 2 and "'root' is the only admin" in refused.stderr
    run_with_stdin(
        "viewer-pass\n", "users", "create", "--username", "vic", "--role", "viewer",
        "--password-stdin",
    )  # fmt: skip
    assert invoke("users", "delete", "vic").exit_code == 0


def test_tokens_are_shown_once_stored_hashed_and_revoked(
    cli_home: Path, cli_storage: Callable[[], Storage], invoke: Invoke
) -> None:
    run_with_stdin(
        "s3cret-pass\n", "users", "create", "--username", "ci", "--role", "operator",
        "--password-stdin",
    )  # fmt: skip
    created = invoke("tokens", "create", "--user", "ci", "--name", "pipeline")
    assert created.exit_code == 0
    secret = created.stdout.splitlines()[1]
    assert secret.startswith("ptk_")
    store = cli_storage()
    token = store.auth.find_token(digest(secret))
    assert token is not None and token.name == "pipeline"
    listed = invoke("tokens", "list")
    assert token.token_id in listed.stdout and secret not in listed.stdout
    assert invoke("tokens", "revoke", token.token_id).exit_code == 0
    assert store.auth.find_token(digest(secret)) is None
    again = invoke("tokens", "revoke", token.token_id)
    assert again.exit_code == 2 and "no API token" in again.stderr
    unknown = invoke("tokens", "create", "--user", "nobody")
    assert unknown.exit_code == 2 and "no user 'nobody'" in unknown.stderr


def test_the_webserver_refuses_no_auth_off_loopback_and_half_a_tls_pair(
    cli_home: Path, invoke: Invoke, tmp_path: Path
) -> None:
    exposed = invoke("webserver", "--host", "0.0.0.0", "--no-auth")
    assert exposed.exit_code == 2
    assert "--no-auth is allowed only on a loopback address" in exposed.stderr
    cert = tmp_path / "cert.pem"
    cert.write_text("not really")
    half = invoke("webserver", "--tls-cert", str(cert))
    assert half.exit_code == 2 and "--tls-cert and --tls-key go together" in half.stderr
    dev = invoke("dev", "--host", "0.0.0.0", "--no-auth")
    assert dev.exit_code == 2 and "only on a loopback address" in dev.stderr


def test_the_webserver_says_when_its_port_is_taken(cli_home: Path, invoke: Invoke) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("webserver", "--port", str(port))
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "--port" in result.stderr
