"""The scheduler: the daemon that parses DAG files, creates scheduled runs and drives the run queue.

It is a loop over small services, each with ``run_once(now)`` (tests call
them directly with a clock of their own): ``DagFileProcessor`` (DAG files
into the registry), ``ScheduleTicker`` (due DAGs into queued runs),
``RunStarter`` (queued runs started within the limits) and
``RunSupervisor`` (running runs stepped, timed out, adopted after a crash).
``Scheduler`` composes them. This layer sits above executors and below the
server and the CLI.
"""

from __future__ import annotations
