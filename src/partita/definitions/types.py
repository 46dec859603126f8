"""Type checks at the task boundary: annotations of ``@task`` / ``@asset`` inputs and outputs.

``def add(x: int) -> int`` is checked when it runs: ``x`` must be an ``int``
and so must what it returns. Supported annotations: classes (``isinstance``),
generic aliases by their origin only (``list[int]`` checks ``list``, not each
element: checking every element of a large list would cost more than the
task), ``X | Y`` and ``Optional``, ``Annotated``, pydantic models (validated:
a dict given for a model becomes the model), and ``PartitaType(name,
type_check_fn)`` for custom rules (Dagster's ``DagsterType``). Anything else
(``Any``, type variables, ``Literal``, string annotations that cannot be
resolved) is not checked.

The design decision: what to check is worked out once per function, when the
task is defined (``TypeChecks.of``), into a tuple of small checkers; a
function without annotations gets an empty tuple and pays nothing per run.
"""

from __future__ import annotations

import inspect
import sys
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from pydantic import BaseModel, ValidationError

from partita.exceptions import TypeCheckError


class PartitaType:
    """A named custom type check: ``PartitaType("Even", lambda value: value % 2 == 0)``.

    ``type_check_fn`` takes the value (or ``(context, value)``, as Dagster's
    does) and returns a truthy value when the value passes. Use it as an
    annotation: ``def my_task(abc: Even)``.
    """

    def __init__(
        self,
        name: str | None = None,
        type_check_fn: Callable[..., Any] | None = None,
        *,
        description: str | None = None,
    ) -> None:
        if type_check_fn is None or not callable(type_check_fn):
            raise TypeError(f"PartitaType {name!r}: type_check_fn must be a callable")
        self.name = name or getattr(type_check_fn, "__name__", "PartitaType")
        self.type_check_fn = type_check_fn
        self.description = description
        self._takes_context = _positional_count(type_check_fn) >= 2

    def check(self, value: Any) -> bool:
        """Whether ``value`` passes (an exception in the check counts as a failure)."""
        try:
            ok = (
                self.type_check_fn(None, value)
                if self._takes_context
                else self.type_check_fn(value)
            )
        except Exception:
            return False
        return bool(getattr(ok, "success", ok))

    def __repr__(self) -> str:
        return f"PartitaType({self.name!r})"


def _positional_count(fn: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


#: A class attribute of lazily loaded sequences (a mapped task's outputs) that pass for a list.
LAZY_SEQUENCE_MARK = "__partita_lazy_sequence__"

Checker = Callable[[Any], tuple[bool, Any]]
"""Returns (passed, value to use): the value may be converted (a dict into a pydantic model)."""


@dataclass(frozen=True, slots=True)
class Check:
    """One checked input or output: its checker and the expected type, as people write it."""

    name: str
    expected: str
    run: Checker


def _isinstance_checker(classes: tuple[type, ...]) -> Checker:
    if classes == (float,):
        classes = (float, int)  # PEP 484: an int is acceptable where a float is expected
    elif classes == (complex,):
        classes = (complex, float, int)
    if list in classes or tuple in classes:
        # The outputs of a mapped task arrive as a lazy sequence that stands for a list.
        return lambda value: (
            isinstance(value, classes) or getattr(type(value), LAZY_SEQUENCE_MARK, False),
            value,
        )
    return lambda value: (isinstance(value, classes), value)


def _model_checker(model: type[BaseModel]) -> Checker:
    def check(value: Any) -> tuple[bool, Any]:
        if isinstance(value, model):
            return True, value
        try:
            return True, model.model_validate(value)
        except ValidationError:
            return False, value

    return check


def _partita_type_checker(ptype: PartitaType) -> Checker:
    return lambda value: (ptype.check(value), value)


def _both(first: Checker, second: Checker) -> Checker:
    def check(value: Any) -> tuple[bool, Any]:
        ok, value = first(value)
        return (False, value) if not ok else second(value)

    return check


def _usable_class(cls: Any) -> bool:
    if not isinstance(cls, type):
        return False
    if getattr(cls, "_is_protocol", False) and not getattr(cls, "_is_runtime_protocol", False):
        return False
    try:
        isinstance(None, cls)
    except TypeError:
        return False
    return True


def checker_for(annotation: Any) -> Checker | None:
    """The checker of one annotation, or None when it is not something partita checks."""
    if annotation is inspect.Parameter.empty or annotation is Any or annotation is object:
        return None
    if isinstance(annotation, PartitaType):
        return _partita_type_checker(annotation)
    if annotation is None or annotation is type(None):
        return _isinstance_checker((type(None),))
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *extras = typing.get_args(annotation)
        checks = [c for c in [checker_for(base)] if c is not None]
        checks += [_partita_type_checker(e) for e in extras if isinstance(e, PartitaType)]
        if not checks:
            return None
        combined = checks[0]
        for more in checks[1:]:
            combined = _both(combined, more)
        return combined
    if origin is typing.Union or origin is types.UnionType:
        members = typing.get_args(annotation)
        classes: list[type] = []
        for member in members:
            member_origin = typing.get_origin(member) or member
            if member is None or member is type(None):
                classes.append(type(None))
            elif _usable_class(member_origin) and not _is_model(member_origin):
                classes.append(member_origin)
            else:
                return None  # a union with something we cannot check: check nothing
        return _isinstance_checker(tuple(classes))
    if origin is not None:
        return _isinstance_checker((origin,)) if _usable_class(origin) else None
    if typing.is_typeddict(annotation):
        return _isinstance_checker((dict,))
    supertype = getattr(annotation, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return checker_for(supertype)
    if _is_model(annotation):
        return _model_checker(annotation)
    if _usable_class(annotation):
        return _isinstance_checker((annotation,))
    return None


def _is_model(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, BaseModel)


def describe_annotation(annotation: Any) -> str:
    """The annotation as a person wrote it: ``int``, ``list[int]``, ``Even``."""
    if isinstance(annotation, PartitaType):
        return str(annotation.name)
    if isinstance(annotation, type) and typing.get_origin(annotation) is None:
        return annotation.__qualname__
    return repr(annotation).replace("typing.", "")


def describe_value(value: Any) -> str:
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__qualname__})"


def resolved_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The function's annotations with string annotations resolved where possible.

    Names are looked up in the function's module, then in the frames that are
    defining it (so a class declared in the enclosing function resolves too).
    """
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:
        pass
    local_names = _calling_locals()
    try:
        return typing.get_type_hints(fn, localns=local_names, include_extras=True)
    except Exception:
        pass
    hints: dict[str, Any] = {}
    raw = getattr(fn, "__annotations__", {}) or {}
    namespace = {**getattr(fn, "__globals__", {}), **local_names}
    for name, value in raw.items():
        if isinstance(value, str):
            try:
                value = eval(value, namespace)
            except Exception:
                continue
        hints[name] = value
    return hints


def _calling_locals(depth: int = 12) -> dict[str, Any]:
    """Local names of the frames up the stack, the nearest first (only on the slow path)."""
    found: dict[str, Any] = {}
    frame: FrameType | None = sys._getframe(2)
    while frame is not None and depth > 0:
        for name, value in frame.f_locals.items():
            found.setdefault(name, value)
        frame = frame.f_back
        depth -= 1
    return found


def build_checks(hints: dict[str, Any], names: list[str]) -> tuple[tuple[Check, ...], Check | None]:
    """Checks for the parameters ``names`` and for the return annotation in ``hints``."""
    inputs = []
    for name in names:
        if name in hints:
            run = checker_for(hints[name])
            if run is not None:
                inputs.append(Check(name, describe_annotation(hints[name]), run))
    output = None
    if "return" in hints:
        run = checker_for(hints["return"])
        if run is not None:
            output = Check("return", describe_annotation(hints["return"]), run)
    return tuple(inputs), output


def check_inputs(
    checks: tuple[Check, ...], kwargs: dict[str, Any], where: Callable[[], str]
) -> None:
    """Check (and where a model validates, convert) the arguments in ``kwargs``.

    ``where()`` names the task in the error (called only when a check fails).
    """
    for check in checks:
        if check.name not in kwargs:
            continue
        ok, value = check.run(kwargs[check.name])
        if not ok:
            raise TypeCheckError(
                f"{where()}: input {check.name!r} expected type {check.expected}, got "
                f"{describe_value(kwargs[check.name])}; pass a value of that type or change "
                "the annotation"
            )
        kwargs[check.name] = value


def check_output(check: Check, value: Any, where: Callable[[], str]) -> Any:
    """``value`` if it passes the return check (converted for a model); else ``TypeCheckError``."""
    ok, converted = check.run(value)
    if not ok:
        raise TypeCheckError(
            f"{where()}: output expected type {check.expected}, got {describe_value(value)}; "
            "return a value of that type or change the return annotation"
        )
    return converted


__all__ = [
    "LAZY_SEQUENCE_MARK",
    "Check",
    "PartitaType",
    "TypeCheckError",
    "build_checks",
    "check_inputs",
    "check_output",
    "checker_for",
    "describe_annotation",
    "resolved_hints",
]
