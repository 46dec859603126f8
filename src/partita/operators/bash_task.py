"""``@task.bash``: a TaskFlow function returns a bash command, which runs like ``BashOperator``.

The function gets its arguments as any ``@task`` does (other tasks'
outputs, the context), so the command can be built from data; the task's
output is the command's last line of output, and exit code 99 skips.

The design decision: the command runs through a ``BashOperator`` made for
this one try, so process groups, timeouts, cancelling and skip codes are
``BashOperator``'s own and not written twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from partita.definitions import authoring
from partita.definitions.context import Context
from partita.definitions.xcom_arg import XComArg, find_refs
from partita.exceptions import PartitaError
from partita.operators.bash import BashOperator
from partita.operators.python import DecoratedPythonOperator, PythonOperator


class DecoratedBashOperator(DecoratedPythonOperator):
    """The operator of ``@task.bash``: call the function, run what it returns with bash."""

    ui_color = BashOperator.ui_color

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        append_env: bool = False,
        cwd: str | None = None,
        skip_on_exit_code: int | Iterable[int] | None = 99,
        output_encoding: str = "utf-8",
        output_processor: Callable[[str], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bash_options: dict[str, Any] = {
            "env": env, "append_env": append_env, "cwd": cwd,
            "skip_on_exit_code": skip_on_exit_code, "output_encoding": output_encoding,
            "output_processor": output_processor,
        }  # fmt: skip
        self._runner: BashOperator | None = None
        # Other tasks' outputs in env (Airflow's multiple-outputs idiom): depend on those
        # tasks now, read the values when the command runs.
        refs = [ref for ref in find_refs(env) if isinstance(ref, XComArg)]
        self.env_has_refs = bool(refs)
        if refs and not authoring.is_building_instance():
            for ref in refs:
                self.set_upstream(ref.operators())

    def execute(self, context: Context) -> Any:
        for condition in self.run_conditions:
            condition.check(context)
        command = PythonOperator.execute(self, context)
        if not isinstance(command, str) or not command.strip():
            raise PartitaError(
                f"@task.bash {self.task_id!r} must return the bash command as a non-empty "
                f"string; it returned {command!r}"
            )
        options = dict(self.bash_options)
        if self.env_has_refs:
            options["env"] = self.read_refs(context)(options["env"])
        self._runner = BashOperator(
            task_id=self.task_id, bash_command=command, do_xcom_push=self.do_xcom_push, **options
        )
        return self._runner.execute(context)

    def on_kill(self) -> None:
        if self._runner is not None:
            self._runner.on_kill()


__all__ = ["DecoratedBashOperator"]
