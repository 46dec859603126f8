"""A TaskFlow ETL (the flagship example): extract orders, split them, transform in a group, load.

``partita run examples/dags etl`` runs it on the embedded SQLite database.
It shows ``@dag`` and ``@task``, ``multiple_outputs`` (``split`` returns two
named outputs), a ``@task_group`` (``transform``), retries and an
``execution_timeout``, and a trigger rule (``audit`` runs whatever happened
upstream). The orders are generated from the run's logical date, so a run
is repeatable; ``--conf '{"orders": 500}'`` changes how many there are.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from partita import dag, get_current_context, task, task_group

REGIONS = ("north", "south", "east", "west")
PRICES = {"widget": 2.50, "gadget": 12.00, "gizmo": 7.25}
EUR_PER_USD = 0.92


@dag(
    schedule="@daily",
    start_date=datetime(2025, 1, 1),
    tags=["example", "taskflow"],
    default_args={"retry_delay": timedelta(seconds=1)},  # for every task that retries
)
def etl(orders: int = 200) -> None:
    """Daily sales report: orders in, revenue per region out."""

    @task(retries=2, execution_timeout=timedelta(seconds=30))
    def extract(count: int) -> list[dict[str, Any]]:
        context = get_current_context()
        rng = random.Random(context["ds"])
        rows = []
        for n in range(count):
            rows.append(
                {
                    "order_id": n + 1,
                    "region": rng.choice(REGIONS),
                    "product": rng.choice(sorted(PRICES)),
                    "quantity": rng.randint(-1, 9),  # a few bad rows on purpose
                }
            )
        print(f"extracted {len(rows)} orders for {context['ds']}")
        return rows

    @task(multiple_outputs=True)
    def split(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        valid = [r for r in rows if r["quantity"] > 0]
        rejected = [r for r in rows if r["quantity"] <= 0]
        return {"valid": valid, "rejected": rejected}

    @task_group
    def transform(rows: Any) -> Any:
        @task
        def price(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [
                {**r, "revenue_usd": round(r["quantity"] * PRICES[r["product"]], 2)} for r in rows
            ]

        @task
        def summarize(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
            totals: dict[str, dict[str, float]] = defaultdict(lambda: {"orders": 0, "usd": 0.0})
            for r in rows:
                totals[r["region"]]["orders"] += 1
                totals[r["region"]]["usd"] += r["revenue_usd"]
            return {
                region: {
                    "orders": t["orders"],
                    "usd": round(t["usd"], 2),
                    "eur": round(t["usd"] * EUR_PER_USD, 2),
                }
                for region, t in sorted(totals.items())
            }

        return summarize(price(rows))

    @task
    def load(summary: dict[str, dict[str, float]]) -> float:
        print(f"{'region':<8}{'orders':>8}{'USD':>12}{'EUR':>12}")
        for region, t in summary.items():
            print(f"{region:<8}{t['orders']:>8}{t['usd']:>12.2f}{t['eur']:>12.2f}")
        total = round(sum(t["usd"] for t in summary.values()), 2)
        print(f"{'total':<8}{'':>8}{total:>12.2f}")
        return total

    @task
    def report_rejects(rejected: list[dict[str, Any]]) -> int:
        for r in rejected[:5]:
            print(f"rejected order {r['order_id']}: quantity {r['quantity']}")
        print(f"{len(rejected)} orders rejected")
        return len(rejected)

    @task(trigger_rule="all_done")
    def audit(total_usd: float | None, rejected: int | None) -> None:
        print(f"audit: revenue {total_usd} USD, {rejected} rejected orders")

    parts = split(extract(orders))
    audit(load(transform(parts["valid"])), report_rejects(parts["rejected"]))


etl()
