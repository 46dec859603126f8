"""HttpHook, HttpOperator and HttpSensor against a real local HTTP server."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from local_servers import HttpRecorder
from partita import (
    DAG,
    HttpError,
    HttpHook,
    HttpOperator,
    HttpSensor,
    PartitaError,
    RunState,
    SimpleHttpOperator,
    TaskState,
)


@pytest.fixture
def api(http_recorder: HttpRecorder, monkeypatch: pytest.MonkeyPatch) -> HttpRecorder:
    """Connection ``api``: the recorder's host and port, basic auth, a default header."""
    conn = {
        "conn_type": "http", "host": "127.0.0.1", "port": http_recorder.port,
        "login": "bot", "password": "s3cr3t-pw", "extra": {"headers": {"X-Team": "data"}},
    }  # fmt: skip
    monkeypatch.setenv("PARTITA_CONN_API", json.dumps(conn))
    return http_recorder


def test_hook_posts_json_with_auth_and_headers_from_the_connection(api: HttpRecorder) -> None:
    response = HttpHook("POST", "api").run("/v1/items", json={"n": 1}, headers={"X-Req": "1"})
    assert response.json() == {"ok": True}
    (request,) = api.requests
    assert (request.method, request.path, request.json()) == ("POST", "/v1/items", {"n": 1})
    assert request.headers["Authorization"].startswith("Basic ")
    assert request.headers["X-Team"] == "data" and request.headers["X-Req"] == "1"


def test_hook_sends_data_of_a_get_as_the_query(api: HttpRecorder) -> None:
    HttpHook("GET", "api").run("search", data={"q": "x y"})
    assert api.requests[0].path == "/search?q=x+y"


def test_hook_retries_429_and_5xx_then_succeeds(api: HttpRecorder) -> None:
    api.statuses = [429, 503, 500]
    response = HttpHook("GET", "api", retries=3, retry_backoff=0.01).run("x")
    assert response.status_code == 200
    assert len(api.requests) == 4


def test_hook_gives_up_after_its_retries_naming_method_url_and_status(api: HttpRecorder) -> None:
    api.statuses = [503, 503]
    with pytest.raises(HttpError, match=r"GET http://127.0.0.1:\d+/x answered HTTP 503"):
        HttpHook("GET", "api", retries=1, retry_backoff=0.01).run("x")
    assert len(api.requests) == 2


def test_hook_does_not_retry_a_client_error(api: HttpRecorder) -> None:
    api.statuses = [404]
    with pytest.raises(HttpError, match="HTTP 404"):
        HttpHook("GET", "api", retries=3, retry_backoff=0.01).run("x")
    assert len(api.requests) == 1


def test_hook_refused_connection_is_an_http_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTITA_CONN_DOWN", "http://127.0.0.1:9")
    with pytest.raises(HttpError, match="failed after 1 tries: ConnectError"):
        HttpHook("GET", "down", retries=0).run("x")


def test_bad_method_and_unknown_connection_are_clear() -> None:
    with pytest.raises(PartitaError, match="unknown HTTP method 'fetch'; use one of"):
        HttpHook("fetch", "api")
    with pytest.raises(PartitaError, match="connection 'nope' is not defined"):
        HttpHook("GET", "nope").run("x")
    with pytest.raises(PartitaError, match="unknown HTTP method 'GOT'"):
        HttpOperator(task_id="t", method="GOT")


def test_operator_returns_the_body_or_the_filtered_response(api: HttpRecorder) -> None:
    with DAG(dag_id="http_dag", schedule=None) as dag:
        HttpOperator(
            task_id="post", http_conn_id="api", endpoint="/items/{{ ds }}",
            data='{"a": 1}', headers={"Content-Type": "application/json"},
        )  # fmt: skip
        SimpleHttpOperator(
            task_id="get", http_conn_id="api", method="GET", endpoint="items",
            response_check=lambda r: r.status_code == 200,
            response_filter=lambda r: r.json()["ok"],
        )  # fmt: skip
    result = dag.test(verbose=False)
    assert result.state is RunState.SUCCESS
    assert result.output("post") == '{"ok": true}'
    assert result.output("get") is True
    posted = next(r for r in api.requests if r.method == "POST")
    assert posted.path.startswith("/items/20") and posted.body == b'{"a": 1}'


def test_operator_fails_when_response_check_is_false(api: HttpRecorder) -> None:
    def check(response: httpx.Response, **context: Any) -> bool:
        return context["ti"].task_id == "other"

    with DAG(dag_id="http_check", schedule=None) as dag:
        HttpOperator(task_id="get", http_conn_id="api", method="GET", response_check=check)
    result = dag.test(verbose=False)
    assert result.task_states == {"get": TaskState.FAILED}


def test_sensor_pokes_until_the_check_passes(api: HttpRecorder) -> None:
    api.statuses = [404, 200, 200]
    api.body = b'{"ready": false}'
    calls: list[int] = []

    def ready(response: httpx.Response) -> bool:
        calls.append(response.status_code)
        return len(calls) >= 2

    with DAG(dag_id="http_sensor", schedule=None) as dag:
        HttpSensor(
            task_id="wait", http_conn_id="api", endpoint="status", response_check=ready,
            poke_interval=0.01, timeout=30,
        )  # fmt: skip
    assert dag.test(verbose=False).state is RunState.SUCCESS
    assert len(api.requests) == 3 and calls == [200, 200]


def test_sensor_times_out_and_refuses_an_unknown_mode(api: HttpRecorder) -> None:
    api.statuses = [404] * 50
    with DAG(dag_id="http_sensor_timeout", schedule=None) as dag:
        HttpSensor(
            task_id="wait", http_conn_id="api", endpoint="s", poke_interval=0.01, timeout=0.05
        )
    assert dag.test(verbose=False).task_states == {"wait": TaskState.FAILED}
    with pytest.raises(PartitaError, match="mode must be 'poke'"):
        HttpSensor(task_id="w", endpoint="s", mode="sometimes")


def test_sensor_in_reschedule_mode_gives_its_slot_back_between_pokes(api: HttpRecorder) -> None:
    api.statuses = [404, 404, 200]
    with DAG(dag_id="http_sensor_reschedule", schedule=None) as dag:
        HttpSensor(
            task_id="wait", http_conn_id="api", endpoint="s", mode="reschedule",
            poke_interval=0.01, timeout=30,
        )  # fmt: skip
    result = dag.test(verbose=False)
    assert result.task_states == {"wait": TaskState.SUCCESS}
    assert len(api.requests) == 3  # one poke per try of the same task instance
