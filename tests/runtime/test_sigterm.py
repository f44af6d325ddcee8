"""SIGTERM during `headwater run` (how schedulers and containers stop a process) is handled
like Ctrl-C: the running statement is cancelled, the run is recorded as interrupted, the
process exits 143 naming the run, and `retry` finishes the rest."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from headwater.metastore import Metastore
from headwater.project import load_project
from headwater.runtime import retry_run

SLOW = (
    "-- headwater:\n--   materialized: table\n"
    "select sum(a.range * b.range) as s from range(200000000) a, range(1000) b"
)
QUICK = "-- headwater:\n--   materialized: table\nselect 1 as y"


def _wait_for(root: Path, line: str, timeout: float = 60.0) -> None:
    """Until the run's run.log holds ``line``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(line in p.read_text() for p in root.glob(".headwater/logs/*/run.log")):
            return
        time.sleep(0.05)
    raise AssertionError(f"the run never logged {line!r}")


def _tables(warehouse: Path) -> set[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("select table_name from information_schema.tables").fetchall()
    return {r[0] for r in rows}


def test_sigterm_cancels_the_run_records_it_and_exits_143(project_dir):
    root = project_dir(
        {"headwater.toml": "", "models/s/slow.sql": SLOW, "models/s/quick.sql": QUICK}
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "headwater", "run", "-p", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        try:
            _wait_for(root, "s.slow started")
            _wait_for(root, "s.quick success")
        except AssertionError:
            proc.kill()
            pytest.fail(f"the run did not start: {proc.communicate(timeout=30)}")
        time.sleep(0.3)  # inside the slow query
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate(timeout=30)
            pytest.fail(f"no exit 60 s after SIGTERM; stdout:\n{out}\nstderr:\n{err}")
    finally:
        proc.kill()
    # killed by the signal itself would be -15: the run handled it and exited on its own
    assert proc.returncode == 143, (proc.returncode, out, err)
    assert "Traceback" not in err
    found = re.search(r"interrupted: run (\S+) stopped; `headwater retry \1`", err)
    assert found, err
    project = load_project(root)
    tables = _tables(project.warehouse_path)
    assert "slow" not in tables and "quick" in tables  # the cancelled build left nothing
    with Metastore.open(project.metastore_url) as store:
        run = store.get_run(found.group(1))
        steps = {s.step: s for s in store.step_runs(found.group(1))}
    assert run is not None and run.status == "failed"  # not left "running"
    assert steps["s.slow"].status == "failed"
    assert steps["s.slow"].error == "interrupted (SIGTERM)"
    assert steps["s.quick"].status == "success"
    (root / "models/s/slow.sql").write_text(
        "-- headwater:\n--   materialized: table\nselect 1 as s"
    )
    again = retry_run(load_project(root), found.group(1))
    assert again is not None and again.status == "success"
    assert list(again.steps) == ["s.slow"]
