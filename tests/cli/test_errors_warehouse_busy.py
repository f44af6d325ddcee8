"""`headwater query` / `loads` / a second `run` while a run holds the warehouse: one line
naming the run that holds it and its PID, exit 4 (an engine error), no traceback."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.metastore import Metastore
from headwater.project import load_project
from headwater.testing.cli import invoke

# a Python model that holds the run (and so the warehouse) until the test lets it go
BLOCKED = """
import time
from pathlib import Path
from headwater import model

GO = Path(__file__).parent.parent / "go"


@model(materialized="table")
def blocked(base):
    Path(__file__).parent.parent.joinpath("waiting").touch()
    while not GO.exists():
        time.sleep(0.05)
    return base.aggregate("count(*) as n")
"""


@pytest.fixture
def running(project_dir) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """A project whose `headwater run` is under way in another process, blocked in a model
    (after a first run made the warehouse, so that `loads` has something to show)."""
    root = project_dir(
        {
            "headwater.toml": "",
            "models/s/base.sql": "-- headwater:\n--   materialized: table\nselect 1 as i",
            "python/blocked.py": BLOCKED,
        }
    )
    (root / "go").touch()
    assert invoke("run", "-p", str(root)).exit_code == 0
    (root / "go").unlink()
    (root / "waiting").unlink()
    proc = subprocess.Popen(
        [sys.executable, "-m", "headwater", "run", "-p", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (root / "waiting").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    try:
        yield root, proc
    finally:
        (root / "go").touch()
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, (out, err)


def _run_id_of(root: Path, pid: int) -> str:
    with Metastore.open(load_project(root).metastore_url) as store:
        (run,) = [r for r in store.runs(10) if r.status == "running"]
    assert run.pid == pid
    return run.run_id


@pytest.mark.parametrize(
    "command", [["query", "select 1"], ["loads"], ["run"]], ids=["query", "loads", "run"]
)
def test_a_held_warehouse_is_one_line_naming_the_run(running, command):
    root, proc = running
    run_id = _run_id_of(root, proc.pid)
    result = invoke(*command, "-p", str(root))
    assert result.exit_code == 4, result.output
    assert "Traceback" not in result.output and "IOException" not in result.output
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"error: {load_project(root).warehouse_path}: the warehouse is in use by run "
        f"{run_id} (PID {proc.pid}); try again when it is done"
    ], result.output
