"""``BashSensor``: pokes by running a bash command; exit code 0 means done.

Any other exit code means "not yet", unless ``retry_exit_code`` is given:
then only that code means "not yet" and any other non-zero code fails the
sensor (Airflow's rules). The command's output goes to the task's log.

The design decision: each poke runs the command through a ``BashOperator``
made for that poke, so process groups, killing on timeout or cancel, and
the environment (``env``, ``append_env``, ``cwd``) are ``BashOperator``'s own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from partita.definitions.context import Context
from partita.definitions.sensor_operator import BaseSensorOperator
from partita.exceptions import DefinitionError, FailTask, SkipTask
from partita.operators.bash import BashCommandError, BashOperator


class BashSensor(BaseSensorOperator):
    """Waits until ``bash_command`` exits with code 0."""

    template_fields: ClassVar[tuple[str, ...]] = ("bash_command", "env", "cwd")
    template_ext: ClassVar[tuple[str, ...]] = (".sh", ".bash")

    def __init__(
        self,
        *,
        bash_command: str,
        env: Mapping[str, str] | None = None,
        append_env: bool = False,
        cwd: str | None = None,
        output_encoding: str = "utf-8",
        retry_exit_code: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(bash_command, str) or not bash_command.strip():
            raise DefinitionError(f"{self._where()}: bash_command must be a non-empty string")
        self.bash_command = bash_command
        self.env = dict(env) if env is not None else None
        self.append_env = append_env
        self.cwd = cwd
        self.output_encoding = output_encoding
        self.retry_exit_code = retry_exit_code
        self._runner: BashOperator | None = None

    def poke(self, context: Context) -> bool:
        self._runner = BashOperator(
            task_id=self.task_id, bash_command=self.bash_command, env=self.env,
            append_env=self.append_env, cwd=self.cwd, output_encoding=self.output_encoding,
            skip_on_exit_code=None, do_xcom_push=False,
        )  # fmt: skip
        try:
            self._runner.execute(context)
        except (BashCommandError, SkipTask) as exc:
            if self.retry_exit_code is None:
                return False
            code = self._runner.returncode
            if code == self.retry_exit_code:
                return False
            raise FailTask(f"bash sensor command exited with code {code}: {exc}") from None
        finally:
            self._runner = None
        return True

    def on_kill(self) -> None:
        if self._runner is not None:
            self._runner.on_kill()


__all__ = ["BashSensor"]
