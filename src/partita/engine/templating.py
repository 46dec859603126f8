"""Jinja2 rendering of a task's ``template_fields``, just before the task instance executes.

As in Airflow: each name in ``task.template_fields`` is rendered with the
task's context (``{{ ds }}``, ``{{ params.x }}``, ``{{ ti.xcom_pull(...) }}``,
``{{ macros.ds_add(ds, 7) }}``...), recursively through lists, tuples, sets,
dict values and objects that declare their own ``template_fields``. A string
ending with one of the task's ``template_ext`` (``.sh``, ``.sql``...) names a
template file, looked up in the DAG file's folder and then in the DAG's
``template_searchpath``. Undefined names are errors (``StrictUndefined``,
Airflow's default); templates always render in a sandbox (no ``__class__``,
``__globals__`` or other internals), also when the DAG (or the task) sets
``render_template_as_native_obj=True`` and the sandbox renders native objects
as Jinja's ``NativeEnvironment`` does. A failure raises
``TemplateRenderError`` naming the task, the field, the template and the line.

The design decision: rendering never changes the task object the DAG holds,
because an in-process run reuses it across runs, tries and map indexes.
``render_task`` returns the task itself when nothing needed rendering (the
common, fast case: no markup anywhere) and otherwise a shallow copy carrying
the rendered values, which the runner executes in its place. A string with no
Jinja markup is not compiled, but comes out as Jinja (so Airflow) would give
it: line endings made ``\n`` and one trailing newline dropped
(``as_jinja_renders``); in native mode, where Airflow turns ``"123"`` into
``123``, it goes through Jinja like any template.
"""

from __future__ import annotations

import copy
import functools
import re
import threading
import traceback
import weakref
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import jinja2
import jinja2.nativetypes
import jinja2.sandbox

from partita.definitions.baseoperator import REFS_MARK, BaseOperator
from partita.definitions.context import DERIVED_KEYS
from partita.definitions.dag import DAG
from partita.definitions.dependencies import DependencyMixin
from partita.definitions.xcom_arg import DagParam, XComArg
from partita.exceptions import PartitaError, TaskSignal

_MARKERS = ("{{", "{%", "{#")
#: What Jinja's lexer takes for a line ending (each becomes ``\n``).
_NEWLINE = re.compile(r"\r\n|\r|\n")
_INLINE = "<template>"


class TemplateRenderError(PartitaError):
    """A template field of a task could not be rendered (syntax, undefined name, missing file)."""

    def __init__(self, message: str, *, field: str, template: str | None, line: int | None) -> None:
        super().__init__(message)
        self.field = field
        self.template = template
        self.line = line


# -- filters (Airflow's names) ------------------------------------------------------------
def _ds(value: date | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d")


def _ds_nodash(value: date | None) -> str | None:
    return None if value is None else value.strftime("%Y%m%d")


def _ts(value: date | time | None) -> str | None:
    return None if value is None else value.isoformat()


def _ts_nodash(value: date | None) -> str | None:
    return None if value is None else value.strftime("%Y%m%dT%H%M%S")


def _ts_nodash_with_tz(value: date | time | None) -> str | None:
    return None if value is None else value.isoformat().replace("-", "").replace(":", "")


FILTERS: dict[str, Callable[..., Any]] = {
    "ds": _ds,
    "ds_nodash": _ds_nodash,
    "ts": _ts,
    "ts_nodash": _ts_nodash,
    "ts_nodash_with_tz": _ts_nodash_with_tz,
}


class _SandboxedEnvironment(jinja2.sandbox.SandboxedEnvironment):
    """The sandbox, but attributes with one leading underscore stay readable (as in Airflow)."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return not jinja2.sandbox.is_internal_attribute(obj, attr) and not attr.startswith("__")


class _SandboxedNativeEnvironment(_SandboxedEnvironment, jinja2.nativetypes.NativeEnvironment):
    """The same sandbox, rendering to native Python objects (``render_template_as_native_obj``).

    The sandbox's checks live in its attribute and call hooks, the native behaviour in
    the code generator and ``concat``; the two do not overlap, so one class has both.
    """


class TemplateEnvironment:
    """A Jinja environment for one DAG, with a cache of compiled inline templates."""

    def __init__(self, dag: DAG | None, native: bool) -> None:
        options: dict[str, Any] = {
            "undefined": jinja2.StrictUndefined,
            "extensions": ["jinja2.ext.do"],
            "loader": jinja2.FileSystemLoader(template_searchpath(dag)),
        }
        env_class = _SandboxedNativeEnvironment if native else _SandboxedEnvironment
        self.env: jinja2.Environment = env_class(**options)
        self.env.filters.update(FILTERS)
        if dag is not None:
            self.env.globals.update(dag.user_defined_macros)
            self.env.filters.update(dag.user_defined_filters)
        self.native = native
        self.from_string: Callable[[str], jinja2.Template] = functools.lru_cache(maxsize=512)(
            self.env.from_string
        )


def template_searchpath(dag: DAG | None) -> list[str]:
    """Where template files are looked for: the DAG file's folder, then its template_searchpath."""
    paths: list[str] = []
    if dag is not None and dag.fileloc:
        folder = Path(dag.fileloc).parent
        if folder.is_dir():
            paths.append(str(folder))
    if dag is not None:
        paths.extend(str(p) for p in dag.template_searchpath)
    return paths


_environments: weakref.WeakKeyDictionary[DAG, dict[bool, TemplateEnvironment]] = (
    weakref.WeakKeyDictionary()
)
_no_dag_environments: dict[bool, TemplateEnvironment] = {}
_lock = threading.Lock()


def template_environment(dag: DAG | None, native: bool) -> TemplateEnvironment:
    """The environment of ``dag`` (built once per DAG object and mode, then reused)."""
    with _lock:
        per_dag = _no_dag_environments if dag is None else _environments.setdefault(dag, {})
        env = per_dag.get(native)
        if env is None:
            env = per_dag[native] = TemplateEnvironment(dag, native)
        return env


_ABSENT: Any = object()
#: Set on a task whose template fields hold no template, so later runs skip the scan.
PLAIN_MARK = "_partita_no_templates"


def render_task(task: BaseOperator, context: Mapping[str, Any]) -> BaseOperator:
    """``task``, or a shallow copy of it with its template fields rendered for ``context``."""
    if not task.template_fields or task.__dict__.get(PLAIN_MARK):
        return task
    if (
        not getattr(task, "render_template_as_native_obj", None)
        and not (task.dag is not None and task.dag.render_template_as_native_obj)
        and not task.__dict__.get(REFS_MARK)
    ):
        exts = tuple(task.template_ext)
        for name in task.template_fields:  # a loop, not any(): this runs once per instance
            if _may_hold_template(getattr(task, name, _ABSENT), exts):
                break
        else:
            # The common case: nothing to render, so no copy and no Jinja. Remember it on
            # the task; a copy that changes field values (a mapped instance) drops the mark.
            task.__dict__[PLAIN_MARK] = True
            return task
    renderer = _Renderer(task, context)
    rendered: dict[str, Any] = {}
    for name in task.template_fields:
        try:
            value = getattr(task, name)
        except AttributeError:
            raise TemplateRenderError(
                f"{_where(task)}: template field {name!r} is listed in template_fields of "
                f"{type(task).__name__} but the task has no attribute {name!r}; set it in "
                "__init__ or remove it from template_fields",
                field=name, template=None, line=None,
            ) from None  # fmt: skip
        new = renderer.render(value, name)
        if new is not value:
            rendered[name] = new
    if not rendered:
        return task
    task_copy = copy.copy(task)
    for name, new in rendered.items():
        setattr(task_copy, name, new)
    return task_copy


def render_value(task: BaseOperator, value: Any, context: Mapping[str, Any]) -> Any:
    """``value`` rendered as one of ``task``'s template fields would be (``render_template``)."""
    return _Renderer(task, context).render(value, "render_template")


def as_jinja_renders(text: str) -> str:
    """A string without Jinja markup as Jinja renders it (and Airflow, which renders every one).

    Jinja's lexer turns each line ending (``\r\n``, ``\r``) into ``\n`` and, with
    ``keep_trailing_newline`` off (Jinja's default and Airflow's), drops one
    trailing line ending. Nothing else changes. Returns ``text`` itself when
    nothing changes.
    """
    if "\r" not in text and not text.endswith("\n"):
        return text
    lines = _NEWLINE.split(text)
    if lines[-1] == "":
        lines.pop()
    rendered = "\n".join(lines)
    return text if rendered == text else rendered


#: Values no rendering changes, by exact type (the scan's fast path).
_SCALARS = frozenset({int, float, bool, bytes, type(None)})
_COLLECTIONS = (list, tuple, set, frozenset)


def _may_hold_template(value: Any, exts: tuple[str, ...]) -> bool:
    """A quick scan: could rendering change this value? (False means certainly not.)"""
    kind = type(value)
    if kind in _SCALARS:
        return False
    if kind is dict:
        items: Any = value.values()
    elif kind is list or kind is tuple:
        items = value
    elif isinstance(value, str):
        return (
            "{{" in value
            or "{%" in value
            or "{#" in value
            or value.endswith("\n")
            or "\r" in value
            or (bool(exts) and value.endswith(exts))
        )
    elif value is _ABSENT:
        return True  # let the full render report the missing attribute
    elif isinstance(value, (int, float, bool, bytes)):
        return False
    elif isinstance(value, _COLLECTIONS):
        items = value
    elif isinstance(value, dict):
        items = value.values()
    else:
        return bool(getattr(value, "template_fields", None))
    for item in items:  # noqa: SIM110 -- a loop: any() costs a generator per value
        if type(item) not in _SCALARS and _may_hold_template(item, exts):
            return True
    return False


def _with_derived(context: Mapping[str, Any]) -> Mapping[str, Any]:
    """``context`` plus the values computed on demand (``DERIVED_KEYS``), once per render.

    ``task_instance_key_str`` is Airflow's ``{dag_id}__{task_id}__{ds_nodash}``.
    """
    try:
        derived = {k: derive(context) for k, derive in DERIVED_KEYS.items() if k not in context}
    except (KeyError, AttributeError):  # a partial context (a preview): nothing derived
        return context
    return {**context, **derived} if derived else context


def _where(task: BaseOperator) -> str:
    if task.dag is not None:
        return f"{task.dag.label}: task {task.task_id!r}"
    return f"task {task.task_id!r}"


class _Renderer:
    """Renders the values of one task's fields; returns the very same object when unchanged."""

    def __init__(self, task: BaseOperator, context: Mapping[str, Any]) -> None:
        self.task = task
        self.context = _with_derived(context)
        native = getattr(task, "render_template_as_native_obj", None)
        if native is None:
            native = task.dag.render_template_as_native_obj if task.dag is not None else False
        self.native = bool(native)
        self.template_ext = tuple(task.template_ext)
        self._env: TemplateEnvironment | None = None
        self._seen: set[int] = set()
        #: Whether task outputs (``XComArg``) in the fields are read here (see ``REFS_MARK``).
        self.pulls_refs = bool(task.__dict__.get(REFS_MARK))

    @property
    def env(self) -> TemplateEnvironment:
        if self._env is None:
            self._env = template_environment(self.task.dag, self.native)
        return self._env

    def render(self, value: Any, path: str) -> Any:
        if isinstance(value, str):
            return self._string(value, path)
        if value is None or isinstance(value, (int, float, bool, bytes, datetime, date)):
            return value
        if isinstance(value, XComArg) and self.pulls_refs:  # another task's output, read now
            return self._pull(value)
        if isinstance(value, (DependencyMixin, DagParam, type)) or callable(value):
            return value  # task outputs, operators, classes and functions are never templates
        if isinstance(value, list):
            items = [self.render(v, f"{path}[{i}]") for i, v in enumerate(value)]
            return value if all(a is b for a, b in zip(items, value, strict=True)) else items
        if isinstance(value, tuple):
            items = [self.render(v, f"{path}[{i}]") for i, v in enumerate(value)]
            if all(a is b for a, b in zip(items, value, strict=True)):
                return value
            return tuple(items) if type(value) is tuple else type(value)(*items)
        if isinstance(value, dict):
            rendered = {k: self.render(v, f"{path}[{k!r}]") for k, v in value.items()}
            same = all(rendered[k] is v for k, v in value.items())
            return value if same else rendered
        if isinstance(value, (set, frozenset)):
            members = [(v, self.render(v, f"{path}{{...}}")) for v in value]
            return value if all(a is b for a, b in members) else type(value)(b for _, b in members)
        return self._nested(value, path)

    def _pull(self, ref: XComArg) -> Any:
        ti = self.context.get("ti")
        if ti is None:
            raise TemplateRenderError(
                f"{_where(self.task)}: a template field holds the output of "
                f"{ref.operators()[0].task_id!r}, which can be read only while a task instance "
                "runs (no 'ti' in the context)",
                field="", template=None, line=None,
            )  # fmt: skip
        return ref.resolve(lambda task_id, key: ti.xcom_pull(task_ids=task_id, key=key))

    def _nested(self, value: Any, path: str) -> Any:
        """An object with its own ``template_fields``: a rendered copy of it."""
        fields = getattr(value, "template_fields", None)
        if not fields or id(value) in self._seen:
            return value
        self._seen.add(id(value))
        changes = {}
        for name in fields:
            old = getattr(value, name, None)
            new = self.render(old, f"{path}.{name}")
            if new is not old:
                changes[name] = new
        if not changes:
            return value
        value_copy = copy.copy(value)
        for name, new in changes.items():
            setattr(value_copy, name, new)
        return value_copy

    def _string(self, text: str, path: str) -> Any:
        env = self.env if self.native else None
        if self.template_ext and text.endswith(self.template_ext):
            template = self._file_template(text, path)
        elif env is not None or any(marker in text for marker in _MARKERS):
            template = self._inline_template(text, path)
        else:
            return as_jinja_renders(text)
        try:
            return template.render(self.context)
        except TaskSignal:
            raise
        except Exception as exc:
            raise self._error(path, template, text, exc) from exc

    def _file_template(self, name: str, path: str) -> jinja2.Template:
        try:
            return self.env.env.get_template(name)
        except jinja2.TemplateNotFound as exc:
            searched = template_searchpath(self.task.dag)
            raise TemplateRenderError(
                f"{_where(self.task)}: template field {path!r}: template file {name!r} was not "
                f"found (looked in {', '.join(searched) or 'no folder'}); put it next to the DAG "
                "file or add its folder to the DAG's template_searchpath",
                field=path, template=name, line=None,
            ) from exc  # fmt: skip
        except jinja2.TemplateSyntaxError as exc:
            raise self._syntax_error(path, name, exc) from exc

    def _inline_template(self, text: str, path: str) -> jinja2.Template:
        try:
            return self.env.from_string(text)
        except jinja2.TemplateSyntaxError as exc:
            raise self._syntax_error(path, None, exc) from exc

    def _syntax_error(
        self, path: str, name: str | None, exc: jinja2.TemplateSyntaxError
    ) -> TemplateRenderError:
        template = exc.name or name
        source_line = _source_line(exc.source, exc.lineno)
        return TemplateRenderError(
            f"{_where(self.task)}: template field {path!r} ({_describe(template, exc.lineno)}"
            f"{source_line}): syntax error: {exc.message}",
            field=path, template=template, line=exc.lineno,
        )  # fmt: skip

    def _error(
        self, path: str, template: jinja2.Template, text: str, exc: Exception
    ) -> TemplateRenderError:
        """A failure while rendering; the line is the template's frame in the traceback."""
        filename = template.filename or _INLINE
        line = None
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename == filename:
                line = frame.lineno
        name = template.name
        source: str | None = text
        if name is not None and template.filename:
            try:
                source = Path(template.filename).read_text()
            except OSError:
                source = None
        return TemplateRenderError(
            f"{_where(self.task)}: template field {path!r} ({_describe(name, line)}"
            f"{_source_line(source, line)}): {type(exc).__name__}: {exc}",
            field=path, template=name, line=line,
        )  # fmt: skip


def _describe(template: str | None, line: int | None) -> str:
    what = f"template file {template!r}" if template else "inline template"
    return what if line is None else f"{what}, line {line}"


def _source_line(source: str | None, line: int | None) -> str:
    if not source or not line:
        return ""
    lines = source.splitlines()
    if 0 < line <= len(lines):
        return f": {lines[line - 1].strip()!r}"
    return ""


__all__ = [
    "FILTERS",
    "TemplateEnvironment",
    "TemplateRenderError",
    "as_jinja_renders",
    "render_task",
    "render_value",
    "template_environment",
    "template_searchpath",
]
