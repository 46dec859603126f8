"""``email_on_failure`` / ``email_on_retry``: the callbacks a task's ``email`` argument adds.

The design decision: the definitions layer only says *that* an email goes
out (``email_callbacks``); the notifier that sends it lives beside the
engine (``notifiers/smtp.py``) and is registered for ``EMAIL_ALERT`` by
``partita.bootstrap``, so no definition imports SMTP code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from partita.definitions.extensions import ExtensionPoint

if TYPE_CHECKING:
    from partita.definitions.baseoperator import BaseOperator

#: Makes the callback that emails the given addresses about a failed (or retried) try.
EMAIL_ALERT: ExtensionPoint[Callable[[str | Sequence[str]], Callable[..., Any]]] = ExtensionPoint(
    "the email alert of email_on_failure"
)


def email_callbacks(task: BaseOperator, event: str) -> tuple[Callable[..., Any], ...]:
    """The email callback of ``task`` for ``event`` ("failure" or "retry"), if it asks for one."""
    email = getattr(task, "email", None)  # None on a task object made without __init__
    wanted = getattr(task, f"email_on_{event}", False)
    if not email or not wanted:
        return ()
    return (EMAIL_ALERT.get()(email),)


__all__ = ["EMAIL_ALERT", "email_callbacks"]
