"""``get_current_context()`` inside and outside a running task."""

from __future__ import annotations

from typing import Any

import pytest

from partita import DAG, Context, PartitaError, PythonOperator, get_current_context


def test_get_current_context_outside_a_task_explains_what_to_do() -> None:
    with pytest.raises(PartitaError, match=r"outside a running task.*'context' parameter"):
        get_current_context()


def test_get_current_context_inside_a_task_is_that_task_instances_context() -> None:
    seen: dict[str, Any] = {}

    def look() -> str:
        context = get_current_context()
        seen["type"] = type(context)
        seen["task_id"] = context["ti"].task_id
        seen["run_id"] = context["run_id"]
        return context["task"].task_id

    with DAG("current") as d:
        PythonOperator(task_id="look", python_callable=look)
    result = d.test()
    assert result.output("look") == "look"
    assert seen == {"type": Context, "task_id": "look", "run_id": result.run_id}
    with pytest.raises(PartitaError):  # and it is reset after the task
        get_current_context()
