"""The chaos test's DAG: mapping, a flaky task with retries, a branch and a doomed task.

Every try appends one line to the file named by ``CHAOS_EFFECTS`` (when set): its run,
task, map index, try number and process id, the side effect the test counts.
"""

import datetime
import os
import time

from partita import dag, get_current_context, task

NAP = 0.15


def effect() -> None:
    path = os.environ.get("CHAOS_EFFECTS")
    if not path:
        return
    ctx = get_current_context()
    fields = (ctx["run_id"], ctx["ti"].task_id, ctx["map_index"], ctx["try_number"], os.getpid())
    line = " ".join(map(str, fields)) + "\n"
    with open(path, "a") as out:
        out.write(line)


@dag(
    schedule=None,
    start_date=datetime.datetime(2024, 1, 1),
    params={"n": 3, "pick": "evens", "doomed": False},
    max_active_runs=64,
    # the chaos test's workers listen on a queue of their own
    default_args={"queue": os.environ.get("CHAOS_QUEUE", "default")},
)
def chaos():
    @task
    def numbers(params):
        effect()
        return list(range(params["n"]))

    @task(retries=2, retry_delay=0)
    def square(x, try_number):
        effect()
        time.sleep(NAP)
        if x % 2 == 0 and try_number == 1:
            raise RuntimeError(f"flaky: {x} fails its first try")
        return x * x

    @task
    def total(squares):
        effect()
        return sum(squares)

    @task.branch
    def choose(params):
        effect()
        return "evens" if params["pick"] == "evens" else "odds"

    @task
    def evens(value):
        effect()
        time.sleep(NAP)
        return value * 2

    @task
    def odds(value):
        effect()
        time.sleep(NAP)
        return value * 3

    @task(trigger_rule="none_failed")
    def join(a, b):
        effect()
        return (a or 0) + (b or 0)

    @task(retries=1, retry_delay=0)
    def risky(value, params):
        effect()
        if params["doomed"]:
            raise RuntimeError("doomed: this run must fail")
        return value

    @task
    def report(value):
        effect()
        return value

    summed = total(square.expand(x=numbers()))
    branch = choose()
    a, b = evens(summed), odds(summed)
    branch >> [a, b]
    report(risky(join(a, b)))


the_dag = chaos()
