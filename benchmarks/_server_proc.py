"""A real ``headwater server`` process for the server benchmarks, and what /proc says of it.

:class:`ServerProc` starts ``headwater server -p ROOT --port 0`` (127.0.0.1, a free port)
and times how long the process takes from ``Popen`` until ``GET /api/health`` answers.
:func:`cpu_seconds` and :func:`rss_mb` read ``/proc/<pid>/stat`` (utime + stime) and
``/proc/<pid>/status`` (VmRSS). :func:`steps_of` reads a run's steps from the metastore.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks._common import HEADWATER, subprocess_env
from headwater.metastore import Metastore
from headwater.metastore.records import RunRecord, StepRunRecord

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ServerProc:
    """``headwater server`` of project ``root``; ``ready_s``: Popen to /api/health answering."""

    def __init__(self, root: Path, *, timeout: float = 120.0) -> None:
        self.root = root
        self.log = root.parent / f"{root.name}.server.log"
        self._err = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [HEADWATER, "server", "-p", str(root), "--port", "0"],
            stdout=subprocess.DEVNULL,
            stderr=self._err,
            stdin=subprocess.DEVNULL,
            env=subprocess_env(),
        )
        self.url = self._wait_ready(timeout)
        self.ready_s = time.perf_counter() - started

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _wait_ready(self, timeout: float) -> str:
        info_path = self.root / ".headwater" / "server.json"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: see {self.log}")
            try:
                info = json.loads(info_path.read_text())
                if info["pid"] == self.proc.pid:
                    with urllib.request.urlopen(info["url"] + "/api/health", timeout=1):
                        return str(info["url"])
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.005)
        raise RuntimeError(f"server of {self.root} not ready in {timeout:.0f} s")

    def stop(self) -> int:
        """SIGTERM, then wait; the exit code (0: stopped cleanly)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        finally:
            self._err.close()


def stop_group(proc: subprocess.Popen[Any], poll: float = 0.3) -> None:
    """SIGTERM to the process group led by ``proc`` (started with ``start_new_session``),
    SIGKILL to what is left of it after 30 s; ``proc`` reaped."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            proc.poll()  # reap the leader: a zombie still counts as the group
            os.killpg(proc.pid, 0)  # ProcessLookupError: the group is gone
            time.sleep(poll)
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    finally:
        proc.wait(30)


def cpu_seconds(pid: int) -> float:
    """utime + stime of process ``pid`` (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 and 15 of stat(5)


def rss_mb(pid: int) -> float:
    """VmRSS of process ``pid`` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for PID {pid}")


def metastore(root: Path) -> Metastore:
    return Metastore.open(f"sqlite:///{root / '.headwater' / 'metastore.sqlite'}")


def latest_runs(root: Path, limit: int = 1000) -> list[RunRecord]:
    """The project's runs, newest first."""
    with metastore(root) as store:
        return store.runs(limit)


def steps_of(root: Path, run_id: str) -> list[StepRunRecord]:
    """The steps of run ``run_id`` in start order."""
    with metastore(root) as store:
        return store.step_runs(run_id)


def chain_gaps(steps: list[StepRunRecord]) -> list[float]:
    """Seconds between each step's finish and the next one's start (steps in start order
    form a chain: each depends on the one before)."""
    return [
        (b.started_at - a.finished_at).total_seconds()
        for a, b in itertools.pairwise(steps)
        if a.finished_at is not None and b.started_at is not None
    ]


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0-100) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]
