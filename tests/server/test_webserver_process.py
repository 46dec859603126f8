"""``partita webserver`` and ``partita dev`` as real processes: start, first admin, health,
login, trigger, a run followed to its end through the API, SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_helpers import DAG_FILE

SETTINGS_VARIABLES = ("PARTITA_DATABASE_URL", "PARTITA_STORAGE_DIR", "PARTITA_DEBUG")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    env.update(PARTITA_HOME=str(home), PYTHONUNBUFFERED="1", COLUMNS="200")
    return env


@pytest.fixture
def home(tmp_path: Path) -> Path:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "pipelines.py").write_text(DAG_FILE.read_text())
    return tmp_path / "home"


@pytest.fixture
def started(home: Path) -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.communicate()


def start(processes: list[subprocess.Popen[str]], home: Path, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "partita.cli.main", *args]
    process = subprocess.Popen(
        command, env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=home.parent,
    )  # fmt: skip
    processes.append(process)
    return process


def read_until(process: subprocess.Popen[str], pattern: str) -> tuple[re.Match[str], str]:
    """Read stdout lines until one matches ``pattern``; return the match and what was read."""
    assert process.stdout is not None
    seen = ""
    while True:
        line = process.stdout.readline()
        if not line:
            _, err = process.communicate(timeout=30)
            pytest.fail(f"the process ended before printing {pattern!r}:\n{seen}\n{err}")
        seen += line
        match = re.search(pattern, line)
        if match:
            return match, seen


def test_the_webserver_serves_logs_in_triggers_and_stops_on_sigterm(
    home: Path, started: list[subprocess.Popen[str]]
) -> None:
    process = start(started, home, "webserver", "dags", "--port", "0")
    match, banner = read_until(process, r"API:\s+(http://127\.0\.0\.1:\d+/)api/v1")
    url = match.group(1)
    password = re.search(r"Created the first user: 'admin', with the password:\n\s+(\S+)", banner)
    assert password is not None, banner
    password_file = home / "admin-password"
    assert password_file.read_text().strip() == password.group(1)
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600

    with httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("api/v1/health").json()["database"] == "ok"
        assert client.get("api/v1/dags").status_code == 401
        login = client.post(
            "api/v1/auth/login", json={"username": "admin", "password": password.group(1)}
        )
        assert login.status_code == 200
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        assert [d["dag_id"] for d in client.get("api/v1/dags").json()["dags"]] == ["broken", "etl"]
        queued = client.post("api/v1/dags/etl/runs", json={"conf": {"n": 4}}, headers=csrf)
        assert queued.status_code == 201 and queued.json()["state"] == "queued"

    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Stopped (SIGTERM)." in out
    assert "Traceback" not in err


@pytest.mark.slow
def test_dev_runs_the_web_server_beside_the_scheduler(
    home: Path, started: list[subprocess.Popen[str]]
) -> None:
    process = start(started, home, "dev", "dags", "--port", "0", "--workers", "1", "--no-auth")
    match, banner = read_until(process, r"web:\s+(http://127\.0\.0\.1:\d+/)")
    assert "Authentication is OFF (--no-auth)" in banner
    with httpx.Client(base_url=match.group(1), timeout=30) as client:
        run_id = client.post("api/v1/dags/etl/runs", json={}).json()["run_id"]
        deadline = time.monotonic() + 120
        state = "queued"
        while time.monotonic() < deadline and state not in ("success", "failed"):
            time.sleep(0.2)
            state = client.get(f"api/v1/runs/{run_id}").json()["state"]
        assert state == "success"
        assert client.get("api/v1/health").json()["scheduler_alive"] is True
        log = client.get(f"api/v1/runs/{run_id}/tasks/extract/logs?tail=1").json()
        assert [line["message"] for line in log["lines"]] == ["line 29"]
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "nothing is left running" in out


@pytest.mark.slow
def test_the_webserver_serves_https_with_secure_cookies(
    home: Path, started: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    process = start(
        started, home, "webserver", "--port", "0", "--tls-cert", str(cert), "--tls-key", str(key)
    )
    match, banner = read_until(process, r"API:\s+(https://127\.0\.0\.1:\d+/)api/v1")
    password = re.search(r"with the password:\n\s+(\S+)", banner)
    assert password is not None
    with httpx.Client(base_url=match.group(1), verify=False, timeout=30) as client:
        login = client.post(
            "api/v1/auth/login", json={"username": "admin", "password": password.group(1)}
        )
        session = next(
            c for c in login.headers.get_list("set-cookie") if c.startswith("partita_session=")
        )
        assert "Secure" in session
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == 0
