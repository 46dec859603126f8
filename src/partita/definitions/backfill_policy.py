"""``BackfillPolicy``: how many partitions of an asset one backfill run covers.

``@asset(partitions_def=daily, backfill_policy=BackfillPolicy.single_run())``
makes ``partita backfill create PATH --assets SEL --partitions A...B`` one
run over the whole range; ``BackfillPolicy.multi_run(max_partitions_per_run=N)``
runs of at most N consecutive partitions. Without a policy a backfill makes
one run per partition (``multi_run(1)``), as Dagster does.

The design decision: a range run is an ordinary run of the location's
partitioned-asset job whose partition key is the range itself,
``FIRST...LAST`` (``partition_range``'s separator): the run record, its id,
the backfill's existing-run lookup and the UI all name the range, and the
run's tasks see ``context.partition_key_range`` / ``partition_keys`` /
``partition_time_window`` spanning it (``engine.partition_context``).
"""

from __future__ import annotations

from partita.exceptions import DefinitionError


class BackfillPolicy:
    """How a backfill splits a range of partitions into runs (``max_partitions_per_run``)."""

    __slots__ = ("max_partitions_per_run",)

    def __init__(self, max_partitions_per_run: int | None) -> None:
        if max_partitions_per_run is not None and (
            isinstance(max_partitions_per_run, bool)
            or not isinstance(max_partitions_per_run, int)
            or max_partitions_per_run < 1
        ):
            raise DefinitionError(
                "BackfillPolicy.multi_run: max_partitions_per_run must be a whole number of at "
                f"least 1, got {max_partitions_per_run!r}; use BackfillPolicy.single_run() for "
                "one run over the whole range"
            )
        #: The most partitions one run covers (None: all of the range, one run).
        self.max_partitions_per_run = max_partitions_per_run

    @classmethod
    def single_run(cls) -> BackfillPolicy:
        """One run over the whole range of a backfill."""
        return cls(None)

    @classmethod
    def multi_run(cls, max_partitions_per_run: int = 1) -> BackfillPolicy:
        """Runs of at most ``max_partitions_per_run`` consecutive partitions each."""
        return cls(max_partitions_per_run)

    @property
    def policy_type(self) -> str:
        """``"single_run"`` or ``"multi_run"`` (Dagster's ``BackfillPolicyType`` values)."""
        return "single_run" if self.max_partitions_per_run is None else "multi_run"

    def chunks(self, keys: list[str]) -> list[list[str]]:
        """``keys`` (in order) split into the runs this policy makes."""
        size = self.max_partitions_per_run or max(len(keys), 1)
        return [keys[at : at + size] for at in range(0, len(keys), size)]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BackfillPolicy):
            return NotImplemented
        return self.max_partitions_per_run == other.max_partitions_per_run

    def __hash__(self) -> int:
        return hash(self.max_partitions_per_run)

    def __repr__(self) -> str:
        if self.max_partitions_per_run is None:
            return "BackfillPolicy.single_run()"
        return f"BackfillPolicy.multi_run(max_partitions_per_run={self.max_partitions_per_run})"


__all__ = ["BackfillPolicy"]
