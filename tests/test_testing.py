"""``partita.testing``: run_dag, run_task (one task, upstream outputs given) and make_context."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from partita import (
    DAG,
    BashOperator,
    Context,
    FailTask,
    PartitaError,
    PythonOperator,
    RunResult,
    SkipTask,
    TaskState,
    dag,
    get_current_context,
    task,
)
from partita.testing import TaskRunResult, make_context, run_dag, run_task

DAY = datetime(2024, 3, 9, tzinfo=UTC)


def test_testing_module_exports() -> None:
    import partita.testing

    assert sorted(partita.testing.__all__) == [
        "GivenOutputs", "TaskRunResult", "make_context", "run_dag", "run_task",
    ]  # fmt: skip


# --- run_dag ------------------------------------------------------------------------------------


def test_run_dag_is_dag_test_with_conf_and_logical_date() -> None:
    with DAG("whole", params={"n": 1}) as d:
        PythonOperator(task_id="t", python_callable=lambda params, ds: (params["n"], ds))
    result = run_dag(d, conf={"n": 5}, logical_date=DAY)
    assert isinstance(result, RunResult)
    assert result.run_id.startswith("test__")
    assert result.output("t") == (5, "2024-03-09")


# --- run_task -----------------------------------------------------------------------------------

calls: list[str] = []


@task
def train_model() -> str:
    calls.append("train_model")
    return "trained"


@task
def deploy_model(model_id: str) -> str:
    calls.append("deploy_model")
    print(f"Deploying model {model_id}")
    return f"deployed {model_id}"


def test_run_task_gives_a_taskflow_task_its_upstream_value_without_running_it() -> None:
    calls.clear()
    with DAG("taskflow") as d:
        deployed = deploy_model(train_model())
    result = run_task(deployed, upstream_outputs={"train_model": "model-9"})
    assert isinstance(result, TaskRunResult)
    assert calls == ["deploy_model"]
    assert result.task_id == "deploy_model"
    assert result.state is TaskState.SUCCESS
    assert result.success
    assert result.output == "deployed model-9"
    assert result.outputs == {"return_value": "deployed model-9"}
    assert "INFO - Deploying model model-9" in result.logs
    assert result.missing_outputs == []
    # The same task can be named by (dag, task_id).
    assert run_task((d, "deploy_model"), upstream_outputs={"train_model": "x"}).output == (
        "deployed x"
    )


def test_run_task_answers_classic_xcom_pull_by_task_and_key_and_captures_pushes() -> None:
    def deploy(ti: Any) -> None:
        model_id = ti.xcom_pull(task_ids="train_model", key="model_id")
        ti.xcom_push(key="deployed", value=f"{model_id}@prod")

    with DAG("classic"):
        train = PythonOperator(task_id="train_model", python_callable=lambda: None)
        deploy_task = PythonOperator(task_id="deploy", python_callable=deploy)
        train >> deploy_task
    result = run_task(deploy_task, upstream_outputs={("train_model", "model_id"): "m-1"})
    assert result.outputs == {"deployed": "m-1@prod"}
    assert result.output is None  # it returned nothing


def test_a_value_given_for_a_multiple_outputs_task_is_split_into_its_keys() -> None:
    @task(multiple_outputs=True)
    def split() -> dict[str, int]:
        return {"low": 0, "high": 0}

    @task
    def spread(low: int, high: int) -> int:
        return high - low

    with DAG("multiple"):
        parts = split()
        ref = spread(parts["low"], parts["high"])
    assert run_task(ref, upstream_outputs={"split": {"low": 2, "high": 9}}).output == 7
    # An explicit (task_id, key) wins over the split value.
    given = {"split": {"low": 2, "high": 9}, ("split", "high"): 10}
    assert run_task(ref, upstream_outputs=given).output == 8


def test_outputs_the_task_pulled_but_the_test_did_not_give_are_listed() -> None:
    with DAG("missing"):
        ref = deploy_model(train_model())
    result = run_task(ref)
    # A real run gives None for a missing output too, and None is not the annotated str.
    assert result.state is TaskState.FAILED
    assert "input 'model_id' expected type str, got None" in (result.error or "")
    assert result.missing_outputs == [("train_model", "return_value")]


def test_upstream_outputs_must_name_tasks_of_the_dag() -> None:
    with DAG("typo"):
        ref = deploy_model(train_model())
    with pytest.raises(PartitaError, match="names 'trian_model', which is not a task of DAG"):
        run_task(ref, upstream_outputs={"trian_model": "x"})
    with pytest.raises(PartitaError, match=r"key 3 must be a task id or a \(task_id, key\)"):
        run_task(ref, upstream_outputs={3: "x"})


def test_run_task_rejects_what_is_not_a_task() -> None:
    with pytest.raises(PartitaError, match="expected a task"):
        run_task("train_model")  # type: ignore[arg-type]


def test_a_failing_task_reports_its_error_and_its_retry_decision() -> None:
    def broken() -> None:
        raise ValueError("bad row")

    with DAG("failing") as d:
        once = PythonOperator(task_id="once", python_callable=broken)
        retried = PythonOperator(task_id="retried", python_callable=broken, retries=1)
    failed = run_task(once)
    assert failed.state is TaskState.FAILED
    assert failed.error == "ValueError: bad row"
    assert failed.traceback is not None and "in broken" in failed.traceback
    assert not failed.success
    retry = run_task(retried)
    assert retry.state is TaskState.UP_FOR_RETRY
    assert retry.retry_at is not None
    assert run_task((d, "retried"), try_number=2).state is TaskState.FAILED


def test_signals_skip_and_fail_with_metadata() -> None:
    def skip() -> None:
        raise SkipTask("nothing to do")

    def fail() -> None:
        raise FailTask("stop", metadata={"rows": 0})

    with DAG("signals"):
        skipper = PythonOperator(task_id="skipper", python_callable=skip)
        failer = PythonOperator(task_id="failer", python_callable=fail, retries=3)
    assert run_task(skipper).state is TaskState.SKIPPED
    failed = run_task(failer)
    assert failed.state is TaskState.FAILED
    assert failed.error_metadata == {"rows": 0}


def test_params_conf_and_logical_date_reach_the_task() -> None:
    def look(params: dict[str, Any], conf: dict[str, Any], ds: str) -> Any:
        return dict(params), dict(conf), ds

    with DAG("context_values", params={"region": "eu", "limit": 10}) as d:
        PythonOperator(task_id="look", python_callable=look)
        PythonOperator(task_id="own", python_callable=look, params={"limit": 1})
    params, conf, ds = run_task((d, "look"), logical_date=DAY).output
    assert (params, conf, ds) == ({"region": "eu", "limit": 10}, {}, "2024-03-09")
    params, _, _ = run_task((d, "look"), params={"limit": 3}).output
    assert params == {"region": "eu", "limit": 3}
    params, conf, _ = run_task((d, "look"), params={"limit": 3}, conf={"limit": 4}).output
    assert params["limit"] == 4 and conf == {"limit": 4}
    params, _, _ = run_task((d, "own"), params={"limit": 3}).output
    assert params["limit"] == 1  # a task's own params beat the DAG's, as in a real run


def test_a_dag_param_argument_resolves_from_conf() -> None:
    @dag
    def scaled(factor: int = 2) -> None:
        @task
        def multiply(by: int) -> int:
            return 21 * by

        multiply(factor)

    built = scaled()
    assert run_task((built, "multiply")).output == 42
    assert run_task((built, "multiply"), conf={"factor": 3}).output == 63


def test_run_task_behaves_as_a_real_run_callbacks_templates_timeouts() -> None:
    seen: list[str] = []
    with DAG("real") as d:
        BashOperator(
            task_id="templated", bash_command="echo {{ ds_nodash }}",
            on_success_callback=lambda context: seen.append(context["ti"].task_id),
        )  # fmt: skip
        PythonOperator(task_id="slow", python_callable=lambda: time.sleep(5), execution_timeout=0.1)
        PythonOperator(
            task_id="current", python_callable=lambda: get_current_context()["ti"].task_id
        )
    templated = run_task((d, "templated"), logical_date=DAY)
    assert templated.output == "20240309"
    assert seen == ["templated"]
    started = time.monotonic()
    slow = run_task((d, "slow"))
    assert time.monotonic() - started < 3
    assert slow.state is TaskState.FAILED and "TaskTimeoutError" in (slow.error or "")
    assert run_task((d, "current")).output == "current"


def test_run_task_on_an_operator_outside_any_dag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    loose = BashOperator(task_id="loose", bash_command="echo one; echo two")
    result = run_task(loose)
    assert result.output == "two"
    assert loose.dag is None
    assert list(tmp_path.iterdir()) == []


def test_task_run_logs_are_formatted_like_run_result_logs() -> None:
    with DAG("log_format") as d:
        PythonOperator(task_id="t", python_callable=lambda: print("hello"))
    alone = run_task((d, "t")).logs
    in_run = d.test().logs("t")
    pattern = r"^\[[^\]]+\] INFO - hello$"
    import re

    assert re.search(pattern, alone, re.M)
    assert re.search(pattern, in_run, re.M)


# --- make_context -------------------------------------------------------------------------------


def test_make_context_without_a_task_builds_a_complete_context() -> None:
    context = make_context(conf={"x": 1}, logical_date=DAY, task_id="probe")
    assert isinstance(context, Context)
    assert context["ti"].task_id == "probe"
    assert context["task"].task_id == "probe"
    assert context["task"].dag is None
    assert context["ds"] == "2024-03-09"
    assert context["conf"] == {"x": 1}
    assert context["params"] == {"x": 1}
    assert context["try_number"] == 1


def test_make_context_for_calling_an_airflow_style_function_directly() -> None:
    def _deploy_model(**context: Any) -> str:
        model_id = context["task_instance"].xcom_pull(task_ids="train_model", key="model_id")
        context["ti"].xcom_push(key="deployed", value=model_id)
        context["log"].info("deploying %s", model_id)
        return str(model_id)

    context = make_context(upstream_outputs={("train_model", "model_id"): "m-5"})
    assert _deploy_model(**context) == "m-5"
    assert context["ti"].xcom_pull(key="deployed") == "m-5"
    assert [line.message for line in context["log"].lines] == ["deploying m-5"]


def test_make_context_for_a_task_of_a_dag() -> None:
    with DAG("ctx_dag", params={"limit": 10}, schedule="@daily") as d:
        look = PythonOperator(task_id="look", python_callable=lambda: None, retries=2)
    context = make_context(look, logical_date=DAY, params={"limit": 3})
    assert context["dag"] is d
    assert context["task"] is look
    assert context["params"] == {"limit": 3}
    assert context["ti"].max_tries == 2
    assert context["data_interval_start"] == context["data_interval_end"] == DAY  # Airflow 3


def test_make_context_inside_a_dag_block_adds_no_task_to_it() -> None:
    with DAG("untouched") as d:
        make_context()
    assert d.task_ids == []
