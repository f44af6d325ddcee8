"""Airflow 3 standalone next to ``headwater server`` on the same 100-step chain.

    .venv/bin/python -m benchmarks.run --only airflow        # or --only server,airflow

In one invocation:

- **headwater**: :func:`benchmarks.server.gap_case`: a chain of 100 views, run through a live
  ``headwater server`` (``headwater run`` enqueues and follows); gaps between dependent steps
  from the metastore's step start/finish times, and the client's wall time;
- **airflow**: ``airflow standalone`` (Airflow 3.3.2 with its defaults: SQLite metadata,
  LocalExecutor, api-server, scheduler, dag-processor, triggerer) in its own venv (the one
  tests/scheduling/test_airflow_export_airflow3.py caches under
  ``~/.cache/headwater-tests/airflow3-3.3.2``, made with uv when missing), a DAG of 100
  ``BashOperator(bash_command="true")`` in a chain (Airflow never executes an
  ``EmptyOperator``, so a no-op task is the cheapest one it runs). Measured: process start
  to the API's health answering (all four components healthy); the DAG run's wall time
  (trigger through the REST API to the run's ``end_date``); gaps between dependent tasks
  from ``task_instance.start_date``/``end_date`` in Airflow's SQLite; the RSS of the whole
  process group once the run is over.

Airflow's ``[api] port`` and ``[core] execution_api_server_url`` are moved to a free port
(tasks report through the execution API); the simple auth manager lets everyone in
(``simple_auth_manager_all_admins``): the REST calls carry no token.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks._common import Row, log, median, ratio, work_dir
from benchmarks._server_proc import percentile, stop_group
from benchmarks.server import gap_case

NAME = "airflow"
AIRFLOW = "3.3.2"
CACHE = Path(os.environ.get("HEADWATER_TEST_CACHE") or Path.home() / ".cache" / "headwater-tests")
DAG = """
import datetime
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG("chain", schedule=None, catchup=False,
         start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)) as dag:
    previous = None
    for k in range({n}):
        task = BashOperator(task_id=f"step_{{k:04d}}", bash_command="true")
        if previous is not None:
            previous >> task
        previous = task
"""


def airflow_venv() -> Path:
    """The cached Airflow venv's bin folder (made with uv when missing, as the test does)."""
    venv = CACHE / f"airflow3-{AIRFLOW}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"airflow3-{AIRFLOW}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / ".installed").exists():
            shutil.rmtree(venv, ignore_errors=True)
            uv = str(Path(sys.executable).with_name("uv"))
            log(f"installing apache-airflow=={AIRFLOW} into {venv}")
            subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
            subprocess.run(
                [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
                 f"apache-airflow=={AIRFLOW}"],
                check=True, timeout=1200,
            )  # fmt: skip
            (venv / ".installed").write_text(f"apache-airflow=={AIRFLOW}\n")
    return venv / "bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(url: str, method: str = "GET", body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


class Standalone:
    """``airflow standalone`` in its own process group, with ``home`` as AIRFLOW_HOME."""

    def __init__(self, home: Path, timeout: float = 600) -> None:
        bin_dir = airflow_venv()
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",  # it starts `airflow` children
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        }
        self.log_path = home / "standalone.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(bin_dir / "airflow"), "standalone"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        self._wait_healthy(timeout)
        self.ready_s = time.perf_counter() - started

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"airflow standalone exited: see {self.log_path}")
            try:
                health = _call(f"{self.url}/api/v2/monitor/health")
                if all(
                    (health.get(k) or {}).get("status") == "healthy"
                    for k in ("metadatabase", "scheduler", "triggerer", "dag_processor")
                ):
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"airflow standalone not healthy in {timeout:.0f} s")

    def rss_mb(self) -> float:
        """VmRSS summed over the process group (standalone, its components, the workers)."""
        total = 0
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                if os.getpgid(int(status.parent.name)) != self.proc.pid:
                    continue
                total += next(
                    int(ln.split()[1]) for ln in status.read_text().splitlines()
                    if ln.startswith("VmRSS:")
                )  # fmt: skip
            except (OSError, StopIteration, ValueError):
                continue
        return total / 1024

    def stop(self) -> None:
        """SIGTERM to the group, SIGKILL to what is left after 30 s."""
        try:
            stop_group(self.proc, poll=0.5)
        finally:
            self._log.close()


def _airflow_run(home: Path, n: int, timeout: float) -> dict[str, Any]:
    """Start standalone, wait for the chain to be parsed, trigger it, wait for it to end."""
    airflow = Standalone(home)
    try:
        dags = f"{airflow.url}/api/v2/dags"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # the dag-processor parses the file
            try:
                _call(f"{dags}/chain")
                break
            except OSError:
                time.sleep(0.5)
        _call(f"{dags}/chain", "PATCH", {"is_paused": False})
        triggered = time.perf_counter()
        run = _call(f"{dags}/chain/dagRuns", "POST", {"logical_date": None})
        run_id = run["dag_run_id"]
        deadline = time.monotonic() + timeout
        state = run["state"]
        while state not in ("success", "failed") and time.monotonic() < deadline:
            time.sleep(0.5)
            state = _call(f"{dags}/chain/dagRuns/{urllib.parse.quote(run_id)}")["state"]
        wall = time.perf_counter() - triggered
        rss = airflow.rss_mb()
        ready = airflow.ready_s
    finally:
        airflow.stop()
    return {"state": state, "wall_s": wall, "rss_mb": rss, "ready_s": ready, "run_id": run_id}


def _gaps(db: Path, run_id: str) -> tuple[list[float], float | None]:
    """Gaps between dependent tasks (each step's start minus the previous one's end) and the
    first start to the last end, from Airflow's metadata database."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        rows = con.execute(
            "select task_id, start_date, end_date from task_instance "
            "where dag_id = 'chain' and run_id = ? order by task_id",
            [run_id],
        ).fetchall()
    if not rows or any(r[1] is None or r[2] is None for r in rows):
        return [], None
    at = [(datetime.fromisoformat(s), datetime.fromisoformat(e)) for _, s, e in rows]
    gaps = [(b[0] - a[1]).total_seconds() for a, b in itertools.pairwise(at)]
    return gaps, (at[-1][1] - at[0][0]).total_seconds()


def run(*, quick: bool = False) -> list[Row]:
    """Headwater's server and Airflow standalone on the same chain, side by side."""
    n = 20 if quick else 100
    ours = gap_case(n, 1 if quick else 3)
    hw_gaps = ours[0].samples
    hw_walls = ours[0].extra["walls"]["server"]["walls"]
    home = work_dir("airflow", "home", fresh=True)
    (home / "dags").mkdir()
    (home / "dags" / "chain.py").write_text(DAG.format(n=n))
    log(f"  airflow: standalone, a chain of {n} BashOperator('true')")
    found = _airflow_run(home, n, timeout=60 + 20 * n)
    gaps, span = _gaps(home / "airflow.db", found["run_id"])
    ok = found["state"] == "success" and len(gaps) == n - 1
    rows = []
    for pct in (50, 99):
        theirs, mine = (percentile(gaps, pct) if gaps else None), percentile(hw_gaps, pct)
        rows.append(
            Row(
                NAME,
                f"gap between dependent tasks p{pct}, chain of {n}: Airflow {AIRFLOW} standalone",
                theirs,
                floor=mine,
                ratio=ratio(theirs, mine),
                note=f"floor: headwater server {mine * 1000:.2f} ms; airflow run "
                f"{found['state']}, {len(gaps)} gaps",
                samples=gaps,
                extra={"headwater_gaps": hw_gaps, **found},
            )
        )
    hw_wall = median(hw_walls)
    rows.append(
        Row(
            NAME,
            f"chain of {n}: wall, trigger -> run finished: Airflow {AIRFLOW} standalone",
            found["wall_s"],
            floor=hw_wall,
            ratio=ratio(found["wall_s"], hw_wall),
            ok=ok,
            note=f"floor: `headwater run` through the server (client wall); Airflow first task "
            f"start -> last end {span or 0:.1f} s; ready in {found['ready_s']:.1f} s; "
            f"RSS of its processes {found['rss_mb']:.0f} MB",
            extra={"headwater_walls": hw_walls, "span_s": span, **found},
        )
    )
    return ours + rows
