"""``BashOperator``: runs a bash command; exit 0 succeeds, 99 skips, anything else fails.

The command runs in its own process group, so a timeout or a cancel stops it
and everything it started; if partita itself is killed (even with ``kill -9``)
the group is killed too (``process_groups``: a parent-death signal and a
reaper process). stdout and stderr are merged and every line goes
to the task's log as it arrives; the last line is the task's output, passed
through ``output_processor`` when one is given (Airflow's ``json.loads`` idiom).
``bash_command`` (or a value in ``env``) may be another task's output
(``XComArg``): the task then depends on that task and reads it before running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from partita.definitions.baseoperator import BaseOperator
from partita.definitions.context import Context
from partita.definitions.xcom_arg import XComArg
from partita.exceptions import DefinitionError, PartitaError, SkipTask
from partita.operators.process_groups import reaper


class BashCommandError(PartitaError):
    """The bash command exited with a code that is neither 0 nor a skip code."""


class BashOperator(BaseOperator):
    """Run ``bash_command`` with ``bash -c``."""

    template_fields = ("bash_command", "env", "cwd")
    template_ext = (".sh", ".bash")
    ui_color = "#f0ede4"

    def __init__(
        self,
        *,
        bash_command: str | XComArg,
        env: Mapping[str, Any] | None = None,
        append_env: bool = False,
        cwd: str | None = None,
        skip_on_exit_code: int | Iterable[int] | None = 99,
        output_encoding: str = "utf-8",
        output_processor: Callable[[str], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(bash_command, XComArg) and (
            not isinstance(bash_command, str) or not bash_command.strip()
        ):
            raise DefinitionError(
                f"{self._where()}: bash_command must be a non-empty string "
                "(or another task's output)"
            )
        if output_processor is not None and not callable(output_processor):
            raise DefinitionError(
                f"{self._where()}: output_processor must be a function of the output's last "
                f"line (such as json.loads), got {output_processor!r}"
            )
        self.output_processor = output_processor
        self.bash_command: Any = bash_command
        self.env = dict(env) if env is not None else None
        self.append_env = append_env
        self.cwd = cwd
        if skip_on_exit_code is None:
            self.skip_on_exit_code: tuple[int, ...] = ()
        elif isinstance(skip_on_exit_code, int):
            self.skip_on_exit_code = (skip_on_exit_code,)
        else:
            self.skip_on_exit_code = tuple(skip_on_exit_code)
        self.output_encoding = output_encoding
        self._process: subprocess.Popen[bytes] | None = None
        #: The exit code of the last command run (None before it ran).
        self.returncode: int | None = None

    def _environment(self, context: Context) -> dict[str, str]:
        if self.env is None:
            env = dict(os.environ)
        elif self.append_env:
            env = {**os.environ, **{k: str(v) for k, v in self.env.items()}}
        else:
            env = {k: str(v) for k, v in self.env.items()}
        ti = context.get("ti")
        env["PARTITA_CTX_DAG_ID"] = str(getattr(context.get("dag"), "dag_id", ""))
        env["PARTITA_CTX_TASK_ID"] = self.task_id
        env["PARTITA_CTX_RUN_ID"] = str(context.get("run_id", ""))
        env["PARTITA_CTX_LOGICAL_DATE"] = str(context.get("ts", ""))
        env["PARTITA_CTX_TRY_NUMBER"] = str(getattr(ti, "try_number", ""))
        return env

    def execute(self, context: Context) -> Any:
        if self.cwd is not None and not Path(self.cwd).is_dir():
            raise PartitaError(f"cwd {self.cwd!r} of task {self.task_id!r} is not a directory")
        if not isinstance(self.bash_command, str) or not self.bash_command.strip():
            raise PartitaError(
                f"task {self.task_id!r}: bash_command must be a non-empty string; it came out "
                f"as {self.bash_command!r}"
            )
        log = context["log"]
        log.info("running command: %s", self.bash_command)
        last_line = ""
        process = subprocess.Popen(
            ["bash", "-c", self.bash_command],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self._environment(context),
            cwd=self.cwd,
            start_new_session=True,
            preexec_fn=reaper.child_setup(),
        )
        self._process = process
        reaper.watch(process.pid)
        try:
            for raw in process.stdout or ():
                line = raw.decode(self.output_encoding, errors="replace").rstrip("\n")
                last_line = line
                log.info("%s", line)
            code = self.returncode = process.wait()
        finally:
            self._kill()
        log.info("command exited with return code %d", code)
        if code in self.skip_on_exit_code:
            raise SkipTask(f"bash command exited with code {code}; the task is skipped")
        if code != 0:
            raise BashCommandError(
                f"bash command failed: it exited with code {code} (0 succeeds, "
                f"{', '.join(map(str, self.skip_on_exit_code)) or 'none'} skips)"
            )
        if not self.do_xcom_push:
            return None
        if self.output_processor is not None:
            return self.output_processor(last_line)
        return last_line

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reaper.forget(process.pid)
        if process.stdout is not None:
            process.stdout.close()

    def on_kill(self) -> None:
        self._kill()


__all__ = ["BashCommandError", "BashOperator"]
