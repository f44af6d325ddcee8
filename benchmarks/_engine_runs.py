"""What the engine benchmarks (``tpch.py``, ``demo_engines.py``) share: a timed ``headwater
run`` with its steps from the run history, the PostgreSQL server they start, Spark's driver
memory."""

from __future__ import annotations

import os
import resource
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from benchmarks._common import HEADWATER

ENGINES = ("duckdb", "postgres", "spark")
# Spark's driver is the only executor in local mode: its default 1 GB heap spills at SF 1
SPARK_SUBMIT = "--driver-memory 3g pyspark-shell"


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _server_cpu(server: Any) -> float:
    """CPU seconds of the PostgreSQL server so far: the postmaster's own and its reaped
    backends' (cutime, cstime), plus its live children's (0 without a server)."""
    if server is None:
        return 0.0
    pid = int((server.data_dir / "postmaster.pid").read_text().split()[0])
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid:
            ticks += sum(int(f) for f in fields[11:15])
        elif int(fields[1]) == pid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def headwater_run(
    root: Path, select: list[str], env: dict[str, str], server: Any, exclude: Sequence[str] = ()
) -> dict:
    """Run ``headwater run -p root -s select -x exclude`` (no selection: the whole project);
    its wall and CPU seconds, the PostgreSQL server's CPU, the load average, and each step's
    status and seconds (from the history)."""
    from headwater import api

    cpu0, server0, started = _cpu_children(), _server_cpu(server), time.perf_counter()
    argv = [HEADWATER, "run", "-p", str(root), "-y", *(["-s", *select] if select else [])]
    argv += ["-x", *exclude] if exclude else []
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 5):
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    last = api.runs(root, limit=1)[0]
    steps = {
        s.step: {"status": s.status, "seconds": s.to_json()["seconds"], "error": s.error}
        for s in api.show(root, last.run_id).steps
    }
    return {
        "wall_s": wall,
        "cpu_s": _cpu_children() - cpu0,
        "server_cpu_s": _server_cpu(server) - server0,
        "load_avg": os.getloadavg()[0],
        "steps": steps,
    }


class BenchPostgres:
    """PostgreSQL with room for TPC-H: the test helper's 64 MB of shared buffers and 4 MB
    per sort would measure the settings, not the engine."""

    settings: ClassVar[dict[str, str]] = {
        "shared_buffers": "1GB",
        "work_mem": "64MB",
        "effective_cache_size": "4GB",
        "max_parallel_workers_per_gather": "2",
    }

    @staticmethod
    def start(base: Path) -> Any:
        from headwater.testing.servers import PostgresServer

        class Server(PostgresServer):
            settings = {**PostgresServer.settings, **BenchPostgres.settings}

        return Server(base)
