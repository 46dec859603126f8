"""Fan-out and fan-in: sales and weather fetched in parallel, joined, a model trained.

``start >> [fetch_sales, fetch_weather]``, each source cleaned on its own
branch, ``[clean_weather, clean_sales] >> join_datasets``, then a TaskFlow
pair: ``train_model`` fits daily sales against temperature by least squares
and ``deploy_model`` "deploys" the model it returns. The data is generated
from the run's logical date, so a run is repeatable.
"""

from __future__ import annotations

import random
import statistics
import uuid
from datetime import datetime, timedelta
from typing import Any

from partita import DAG, EmptyOperator, PythonOperator, task

DAYS = 28


def _days(logical_date: datetime) -> list[str]:
    first = logical_date.date() - timedelta(days=DAYS)
    return [(first + timedelta(days=n)).isoformat() for n in range(DAYS)]


def _fetch_weather(**context: Any) -> list[dict[str, Any]]:
    rng = random.Random(context["ds"])
    rows = []
    for day in _days(context["logical_date"]):
        reading = round(rng.gauss(18, 6), 1)
        # A broken sensor now and then: the cleaning step has something to do.
        rows.append({"day": day, "temp_c": None if rng.random() < 0.1 else reading})
    print(f"fetched {len(rows)} weather readings")
    return rows


def _fetch_sales(**context: Any) -> list[dict[str, Any]]:
    rng = random.Random(context["ds"] + "sales")
    weather_rng = random.Random(context["ds"])
    rows = []
    for day in _days(context["logical_date"]):
        temp = weather_rng.gauss(18, 6)
        weather_rng.random()
        for store in ("north", "south"):
            units = max(0, round(40 + 3.5 * temp + rng.gauss(0, 8)))
            rows.append({"day": day, "store": store, "units": units})
    rows.append({"day": _days(context["logical_date"])[0], "store": "north", "units": -5})
    print(f"fetched {len(rows)} sales rows")
    return rows


def _clean_weather(ti: Any) -> dict[str, float]:
    rows = ti.xcom_pull(task_ids="fetch_weather")
    valid = {r["day"]: r["temp_c"] for r in rows if r["temp_c"] is not None}
    print(f"kept {len(valid)} of {len(rows)} weather readings")
    return valid


def _clean_sales(ti: Any) -> dict[str, int]:
    rows = ti.xcom_pull(task_ids="fetch_sales")
    per_day: dict[str, int] = {}
    dropped = 0
    for row in rows:
        if row["units"] < 0:
            dropped += 1
            continue
        per_day[row["day"]] = per_day.get(row["day"], 0) + row["units"]
    print(f"dropped {dropped} invalid sales rows; {len(per_day)} days of sales")
    return per_day


def _join_datasets(ti: Any) -> list[tuple[float, int]]:
    weather = ti.xcom_pull(task_ids="clean_weather")
    sales = ti.xcom_pull(task_ids="clean_sales")
    joined = [(weather[day], sales[day]) for day in sorted(weather) if day in sales]
    print(f"joined {len(joined)} days that have both weather and sales")
    return joined


with DAG(
    "sales_forecast",
    description="Fan-out/fan-in: fetch and clean two sources, join them, train and deploy a model",
    schedule="@daily",
    start_date=datetime(2025, 1, 1),
    tags=["example", "fan-out"],
) as dag:
    start = EmptyOperator(task_id="start")

    fetch_sales = PythonOperator(task_id="fetch_sales", python_callable=_fetch_sales)
    clean_sales = PythonOperator(task_id="clean_sales", python_callable=_clean_sales)

    fetch_weather = PythonOperator(task_id="fetch_weather", python_callable=_fetch_weather)
    clean_weather = PythonOperator(task_id="clean_weather", python_callable=_clean_weather)

    join_datasets = PythonOperator(task_id="join_datasets", python_callable=_join_datasets)

    start >> [fetch_sales, fetch_weather]
    fetch_sales >> clean_sales
    fetch_weather >> clean_weather
    [clean_weather, clean_sales] >> join_datasets

    @task
    def train_model(points: list[tuple[float, int]]) -> dict[str, Any]:
        temps = [t for t, _ in points]
        units = [u for _, u in points]
        slope, intercept = statistics.linear_regression(temps, units)
        r = statistics.correlation(temps, units)
        model = {
            "model_id": str(uuid.uuid4()),
            "slope": round(slope, 3),
            "intercept": round(intercept, 3),
            "r2": round(r * r, 3),
            "trained_on": len(points),
        }
        print(f"units = {model['slope']} * temp_c + {model['intercept']} (r2={model['r2']})")
        return model

    @task
    def deploy_model(model: dict[str, Any]) -> str:
        print(f"Deploying model {model['model_id']} (r2={model['r2']})")
        return model["model_id"]

    deploy_model(train_model(join_datasets.output))
