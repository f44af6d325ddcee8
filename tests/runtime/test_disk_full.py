"""A full disk during a run: one line naming what could not be written (the warehouse, a log
file, the metastore), no traceback, the run recorded as failed when the metastore can still
be written, and nothing half-written.

The disk is a real one: a small tmpfs mounted in a private mount namespace (`unshare -m`,
root: CI runs `make test` as root), so every write is the kernel's ENOSPC, not a mock."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import duckdb

from headwater.metastore import Metastore
from headwater.project import load_project

SMALL = "-- headwater:\n--   materialized: table\nselect 1 as i"
# about 200 MB of distinct strings: more than any tmpfs below holds
BIG = (
    "-- headwater:\n--   materialized: table\n"
    "select i, md5(r::varchar) || md5((r + 1)::varchar) as s "
    "from small, range(3000000) t(r)"
)
FAILING = "-- headwater:\n--   materialized: table\nselect error('boom') as i"


def _run_on_small_disk(
    root: Path, mount: Path, size: str, *, fill: bool = False, keep: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`headwater run` with a ``size`` tmpfs on ``mount`` (filled up first if ``fill``);
    the tmpfs's files are copied to ``keep`` before it goes away with the namespace."""
    mount.mkdir(parents=True, exist_ok=True)
    run = [sys.executable, "-m", "headwater", "run", "-p", str(root)]
    script = [f"mount -t tmpfs -o size={size} tmpfs {shlex.quote(str(mount))} || exit 99"]
    if fill:
        script.append(f"dd if=/dev/zero of={shlex.quote(str(mount / 'filler'))} bs=4k 2>/dev/null")
    script.append(f"{shlex.join(run)}; rc=$?")
    if keep is not None:
        script.append(f"cp -a {shlex.quote(str(mount))}/. {shlex.quote(str(keep))}/")
    script.append("exit $rc")
    done = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", "\n".join(script)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 99, f"cannot mount a tmpfs (root needed): {done.stderr}"
    return done


def _no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr and "Logging error" not in stderr, stderr
    assert "╭" not in stderr, stderr  # no Rich traceback either


def test_a_full_log_disk_is_one_line_and_the_run_is_recorded(project_dir):
    root = project_dir({"models/s/small.sql": SMALL, "models/s/failing.sql": FAILING})
    logs = root / ".headwater" / "logs"
    done = _run_on_small_disk(root, logs, "64k", fill=True)
    assert done.returncode == 5, (done.stdout, done.stderr)
    _no_traceback(done.stderr)
    with Metastore.open(load_project(root).metastore_url) as store:
        run = store.runs(1)[0]
        steps = {s.step: s for s in store.step_runs(run.run_id)}
    assert run.status == "failed"
    assert steps["s.small"].status == "success"
    # the step's own error stands (not the log file's)
    assert steps["s.failing"].status == "failed" and "boom" in (steps["s.failing"].error or "")
    lines = done.stderr.strip().splitlines()
    run_log = logs / run.run_id / "run.log"
    assert f"could not write {run_log}: No space left on device" in lines, lines
    assert all(x.startswith("could not write ") for x in lines), lines


def test_a_full_disk_under_warehouse_and_metastore_is_one_line_each(project_dir, tmp_path):
    """The warehouse fills the disk (the step fails naming it), then the metastore cannot
    record that: one line says so (exit 1), and neither file is left half-written."""
    root = project_dir({"models/s/small.sql": SMALL, "models/s/big.sql": BIG})
    state, keep = root / ".headwater", tmp_path / "kept"
    keep.mkdir()
    done = _run_on_small_disk(root, state, "8m", keep=keep)
    assert done.returncode == 1, (done.stdout, done.stderr)
    _no_traceback(done.stderr)
    line = next(x for x in done.stdout.splitlines() if "s.big failed" in x)
    assert "warehouse.duckdb" in line and "No space left on device" in line, line
    errors = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert errors == [
        f"error: {state / 'metastore.sqlite'}: cannot write the metastore: no space left on device"
    ], done.stderr
    # nothing half-written: the warehouse holds small whole and no trace of big; the
    # metastore is intact, and the run it could not finish recording is found abandoned
    with duckdb.connect(str(keep / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select * from s.small").fetchall() == [(1,)]
        tables = con.execute("select table_name from information_schema.tables").fetchall()
    assert ("big",) not in tables
    url = f"sqlite:///{keep / 'metastore.sqlite'}"
    with Metastore.open(url) as store:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("pragma integrity_check").scalar() == "ok"
        assert [r.status for r in store.runs(5)] == ["running"]  # its pid is gone:
        store.mark_abandoned()
        assert [r.status for r in store.runs(5)] == ["abandoned"]
