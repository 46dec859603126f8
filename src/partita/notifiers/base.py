"""``BaseNotifier``: a callback object that tells people about a task or a run (Airflow's).

A notifier is passed where a callback goes (``on_failure_callback=
SlackNotifier(...)``, alone or in a list, on a task or a DAG); when called
with the context it renders its ``template_fields`` with Jinja
(``{{ dag.dag_id }}``, ``{{ ti.task_id }}``, ``{{ run_id }}``,
``{{ exception }}``, ``{{ run_url }}``: the run's page under the
``base_url`` setting) and calls ``notify(context)``.

The design decision: a notifier that fails is tried again with exponential
backoff (``retries`` more times, ``retry_delay`` seconds at first, short by
default) and then raises ``NotifierError`` naming every try; the engine's
callback runner logs that in the task's log (or, for a DAG callback, in a
callback error event) and never changes a state because of it. Rendering
works on a copy, so one notifier object serves every task and run.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import jinja2
import jinja2.sandbox

from partita.exceptions import PartitaError
from partita.masking import mask
from partita.settings import load_settings


class NotifierError(PartitaError):
    """A notifier could not deliver its message, after its retries."""


_ENV = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """``value`` with every string in it rendered as a Jinja template with ``context``."""
    if isinstance(value, str):
        return _ENV.from_string(value).render(**context) if "{" in value else value
    if isinstance(value, list | tuple):
        return type(value)(render_value(item, context) for item in value)
    if isinstance(value, dict):
        return {key: render_value(item, context) for key, item in value.items()}
    return value


def run_url(context: Mapping[str, Any]) -> str:
    """The run's page in the UI: ``<base_url>/dags/<dag_id>/runs/<run_id>``."""
    dag = context.get("dag")
    dag_id = getattr(dag, "dag_id", "")
    return f"{load_settings().base_url.rstrip('/')}/dags/{dag_id}/runs/{context.get('run_id', '')}"


class BaseNotifier:
    """Subclasses set ``template_fields`` and implement ``notify(context)``."""

    template_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, retries: int = 2, retry_delay: float = 1.0) -> None:
        if not isinstance(retries, int) or retries < 0:
            raise PartitaError(f"{type(self).__name__}: retries must be an integer >= 0")
        self.retries = retries
        self.retry_delay = float(retry_delay)

    def __repr__(self) -> str:  # how the callback runner names a failing callback
        return type(self).__name__

    def notify(self, context: Mapping[str, Any]) -> None:
        """Deliver the message (the template fields are rendered by then)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement notify()")

    def render(self, context: Mapping[str, Any]) -> BaseNotifier:
        """A copy of this notifier with its template fields rendered with ``context``."""
        rendered = copy.copy(self)
        full = {**context, "run_url": run_url(context)}
        for name in self.template_fields:
            try:
                setattr(rendered, name, render_value(getattr(self, name), full))
            except jinja2.TemplateError as exc:
                raise NotifierError(
                    f"{type(self).__name__}: cannot render {name}: {type(exc).__name__}: {exc}"
                ) from exc
        return rendered

    def __call__(self, context: Mapping[str, Any]) -> None:
        rendered = self.render(context)
        errors: list[str] = []
        for attempt in range(self.retries + 1):
            try:
                rendered.notify(context)
                return
            except Exception as exc:
                errors.append(f"try {attempt + 1}: {type(exc).__name__}: {exc}")
                if attempt < self.retries:
                    time.sleep(self.retry_delay * (2**attempt))
        raise NotifierError(
            mask(f"{type(self).__name__} failed after {len(errors)} tries; " + "; ".join(errors))
        )


__all__ = ["BaseNotifier", "NotifierError", "render_value", "run_url"]
