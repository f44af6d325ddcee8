"""Kill safety on every engine: a process SIGKILLed while it loads (its rows written, not
yet published: no cleanup runs) leaves the previous table, its state and the loads'
record as they were, and the next process writes the table as if nothing had happened.

Both sides run in child processes (killed_load.py) so that the same test serves every
engine: on Spark a process's catalog is its own, so a fresh process is what a user after
the crash is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from headwater.testing.engines import EngineProject

# on Spark each child starts a JVM: ~10 s idle, minutes on a loaded machine
pytestmark = pytest.mark.timeout(900)

CHILD = str(Path(__file__).with_name("killed_load.py"))


def test_sigkill_mid_load_keeps_the_previous_table(
    engine_project: EngineProject, tmp_path: Path
) -> None:
    root = engine_project.write({})
    flag, log = tmp_path / "written", tmp_path / "child.log"
    with log.open("w") as stderr:  # a file: an unread pipe could fill and stall the child
        child = subprocess.Popen(
            [sys.executable, CHILD, engine_project.engine, str(root), str(flag)], stderr=stderr
        )
    try:
        deadline = time.monotonic() + 600  # Spark's JVM starts first (minutes when loaded)
        while not flag.exists():
            assert child.poll() is None, f"the loader ended first: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "the second load never wrote its rows"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()  # no-op once killed; never left behind by a failed assertion
        child.wait(30)
    assert child.returncode == -signal.SIGKILL

    after = subprocess.run(
        [sys.executable, CHILD, engine_project.engine, str(root)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert after.returncode == 0, after.stderr[-2000:]
    seen = json.loads(after.stdout.strip().splitlines()[-1])
    assert seen["before"] == {"ids": [0, 1, 2], "cursor": "old", "loads": 1}
    assert seen["after"] == {"ids": [7, 8], "cursor": "after", "loads": 2}
