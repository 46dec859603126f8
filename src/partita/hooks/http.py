"""``HttpHook``: HTTP requests to the base URL of a connection, with retries (httpx).

The base URL is Airflow's rule (the host when it carries a protocol, else
``schema://host:port``); the login and password become basic auth, the
``headers`` extra default headers. ``run`` sends one request and retries
answers 429 and 5xx, and transport errors, with exponential backoff.

The design decision: httpx is imported by this module only, so ``import
partita`` and every task that does not speak HTTP never load it; the hook
answers an ``httpx.Response`` and raises ``HttpError`` (naming the method,
the URL and the status) for an answer >= 400 once the retries are spent.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from partita.definitions.connection import Connection
from partita.exceptions import PartitaError
from partita.hooks.base import BaseHook
from partita.hooks.connection_check import http_base_url

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
#: Answers worth another try: rate limited, or the server's fault.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class HttpError(PartitaError):
    """An HTTP request failed: a refused connection, a timeout, or an answer >= 400."""


def check_method(method: str, where: str) -> str:
    """``method`` upper-cased; ``PartitaError`` naming the known ones when it is not one."""
    upper = str(method).upper()
    if upper not in METHODS:
        raise PartitaError(
            f"{where}: unknown HTTP method {method!r}; use one of {', '.join(sorted(METHODS))}"
        )
    return upper


class HttpHook(BaseHook):
    """Requests to the connection ``http_conn_id`` (or to absolute URLs without one)."""

    conn_name_attr = "http_conn_id"
    default_conn_name = "http_default"
    conn_type = "http"
    hook_name = "HTTP"

    def __init__(
        self,
        method: str = "POST",
        http_conn_id: str | None = default_conn_name,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        retry_backoff: float = 0.5,
    ) -> None:
        super().__init__()
        self.method = check_method(method, "HttpHook")
        self.http_conn_id = http_conn_id
        self.timeout = timeout
        self.retries = retries
        self.retry_backoff = retry_backoff

    def connection(self) -> Connection | None:
        """The hook's connection (None without a conn id), its secrets registered for masking."""
        if not self.http_conn_id:
            return None
        connection = self.get_connection(self.http_conn_id)
        connection.register_secrets()
        return connection

    def get_conn(self, headers: Mapping[str, str] | None = None) -> httpx.Client:
        """An ``httpx.Client`` on the connection's base URL, auth and default headers."""
        connection = self.connection()
        options: dict[str, Any] = {"timeout": self.timeout, "follow_redirects": True}
        merged: dict[str, str] = {}
        if connection is not None:
            if connection.host:
                options["base_url"] = http_base_url(connection)
            if connection.login:
                options["auth"] = (connection.login, connection.password or "")
            extra_headers = connection.extra_dejson.get("headers")
            if isinstance(extra_headers, dict):
                merged.update({str(k): str(v) for k, v in extra_headers.items()})
        merged.update(headers or {})
        return httpx.Client(headers=merged, **options)

    def url_for(self, endpoint: str | None) -> str:
        """The URL a request to ``endpoint`` goes to (for messages and logs)."""
        connection = self.connection()
        base = http_base_url(connection) if connection is not None and connection.host else ""
        return join_url(base, endpoint or "")

    def run(
        self,
        endpoint: str | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        check_response: bool = True,
    ) -> httpx.Response:
        """Send the request (``data`` as the query for GET/HEAD); retry 429/5xx with backoff."""
        url = self.url_for(endpoint)
        request: dict[str, Any] = {"params": params, "json": json}
        if self.method in ("GET", "HEAD") and isinstance(data, Mapping):
            request["params"] = {**(params or {}), **data}
        elif isinstance(data, (str, bytes)):
            request["content"] = data
        elif data is not None:
            request["data"] = data
        with self.get_conn(headers) as client:
            response = self._send(client, url, request)
        if check_response and response.status_code >= 400:
            raise HttpError(
                f"{self.method} {url} answered HTTP {response.status_code} "
                f"{response.reason_phrase}: {response.text[:300]}"
            )
        return response

    def _send(self, client: httpx.Client, url: str, request: dict[str, Any]) -> httpx.Response:
        for attempt in range(self.retries + 1):
            last_try = attempt == self.retries
            try:
                response = client.request(self.method, url, **request)
            except httpx.HTTPError as exc:
                if last_try:
                    raise HttpError(
                        f"{self.method} {url} failed after {attempt + 1} tries: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
            else:
                if response.status_code not in RETRY_STATUSES or last_try:
                    return response
            time.sleep(self.retry_backoff * (2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def test_connection(self) -> tuple[bool, str]:
        try:
            response = HttpHook("GET", self.http_conn_id, retries=0).run(check_response=False)
        except (HttpError, PartitaError) as exc:
            return False, str(exc)
        return response.status_code < 400, f"HTTP {response.status_code}"


def join_url(base: str, endpoint: str) -> str:
    """``base`` and ``endpoint`` joined with one slash (an absolute endpoint wins)."""
    if "://" in endpoint or not base:
        return endpoint
    if not endpoint:
        return base
    return f"{base.rstrip('/')}/{endpoint.lstrip('/')}"


__all__ = ["RETRY_STATUSES", "HttpError", "HttpHook", "check_method", "join_url"]
