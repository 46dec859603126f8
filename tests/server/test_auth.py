"""Authentication and roles against the app: sessions with CSRF tokens, bearer tokens, roles
per route, the login rate limit, the security headers and the body size limit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from server_helpers import PASSWORD, ApiWorld, build_world

from partita.server.app import create_app
from partita.server.config import ServerConfig
from partita.settings import load_settings
from partita.storage.auth import Role
from partita.storage.memory import MemoryStorage


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


def test_nothing_but_health_is_served_without_credentials(sqlite_world: ApiWorld) -> None:
    client = sqlite_world.client(None)
    for url in ["/api/v1/dags", "/api/v1/runs", "/api/v1/pools", "/api/v1/auth/me"]:
        response = client.get(url)
        assert response.status_code == 401, url
        assert "log in first" in response.json()["detail"]
    assert client.get("/api/v1/health").status_code == 200
    bad = client.get("/api/v1/dags", headers={"Authorization": "Bearer ptk_forged"})
    assert bad.status_code == 401 and "unknown or revoked API token" in bad.json()["detail"]


def test_a_login_sets_a_strict_http_only_cookie_and_returns_the_csrf_token(
    sqlite_world: ApiWorld,
) -> None:
    client = sqlite_world.client(None)
    response = client.post(
        "/api/v1/auth/login", json={"username": "operator", "password": PASSWORD}
    )
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("partita_session="))
    assert "HttpOnly" in session and "SameSite=strict" in session
    assert "Secure" not in session  # plain HTTP here; HTTPS requests get Secure
    me = client.get("/api/v1/auth/me").json()
    assert me == {
        "username": "operator",
        "role": "operator",
        "csrf_token": response.json()["csrf_token"],
    }
    assert client.get("/api/v1/runs").status_code == 200


def test_a_cookie_request_that_changes_something_needs_the_csrf_token(
    sqlite_world: ApiWorld,
) -> None:
    client = sqlite_world.client(None)
    csrf = login(client, "operator")
    without = client.patch("/api/v1/dags/etl", json={"is_paused": True})
    assert without.status_code == 403
    assert "CSRF token missing or wrong" in without.json()["title"]
    wrong = client.patch(
        "/api/v1/dags/etl", json={"is_paused": True}, headers={"X-CSRF-Token": "guess"}
    )
    assert wrong.status_code == 403
    assert sqlite_world.storage.registry.get_dag("etl").is_paused is False  # type: ignore[union-attr]
    right = client.patch(
        "/api/v1/dags/etl", json={"is_paused": True}, headers={"X-CSRF-Token": csrf}
    )
    assert right.status_code == 200 and right.json()["is_paused"] is True


def test_logout_ends_the_session_everywhere(sqlite_world: ApiWorld) -> None:
    client = sqlite_world.client(None)
    csrf = login(client, "viewer")
    cookie = client.cookies.get("partita_session")
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    client.cookies.set("partita_session", cookie or "")  # a copy kept by an attacker
    replay = client.get("/api/v1/runs")
    assert replay.status_code == 401 and "session has ended" in replay.json()["detail"]


def test_a_viewer_cannot_trigger_cancel_clear_mark_or_pause(sqlite_world: ApiWorld) -> None:
    client = sqlite_world.client(Role.VIEWER)
    run = sqlite_world.broken_run
    for method, url, body in [
        ("POST", "/api/v1/dags/etl/runs", {}),
        ("PATCH", "/api/v1/dags/etl", {"is_paused": True}),
        ("POST", f"/api/v1/runs/{run}/cancel", {}),
        ("POST", f"/api/v1/runs/{run}/retry", None),
        ("POST", f"/api/v1/runs/{run}/tasks/fail/clear", {}),
        ("POST", f"/api/v1/runs/{run}/tasks/fail/mark", {"state": "success"}),
        ("PUT", "/api/v1/pools/p", {"slots": 1}),
    ]:
        response = client.request(method, url, json=body)
        assert response.status_code == 403, url
        assert "has the role viewer" in response.json()["detail"]
    assert sqlite_world.storage.runs.count_runs("etl") == 1


def test_failed_logins_are_rate_limited_per_address_and_user(sqlite_world: ApiWorld) -> None:
    client = sqlite_world.client(None)
    attempts = sqlite_world.config.login_attempts
    for _ in range(attempts):
        wrong = client.post("/api/v1/auth/login", json={"username": "admin", "password": "nope"})
        assert wrong.status_code == 401 and wrong.json()["detail"] == "wrong username or password"
    blocked = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) >= 1
    assert "too many failed logins for 'admin'" in blocked.json()["detail"]
    login(client, "viewer")  # another user from the same address is not blocked


def test_every_response_carries_a_csp_without_inline_script(sqlite_world: ApiWorld) -> None:
    response = sqlite_world.client(None).get("/api/v1/health")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"


def test_an_oversized_body_is_refused_with_413(sqlite_world: ApiWorld) -> None:
    client = sqlite_world.client(Role.OPERATOR)
    big = {"conf": {"blob": "x" * (sqlite_world.config.max_body_bytes + 10)}}
    response = client.post("/api/v1/dags/etl/runs", json=big)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert sqlite_world.storage.runs.count_runs("etl") == 1


def test_a_streamed_oversized_body_is_refused_too(sqlite_world: ApiWorld) -> None:
    client = sqlite_world.client(Role.OPERATOR)
    limit = sqlite_world.config.max_body_bytes

    def chunks() -> Iterator[bytes]:
        yield b'{"conf": {"blob": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"}}'

    response = client.post("/api/v1/dags/etl/runs", content=chunks())
    assert response.status_code == 413


@pytest.fixture
def no_auth_client(tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings(env={"PARTITA_HOME": str(tmp_path)}, cwd=tmp_path)
    with TestClient(create_app(MemoryStorage(), ServerConfig(settings, auth=False))) as client:
        yield client


def test_without_auth_every_request_is_an_admin(no_auth_client: TestClient) -> None:
    assert no_auth_client.get("/api/v1/auth/me").json()["role"] == "admin"
    assert no_auth_client.put("/api/v1/pools/p", json={"slots": 3}).status_code == 200


def test_a_world_can_be_built_on_memory_too(tmp_path: Path) -> None:
    for world in build_world(MemoryStorage(), tmp_path / "home"):
        assert world.client(Role.VIEWER).get("/api/v1/runs").json()["total"] == 2


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_login_limit_holds_across_two_servers_on_one_database(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from partita.storage.sql import SqlStorage

    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_clean_database_url")
    with (
        SqlStorage(url, tmp_path / "a") as first,
        SqlStorage(url, tmp_path / "b") as second,
    ):
        worlds = build_world(first, tmp_path / "home")
        world = next(worlds)
        config = ServerConfig(load_settings(env={"PARTITA_HOME": str(tmp_path)}, cwd=tmp_path))
        with TestClient(create_app(second, config)) as other:
            servers = [world.client(None), other]
            for attempt in range(config.login_attempts):  # the guesses alternate servers
                wrong = servers[attempt % 2].post(
                    "/api/v1/auth/login", json={"username": "admin", "password": "nope"}
                )
                assert wrong.status_code == 401
            for server in servers:
                blocked = server.post(
                    "/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}
                )
                assert blocked.status_code == 429, blocked.text
            login(other, "viewer")  # another user is not blocked
        worlds.close()
