"""``/api/v1/health`` with the Celery executor: the broker reachable or not (real Redis)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from partita.server.api import admin
from partita.server.app import create_app
from partita.server.config import ServerConfig
from partita.settings import load_settings
from partita.storage.memory import MemoryStorage

pytest.importorskip("celery")


def _health(tmp_path: Path, **env: str) -> dict[str, object]:
    admin._broker_probes.clear()
    settings = load_settings(env={"PARTITA_HOME": str(tmp_path / "home"), **env}, cwd=tmp_path)
    with TestClient(create_app(MemoryStorage(), ServerConfig(settings, auth=False))) as client:
        response = client.get("/api/v1/health")
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_health_says_nothing_of_a_broker_with_the_local_executor(tmp_path: Path) -> None:
    assert "broker" not in _health(tmp_path)


def test_health_reports_a_reachable_broker(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.settimeout(1)
        if probe.connect_ex(("127.0.0.1", 6379)) != 0:
            pytest.skip("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
    body = _health(
        tmp_path, PARTITA_EXECUTOR="celery", PARTITA_CELERY_BROKER_URL="redis://127.0.0.1:6379/3"
    )
    assert (body["status"], body["broker"]) == ("ok", "ok")


def test_health_reports_a_broker_that_is_down_masking_its_password(tmp_path: Path) -> None:
    url = f"redis://:s3cret-pw@127.0.0.1:{_free_port()}/0"
    body = _health(tmp_path, PARTITA_EXECUTOR="celery", PARTITA_CELERY_BROKER_URL=url)
    assert body["status"] == "degraded" and body["database"] == "ok"
    broker = str(body["broker"])
    assert broker.startswith("the broker redis://") and "is unreachable" in broker
    assert "s3cret-pw" not in broker
