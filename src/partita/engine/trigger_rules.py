"""Trigger rules as one pure function: upstream counts in, a decision out.

The semantics are Airflow 3's, with one design decision of partita's own: a
decision is given only once no unfinished upstream can change it, so a
task's state never depends on the order in which its upstreams finish.
Eager decisions that cannot change stay eager: an ``all_success`` task
becomes ``upstream_failed`` as soon as one upstream fails (a failure wins
over any later skip), ``one_success`` runs as soon as one upstream
succeeds. But ``all_success`` with a skipped upstream waits for the others:
a later failure makes it ``upstream_failed`` (Airflow skips at once, so its
result depends on timing). Once every upstream is finished, every rule gives
a decision other than ``WAIT``, so a run can never stall on a trigger rule.

``all_done_min_one_success``: runs when all upstreams are done and at least
one succeeded; when none succeeded it is ``upstream_failed`` if one failed,
else skipped. Skipped upstreams count as done (Airflow's documentation; its
code skips the task instead, apache/airflow#59925).

``all_done_setup_success`` (a teardown's rule): runs once all upstreams are
done; whether one of its *setups* succeeded is the state machine's check
(``setup_decision``), since these counts do not tell setups apart.
"""

from __future__ import annotations

from enum import IntEnum

from partita.definitions.states import TriggerRule


class Decision(IntEnum):
    """What to do with a task instance whose upstream counts changed."""

    WAIT = 0
    RUN = 1
    SKIP = 2
    UPSTREAM_FAILED = 3


WAIT, RUN, SKIP, UPSTREAM_FAILED = (
    Decision.WAIT,
    Decision.RUN,
    Decision.SKIP,
    Decision.UPSTREAM_FAILED,
)


def decide(
    rule: TriggerRule, total: int, success: int, skipped: int, failed: int, upstream_failed: int
) -> Decision:
    """The decision for a task with ``total`` direct upstreams, given how many ended how.

    ``failed`` counts upstreams in state failed; ``upstream_failed`` those in
    state upstream_failed. Upstreams not yet finished are ``total`` minus the sum.
    """
    done = success + skipped + failed + upstream_failed
    all_done = done >= total
    any_failed = failed or upstream_failed
    if rule is TriggerRule.ALL_SUCCESS:
        if any_failed:
            return UPSTREAM_FAILED
        if not all_done:
            return WAIT  # a skip now could still become upstream_failed
        return SKIP if skipped else RUN
    if rule is TriggerRule.NONE_FAILED:
        if any_failed:
            return UPSTREAM_FAILED
        return RUN if all_done else WAIT
    if rule is TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS:
        if any_failed:
            return UPSTREAM_FAILED
        if skipped >= total:
            return SKIP
        if not all_done:
            return WAIT
        return RUN if success else SKIP
    if rule is TriggerRule.ALL_DONE:
        return RUN if all_done else WAIT
    if rule is TriggerRule.ALL_DONE_MIN_ONE_SUCCESS:
        if not all_done:
            return WAIT
        if success:
            return RUN
        return UPSTREAM_FAILED if any_failed else SKIP
    if rule is TriggerRule.ONE_SUCCESS:
        if success:
            return RUN
        if not all_done:
            return WAIT
        return SKIP if skipped >= done else UPSTREAM_FAILED
    if rule is TriggerRule.ONE_FAILED:
        if any_failed:
            return RUN
        return SKIP if all_done else WAIT
    if rule is TriggerRule.ONE_DONE:
        if success or failed:
            return RUN
        return SKIP if all_done else WAIT
    if rule is TriggerRule.ALL_FAILED:
        if success or skipped:
            return SKIP
        return RUN if all_done else WAIT
    if rule is TriggerRule.ALL_SKIPPED:
        if success or any_failed:
            return SKIP
        return RUN if all_done else WAIT
    if rule is TriggerRule.NONE_SKIPPED:
        if skipped:
            return SKIP
        return RUN if all_done else WAIT
    if rule is TriggerRule.ALWAYS:
        return RUN
    if rule is TriggerRule.ALL_DONE_SETUP_SUCCESS:
        return RUN if all_done else WAIT
    raise ValueError(f"unknown trigger rule {rule!r}")


def setup_decision(setups: int, setup_success: int, setup_skipped: int) -> Decision:
    """``all_done_setup_success`` once all upstreams are done, from its setups' ends.

    No setup upstream, or one that succeeded: run. Every setup skipped: skip.
    Otherwise (none succeeded, one failed): ``upstream_failed``. As Airflow.
    """
    if not setups or setup_success:
        return RUN
    return SKIP if setup_skipped >= setups else UPSTREAM_FAILED


__all__ = ["Decision", "decide", "setup_decision"]
