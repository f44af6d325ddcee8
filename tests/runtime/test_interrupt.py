"""Ctrl-C or SIGTERM during `headwater run`: the running statement is cancelled, the process
exits 130 or 143 (not a crash) naming the run, the run is recorded as interrupted, nothing
half-built is left, and `retry` finishes the rest."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

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


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(
    ("signum", "code", "cause"),
    [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM")],
    ids=["ctrl-c", "sigterm"],
)
def test_a_stop_signal_cancels_the_run_records_it_and_exits(project_dir, signum, code, cause):
    """Ctrl-C, and SIGTERM (how schedulers and containers stop a process), alike."""
    root = project_dir(
        {"headwater.toml": "", "models/s/slow.sql": SLOW, "models/s/quick.sql": QUICK}
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "headwater", "run", "-p", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},  # SIGABRT dumps every thread's stack
        # a suite started in the background (`make test &`) ignores SIGINT, and a child
        # inherits that: Python then never raises KeyboardInterrupt (it hung that way)
        preexec_fn=_default_sigint,
    )
    try:
        _wait_for(root, "s.slow started")
        _wait_for(root, "s.quick success")
        time.sleep(0.3)  # inside the slow query
        proc.send_signal(signum)
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:  # hung: say where, for whoever reads the failure
            proc.send_signal(signal.SIGABRT)
            out, err = proc.communicate(timeout=30)
            pytest.fail(f"no exit 60 s after {cause}; stdout:\n{out}\nstderr:\n{err}")
    finally:
        proc.kill()
    # ended by the signal itself it would be -signum: the run handled it and exited
    assert proc.returncode == code, (proc.returncode, out, err)
    assert "Traceback" not in err
    found = re.search(r"interrupted: run (\S+) stopped; `headwater retry \1`", err)
    assert found, err
    project = load_project(root)
    tables = project_tables(project)
    assert "slow" not in tables and "quick" in tables  # the interrupted build left nothing
    (root / "models/s/slow.sql").write_text(
        "-- headwater:\n--   materialized: table\nselect 1 as s"
    )
    with Metastore.open(project.metastore_url) as store:  # not left "running"
        run = store.get_run(found.group(1))
        steps = {s.step: s for s in store.step_runs(found.group(1))}
    assert run is not None and run.status == "interrupted"
    assert steps["s.slow"].status == "failed"
    assert steps["s.slow"].error == f"interrupted ({cause})"
    assert steps["s.quick"].status == "success"
    again = retry_run(load_project(root), found.group(1))
    assert again is not None and again.status == "success"
    assert list(again.steps) == ["s.slow"]  # the step that did not finish, alone


def project_tables(project) -> set[str]:
    import duckdb

    with duckdb.connect(str(project.warehouse_path), read_only=True) as con:
        rows = con.execute("select table_name from information_schema.tables").fetchall()
    return {r[0] for r in rows}
