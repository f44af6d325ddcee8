"""Ctrl-C during `headwater run`: the running statement is cancelled, the process exits 130
(not a crash), nothing half-built is left, and the next run succeeds."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from headwater.project import load_project
from headwater.runtime import run

SLOW = (
    "-- headwater:\n--   materialized: table\n"
    "select sum(a.range * b.range) as s from range(200000000) a, range(1000) b"
)


def _wait_for_start(root: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any("started" in p.read_text() for p in root.glob(".headwater/logs/*/run.log")):
            return
        time.sleep(0.05)
    raise AssertionError("the run never started its step")


def test_ctrl_c_cancels_the_run_and_exits_130(project_dir):
    root = project_dir({"headwater.toml": "", "models/s/slow.sql": SLOW})
    proc = subprocess.Popen(
        [sys.executable, "-m", "headwater", "run", "-p", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_start(root)
        time.sleep(0.3)  # inside the query
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, (proc.returncode, out, err)
    assert "interrupted" in err
    project = load_project(root)
    tables = project_tables(project)
    assert "slow" not in tables  # the interrupted build left nothing
    (root / "models/s/slow.sql").write_text(
        "-- headwater:\n--   materialized: table\nselect 1 as s"
    )
    assert run(load_project(root)).status == "success"


def project_tables(project) -> set[str]:
    import duckdb

    with duckdb.connect(str(project.warehouse_path), read_only=True) as con:
        rows = con.execute("select table_name from information_schema.tables").fetchall()
    return {r[0] for r in rows}
