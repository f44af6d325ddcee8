"""``executor = "process"``: tasks declared ``warehouse=False`` run in child processes.

A task that crashes its process (``os._exit``, a segfault) or raises fails its own step with
one clear line, the other steps succeed; a timeout or a cancel kills the child; models and
tasks that use the warehouse stay in the run's process.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from headwater import api
from headwater.errors import ConfigError, RunInterrupted
from headwater.project import load_project
from headwater.testing.cli import invoke, query_warehouse

TOML = '[project]\nname = "iso"\nexecutor = "process"\n'

TASKS = """
import ctypes
import os
import time
from headwater import model, task

@model(materialized="table")
def built(base):
    (base_dir() / "model.pid").write_text(str(os.getpid()))
    return base.aggregate("count(*) as n")

def base_dir():
    from pathlib import Path
    folder = Path(__file__).parent.parent / "out"
    folder.mkdir(exist_ok=True)
    return folder

@task(warehouse=False, depends_on=["marts.built"])
def isolated(ctx):
    print("printed by", os.getpid())
    ctx.log.info("logged by the task")
    ctx.path("isolated.pid").write_text(str(os.getpid()))

@task(depends_on=["marts.built"])
def reads_warehouse(ctx):
    n = ctx.query("select n from marts.built").fetchall()[0][0]
    ctx.path("reads.txt").write_text(f"{os.getpid()} {n}")

@task(warehouse=False)
def exits(ctx):
    os._exit(3)

@task(warehouse=False)
def segfaults(ctx):
    ctypes.string_at(0)

@task(warehouse=False)
def raises(ctx):
    raise ValueError("no such customer")
"""


def _project(project_dir, tasks: str, toml: str = TOML) -> Path:
    return project_dir(
        {
            "headwater.toml": toml,
            "models/s/base.sql": "select * from range(10) t(i)",
            "python/tasks.py": tasks,
        }
    )


def _line_of(root: Path, text: str) -> int:
    lines = (root / "python" / "tasks.py").read_text().splitlines()
    return next(n for n, line in enumerate(lines, start=1) if text in line)


def test_crashing_and_raising_tasks_fail_their_steps_while_others_succeed(project_dir):
    root = _project(project_dir, TASKS)
    result = api.run(root)
    status = {name: s.status for name, s in result.steps.items()}
    assert status == {
        "s.base": "success",
        "marts.built": "success",
        "isolated": "success",
        "reads_warehouse": "success",
        "exits": "failed",
        "segfaults": "failed",
        "raises": "failed",
    }
    errors = {name: s.error for name, s in result.steps.items()}
    tasks_py = root / "python" / "tasks.py"
    declared = _line_of(root, "def exits") - 1  # the asset's location: its @task line
    assert errors["exits"] == (
        f"{tasks_py}:{declared}: task exits: its process exited with code 3 "
        "before the task returned (see its step log)"
    )
    assert "its process was killed by SIGSEGV" in (errors["segfaults"] or "")
    # the same one line as on the run's threads: the project's own line, type and message
    line = _line_of(root, "no such customer")
    assert errors["raises"] == f"{tasks_py}:{line}: ValueError: no such customer"

    out = root / "out"
    assert int((out / "isolated.pid").read_text()) != os.getpid()  # a child process ran it
    assert int((out / "model.pid").read_text()) == os.getpid()  # models build in the run
    pid, rows = (out / "reads.txt").read_text().split()
    assert (int(pid), rows) == (os.getpid(), "10")  # a warehouse task stays in the run
    assert query_warehouse(root, "select n from marts.built") == [(10,)]

    logs = root / ".headwater" / "logs" / result.run_id
    step_log = (logs / "isolated.log").read_text()
    assert f"INFO printed by {(out / 'isolated.pid').read_text()}" in step_log
    assert "INFO logged by the task" in step_log
    assert "Traceback" in (logs / "raises.log").read_text()  # the whole of it, in its log
    assert "Fatal Python error: Segmentation fault" in (logs / "segfaults.log").read_text()


SLOW = """
import os
import time
from headwater import task

@task(warehouse=False, timeout=3)
def slow(ctx):
    ctx.path("slow.pid").write_text(str(os.getpid()))
    time.sleep(60)

@task(warehouse=False)
def quick(ctx):
    ctx.path("quick.pid").write_text(str(os.getpid()))
"""


def _dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_timeout_kills_the_child(project_dir):
    root = _project(project_dir, SLOW)
    started = time.monotonic()
    result = api.run(root)
    assert time.monotonic() - started < 30  # not the task's 60 s
    assert result.steps["slow"].status == "timed_out"
    assert result.steps["slow"].error == "timed out after 3 s (attempt 1)"
    assert result.steps["quick"].status == "success"
    assert _dead(int((root / "out" / "slow.pid").read_text()))


def test_a_cancelled_run_kills_its_children(project_dir):
    root = _project(project_dir, SLOW.replace("timeout=3", "timeout=120"))
    cancel = threading.Event()
    pid_file = root / "out" / "slow.pid"

    def cancel_once_started() -> None:
        deadline = time.monotonic() + 30
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        cancel.set()

    threading.Thread(target=cancel_once_started, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(RunInterrupted):
        api.run(root, cancel=cancel)
    assert time.monotonic() - started < 30
    assert _dead(int(pid_file.read_text()))


RETRIED = """
from headwater import task

@task(warehouse=False, retries=2, retry_delay=0)
def flaky(ctx):
    attempts = ctx.path("attempts")
    n = int(attempts.read_text()) + 1 if attempts.exists() else 1
    attempts.write_text(str(n))
    if n < 3:
        raise RuntimeError(f"attempt {n} failed")

@task(warehouse=False)
def asks_the_warehouse(ctx):
    ctx.query("select 1")
"""


def test_retries_and_a_task_without_warehouse_asking_for_it(project_dir):
    root = _project(project_dir, RETRIED)
    result = api.run(root)
    assert (result.steps["flaky"].status, result.steps["flaky"].attempts) == ("success", 3)
    run_log = (root / ".headwater" / "logs" / result.run_id / "run.log").read_text()
    assert "flaky attempt 1 of 3 failed" in run_log
    refused = result.steps["asks_the_warehouse"]
    assert refused.status == "failed"
    assert refused.error is not None
    assert refused.error.endswith(
        "task asks_the_warehouse is declared warehouse=False: it cannot query the warehouse"
    )
    # the same refusal on the run's threads: the declaration, not the executor, decides
    local = api.run(root, ["asks_the_warehouse"], executor="threads")
    assert local.steps["asks_the_warehouse"].error == refused.error


@pytest.mark.parametrize(
    "value", ["proces", "dask://", "dask://host", "dask://host:port", "tcp://host:8786"]
)
def test_a_bad_executor_fails_at_project_load_naming_file_and_key(project_dir, value):
    root = project_dir({"headwater.toml": f'[project]\nname = "x"\nexecutor = "{value}"\n'})
    with pytest.raises(ConfigError) as caught:
        load_project(root)
    message = str(caught.value)
    assert message.startswith(f"{root / 'headwater.toml'}:3: project.executor: ")
    assert "is not an executor" in message
    assert len(message.splitlines()) == 1


def test_a_bad_executor_option_is_one_line_and_exit_2(project_dir):
    root = _project(project_dir, SLOW)
    result = invoke("run", "-p", str(root), "--executor", "thread")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: --executor: 'thread' is not an executor: "
        'use "threads", "process" or "dask://HOST:PORT"'
    )
