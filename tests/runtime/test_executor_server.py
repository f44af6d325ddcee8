"""``executor = "process"`` under ``headwater server``: the server's runs send the tasks
declared ``warehouse=False`` to child processes, and a crashing one leaves the server up."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

HEADWATER = str(Path(sys.executable).parent / "headwater")

TASKS = """
import os
from pathlib import Path
from headwater import model, task

@model(materialized="table")
def built(base):
    out = Path(__file__).parent.parent / "out"
    out.mkdir(exist_ok=True)
    (out / "model.pid").write_text(str(os.getpid()))
    return base.aggregate("count(*) as n")

@task(warehouse=False, depends_on=["marts.built"])
def isolated(ctx):
    ctx.path("isolated.pid").write_text(str(os.getpid()))

@task(warehouse=False)
def crashes(ctx):
    os._exit(9)
"""


@pytest.fixture
def server(project_dir) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    root = project_dir(
        {
            "headwater.toml": '[project]\nname = "srv"\nexecutor = "process"\n',
            "models/s/base.sql": "select * from range(3) t(i)",
            "python/tasks.py": TASKS,
        }
    )
    proc = subprocess.Popen(
        [HEADWATER, "server", "-p", str(root), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_ready(root, proc)
        yield root, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


def _wait_ready(root: Path, proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"server exited {proc.returncode}"
        try:
            info = json.loads((root / ".headwater" / "server.json").read_text())
            if info["pid"] == proc.pid:
                httpx.get(info["url"] + "/api/health", timeout=1).raise_for_status()
                return
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            pass
        time.sleep(0.05)
    raise AssertionError("server not ready in time")


def test_a_server_runs_tasks_in_child_processes_and_survives_a_crash(server):
    root, proc = server
    run = subprocess.run(
        [HEADWATER, "run", "-p", str(root)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 5, run.stdout + run.stderr  # `crashes` failed, nothing else
    assert "crashes failed" in run.stdout
    assert "its process exited with code 9 before the task returned" in run.stdout
    out = root / "out"
    assert int((out / "model.pid").read_text()) == proc.pid  # the server built the model
    task_pid = int((out / "isolated.pid").read_text())
    assert task_pid != proc.pid  # a child of the server ran it
    assert proc.poll() is None  # the crash took its child only
    again = subprocess.run(
        [HEADWATER, "run", "-p", str(root), "-s", "isolated"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert int((out / "isolated.pid").read_text()) not in (proc.pid, task_pid)
    # the server's runs use headwater.toml's executor: a per-run one is refused, one line
    refused = subprocess.run(
        [HEADWATER, "run", "-p", str(root), "--executor", "threads"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "error: --executor: a server runs this project: set executor in headwater.toml"
    )
