"""``HttpOperator`` (alias ``SimpleHttpOperator``) and ``HttpSensor``: HTTP calls as tasks.

``HttpOperator`` sends one request through ``HttpHook`` and returns the
body as text (or what ``response_filter(response)`` returns), after
``response_check(response)`` said it is good. ``HttpSensor`` (a
``BaseSensorOperator``: mode ``poke`` or ``reschedule``) repeats a request
every ``poke_interval`` seconds until ``response_check`` is true (an answer
404 counts as "not yet").

The design decision: the checks and filters get the response, and the
context too when they take ``**kwargs`` (Airflow's convention), so a
check can read ``ti`` or ``params``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from partita.definitions.baseoperator import BaseOperator
from partita.definitions.context import Context
from partita.definitions.sensor_operator import BaseSensorOperator
from partita.exceptions import DefinitionError, PartitaError
from partita.hooks.http import HttpError, HttpHook, check_method

ResponseCheck = Callable[..., Any]


class HttpOperator(BaseOperator):
    """Send ``method`` to ``endpoint`` of connection ``http_conn_id``; the body is the output."""

    template_fields = ("endpoint", "data", "headers")
    ui_color = "#f4a460"

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        method: str = "POST",
        data: Any = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        response_check: ResponseCheck | None = None,
        response_filter: Callable[..., Any] | None = None,
        http_conn_id: str | None = "http_default",
        timeout: float = 30.0,
        retry_limit: int = 3,
        retry_backoff: float = 0.5,
        log_response: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.method = check_method(method, f"task {self.task_id!r}")
        for name, value in (
            ("response_check", response_check),
            ("response_filter", response_filter),
        ):
            if value is not None and not callable(value):
                raise DefinitionError(f"task {self.task_id!r}: {name} must be callable")
        self.endpoint = endpoint
        self.data = data
        self.json = json
        self.headers = dict(headers or {})
        self.response_check = response_check
        self.response_filter = response_filter
        self.http_conn_id = http_conn_id
        self.timeout = timeout
        self.retry_limit = retry_limit
        self.retry_backoff = retry_backoff
        self.log_response = log_response

    def hook(self) -> HttpHook:
        return HttpHook(
            self.method, self.http_conn_id, timeout=self.timeout, retries=self.retry_limit,
            retry_backoff=self.retry_backoff,
        )  # fmt: skip

    def execute(self, context: Context) -> Any:
        hook = self.hook()
        context["log"].info("%s %s", self.method, hook.url_for(self.endpoint))
        response = hook.run(self.endpoint, self.data, self.headers, json=self.json)
        if self.log_response:
            context["log"].info("%s", response.text)
        if self.response_check is not None and not _call(self.response_check, response, context):
            raise PartitaError(
                f"task {self.task_id!r}: response_check returned false for HTTP "
                f"{response.status_code} from {response.request.url}"
            )
        if self.response_filter is not None:
            return _call(self.response_filter, response, context)
        return response.text


SimpleHttpOperator = HttpOperator


class HttpSensor(BaseSensorOperator):
    """Poke ``endpoint`` until ``response_check`` is true (without one: until an answer < 400)."""

    template_fields = ("endpoint", "request_params", "headers")

    def __init__(
        self,
        *,
        endpoint: str,
        http_conn_id: str | None = "http_default",
        method: str = "GET",
        request_params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        response_check: ResponseCheck | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.endpoint = endpoint
        self.http_conn_id = http_conn_id
        self.method = check_method(method, f"task {self.task_id!r}")
        self.request_params = dict(request_params or {})
        self.headers = dict(headers or {})
        self.response_check = response_check

    def poke(self, context: Context) -> bool:
        """One request: True when the condition holds; a 404 is "not yet"."""
        hook = HttpHook(self.method, self.http_conn_id, retries=0)
        response = hook.run(self.endpoint, self.request_params, self.headers, check_response=False)
        if response.status_code == 404:
            return False
        if response.status_code >= 400:
            raise HttpError(
                f"{self.method} {response.request.url} answered HTTP {response.status_code}"
            )
        if self.response_check is None:
            return True
        return bool(_call(self.response_check, response, context))


def _call(function: Callable[..., Any], response: Any, context: Context) -> Any:
    """Call a check or filter with the response, and the context when it takes ``**kwargs``."""
    parameters = inspect.signature(function).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return function(response, **context)
    return function(response)


__all__ = ["HttpOperator", "HttpSensor", "SimpleHttpOperator"]
