"""``executor = "dask://HOST:PORT"``: a pipeline's tasks declared ``warehouse=False`` run on
a Dask cluster's workers (a LocalCluster on 127.0.0.1, one worker process), everything else
in the run's process; failures, retries and timeouts are reported as for local steps."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client, LocalCluster

from headwater import api
from headwater.runtime.executors import dask_cluster
from headwater.testing.cli import invoke, query_warehouse


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[str, set[int]]]:
    """The cluster's ``dask://`` address and its workers' PIDs."""
    with (
        LocalCluster(
            host="127.0.0.1", n_workers=1, processes=True, dashboard_address=None
        ) as local,
        Client(local, set_as_default=False) as client,
    ):
        pids = set(client.run(os.getpid).values())
        yield "dask://" + local.scheduler_address.removeprefix("tcp://"), pids


def _toml(executor: str) -> str:
    return f'[project]\nname = "dist"\nexecutor = "{executor}"\n'


PIPELINE = """
import os
from pathlib import Path
from headwater import model, task

@model(materialized="table")
def totals(base):
    out = Path(__file__).parent.parent / "out"
    out.mkdir(exist_ok=True)
    (out / "model.pid").write_text(str(os.getpid()))
    return base.aggregate("count(*) as n")

@task(warehouse=False, depends_on=["marts.totals"])
def publish(ctx):
    print("published from", os.getpid())
    ctx.log.warning("a warning from the worker")
    ctx.path("publish.pid").write_text(str(os.getpid()))

@task(depends_on=["marts.totals"])
def snapshot(ctx):
    n = ctx.query("select n from marts.totals").fetchall()[0][0]
    ctx.path("snapshot.txt").write_text(f"{os.getpid()} {n}")
"""


def test_python_tasks_run_on_the_worker_and_models_in_the_run(project_dir, cluster):
    address, workers = cluster
    root = project_dir(
        {
            "headwater.toml": _toml(address),
            "models/s/base.sql": "select * from range(7) t(i)",
            "python/pipeline.py": PIPELINE,
        }
    )
    result = api.run(root)
    assert result.status == "success", result.to_json()
    out = root / "out"
    task_pid = int((out / "publish.pid").read_text())
    assert task_pid != os.getpid()
    assert task_pid in workers  # it ran on the cluster's worker
    assert int((out / "model.pid").read_text()) == os.getpid()  # the model built locally
    pid, rows = (out / "snapshot.txt").read_text().split()
    assert (int(pid), rows) == (os.getpid(), "7")  # a task using the warehouse stays local
    assert query_warehouse(root, "select n from marts.totals") == [(7,)]
    # what the task printed and logged on the worker is in its step log
    step_log = (root / ".headwater" / "logs" / result.run_id / "publish.log").read_text()
    assert f"INFO published from {task_pid}" in step_log
    assert "WARNING a warning from the worker" in step_log


FAILING = """
from headwater import task

@task(warehouse=False, retries=1, retry_delay=0)
def unlucky(ctx):
    raise KeyError("customer_id")
"""


def test_a_failing_remote_task_is_retried_and_reported_like_a_local_one(project_dir, cluster):
    address, _ = cluster
    root = project_dir({"headwater.toml": _toml(address), "python/failing.py": FAILING})
    remote = api.run(root)
    local = api.run(root, executor="threads")
    line = FAILING.splitlines().index('    raise KeyError("customer_id")') + 1
    expected = f"{root / 'python' / 'failing.py'}:{line}: KeyError: 'customer_id'"
    for result in (remote, local):
        step = result.steps["unlucky"]
        assert (step.status, step.attempts, step.error) == ("failed", 2, expected)
    logs = root / ".headwater" / "logs" / remote.run_id
    assert "unlucky attempt 1 of 2 failed" in (logs / "run.log").read_text()
    assert "Traceback" in (logs / "unlucky.log").read_text()  # the worker's, in the step log
    shown = invoke("show", remote.run_id, "-p", str(root))
    assert expected in shown.stdout


SLOW = """
import time
from headwater import task

@task(warehouse=False, timeout=0.5)
def slow(ctx):
    stop = ctx.path("stop")
    deadline = time.monotonic() + 30
    while not stop.exists() and time.monotonic() < deadline:  # Dask cannot stop a task
        time.sleep(0.05)
"""


def test_a_timeout_cancels_the_future(project_dir, cluster):
    address, _ = cluster
    root = project_dir({"headwater.toml": _toml(address), "python/slow.py": SLOW})
    started = time.monotonic()
    try:
        result = api.run(root)
    finally:
        (root / "out").mkdir(exist_ok=True)
        (root / "out" / "stop").touch()  # frees the worker's thread
    assert time.monotonic() - started < 10
    step = result.steps["slow"]
    assert (step.status, step.error) == ("timed_out", "timed out after 0.5 s (attempt 1)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_scheduler_is_one_line_and_exit_3(project_dir, monkeypatch):
    monkeypatch.setattr(dask_cluster, "CONNECT_TIMEOUT", 1.0)
    address = f"dask://127.0.0.1:{_free_port()}"
    root: Path = project_dir({"headwater.toml": _toml(address), "python/failing.py": FAILING})
    result = invoke("run", "-p", str(root))
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: executor {address}: cannot reach the Dask scheduler")
    assert "Traceback" not in result.output
    # the same through --executor, whatever headwater.toml says
    (root / "headwater.toml").write_text(_toml("threads"))
    again = invoke("run", "-p", str(root), "--executor", address)
    assert again.exit_code == 3
    assert again.stderr.strip() == lines[0]
