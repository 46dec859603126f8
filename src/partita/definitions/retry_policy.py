"""Retry policies (Airflow 3.3's): the exception a try failed with decides what happens next.

A task's ``retry_policy`` is asked, in the process that ran the try, what to
do after a failure: ``RetryAction.RETRY`` retries (after the policy's delay,
or the task's ``retry_delay``), but never beyond the task's ``retries``;
``RetryAction.FAIL`` fails the task at once, whatever retries are left;
``RetryAction.DEFAULT`` leaves the task's own retry settings to decide.
``FailTask`` (``AirflowFailException``) and ``SensorTimeout`` always fail at
once: the policy is not asked for them.

``ExceptionRetryPolicy(rules=[RetryRule(...)], default=RetryAction.DEFAULT)``
is the declarative one: the first rule whose ``exception`` matches decides. A
rule names exception classes or their dotted import paths
(``"requests.exceptions.HTTPError"``, so a DAG file need not import the
library); a path that cannot be imported matches nothing. Subclass
``RetryPolicy`` and implement ``evaluate`` for anything else.
"""

from __future__ import annotations

import abc
import enum
import importlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from partita.exceptions import DefinitionError


class RetryAction(enum.Enum):
    """What happens after a failed try."""

    RETRY = "retry"
    FAIL = "fail"
    DEFAULT = "default"


@dataclass(frozen=True)
class RetryDecision:
    """A policy's answer: the action, a delay for a retry, and why (written to the task log)."""

    action: RetryAction = RetryAction.DEFAULT
    retry_delay: timedelta | None = None
    reason: str | None = None

    @classmethod
    def fail(cls, reason: str | None = None) -> RetryDecision:
        return cls(RetryAction.FAIL, None, reason)

    @classmethod
    def retry(cls, delay: timedelta | None = None, reason: str | None = None) -> RetryDecision:
        return cls(RetryAction.RETRY, delay, reason)

    @classmethod
    def default(cls) -> RetryDecision:
        return cls(RetryAction.DEFAULT)


class RetryPolicy(abc.ABC):
    """Decides what a failure leads to; subclasses implement ``evaluate``."""

    @abc.abstractmethod
    def evaluate(
        self, exception: BaseException, try_number: int, max_tries: int, context: Any = None
    ) -> RetryDecision:
        """The decision for ``exception``, raised by try ``try_number`` of ``max_tries``."""


ExceptionSpec = type[BaseException] | str


@dataclass(frozen=True)
class RetryRule:
    """One rule: when the failure is one of ``exception``, take ``action``."""

    exception: ExceptionSpec | list[ExceptionSpec]
    action: RetryAction = RetryAction.RETRY
    retry_delay: timedelta | None = None
    reason: str | None = None
    match_subclasses: bool = True
    _classes: list[type[BaseException]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        specs = self.exception if isinstance(self.exception, list) else [self.exception]
        for spec in specs:
            is_class = isinstance(spec, type) and issubclass(spec, BaseException)
            if not is_class and not (isinstance(spec, str) and "." in spec):
                raise DefinitionError(
                    f"RetryRule: exception must be an exception class or its dotted import path "
                    f"(such as 'requests.exceptions.HTTPError'), got {spec!r}"
                )
        if not isinstance(self.action, RetryAction):
            raise DefinitionError(f"RetryRule: action must be a RetryAction, got {self.action!r}")
        if self.retry_delay is not None and not isinstance(self.retry_delay, timedelta):
            raise DefinitionError(
                f"RetryRule: retry_delay must be a timedelta, got {self.retry_delay!r}"
            )

    def classes(self) -> list[type[BaseException]]:
        """The exception classes this rule names that can be imported (resolved once)."""
        if not self._classes:
            specs = self.exception if isinstance(self.exception, list) else [self.exception]
            found = [spec if isinstance(spec, type) else _import_class(spec) for spec in specs]
            self._classes.extend(cls for cls in found if cls is not None)
        return self._classes

    def matches(self, exc: BaseException) -> bool:
        classes = self.classes()
        if self.match_subclasses:
            return isinstance(exc, tuple(classes))
        return type(exc) in classes


def _import_class(path: str) -> type[BaseException] | None:
    module_name, _, name = path.rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError):
        return None  # a library this environment lacks: its exceptions cannot happen here
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


class ExceptionRetryPolicy(RetryPolicy):
    """The first rule whose exception matches decides; otherwise ``default``."""

    def __init__(self, rules: list[RetryRule], default: RetryAction = RetryAction.DEFAULT) -> None:
        if not all(isinstance(rule, RetryRule) for rule in rules):
            raise DefinitionError("ExceptionRetryPolicy: rules must be RetryRule(...) values")
        self.rules = list(rules)
        self.default = default

    def evaluate(
        self, exception: BaseException, try_number: int, max_tries: int, context: Any = None
    ) -> RetryDecision:
        for rule in self.rules:
            if rule.matches(exception):
                reason = rule.reason or f"matched the rule for {type(exception).__name__}"
                return RetryDecision(rule.action, rule.retry_delay, reason)
        return RetryDecision(self.default)


__all__ = [
    "ExceptionRetryPolicy",
    "RetryAction",
    "RetryDecision",
    "RetryPolicy",
    "RetryRule",
]
