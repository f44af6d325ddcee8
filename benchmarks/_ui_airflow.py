"""Airflow 3's grid at the web UI issue's scale, for benchmarks/ui_compare.py.

A DAG of ``steps`` chained tasks (``step_000``...), serialized by ``airflow dags
reserialize`` into Airflow's SQLite metadata DB (``airflow db migrate``), then ``runs`` dag
runs and their task instances written through Airflow's own models (Core bulk inserts of
``DagRun.__table__`` and ``TaskInstance.__table__``, 10,000 rows a statement) with the
states benchmarks/ui_runs.py's ``fill`` gives Headwater's metastore: runs a minute apart,
steps a second each, about 1 in 25 runs failed at one step with the rest upstream_failed.

``airflow api-server`` (core API and UI only, one worker) then serves on 127.0.0.1 with
the simple auth manager letting everyone in as admin, and ``[api] maximum_page_limit``
raised to ``runs`` (its default, 100, would cap the grid's run list). The grid page
(``/dags/<dag>?limit=<runs>``, grid on the left; its menu offers 1 to 50 runs, the URL's
``limit`` any number) asks for ``/ui/grid/structure``, ``/ui/grid/runs`` and then one
NDJSON stream, ``/ui/grid/ti_summaries?run_ids=...`` of every shown run, drawing each
run's column as its line arrives.

The venv is the one tests/scheduling/test_airflow_export_airflow3.py and
benchmarks/airflow_chain.py use (``~/.cache/headwater-tests/airflow3-3.3.2``).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks._common import log
from benchmarks._ui_measure import Background, free_port, get_size, timed
from benchmarks.airflow_chain import AIRFLOW, airflow_venv

DAG_ID = "grid"
DAG = """
import datetime
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG("{dag_id}", schedule="* * * * *", catchup=False,
         start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)) as dag:
    previous = None
    for k in range({steps}):
        task = EmptyOperator(task_id=f"step_{{k:03d}}")
        if previous is not None:
            previous >> task
        previous = task
"""
SEED = """
import random, sys
from datetime import datetime, timedelta, timezone
from sqlalchemy import insert, select
from airflow.models.dag_version import DagVersion
from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session

dag_id, runs, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(7)  # the same draws as benchmarks/ui_runs.py's fill
start = datetime(2026, 1, 1, tzinfo=timezone.utc)
with create_session() as session:
    version = session.scalar(select(DagVersion.id).where(DagVersion.dag_id == dag_id))
    run_rows, ti_rows = [], []
    for n in range(runs):
        began = start + timedelta(minutes=n)
        run_id = f"scheduled__{began.isoformat()}"
        broken = rng.randrange(steps) if rng.random() < 0.04 else None
        for i in range(steps):
            state = "success"
            if broken is not None and i >= broken:
                state = "failed" if i == broken else "upstream_failed"
            at = began + timedelta(seconds=i)
            ti_rows.append(dict(
                task_id=f"step_{i:03d}", dag_id=dag_id, run_id=run_id, map_index=-1,
                start_date=at if state != "upstream_failed" else None,
                end_date=at + timedelta(seconds=1), duration=1.0, state=state, try_number=1,
                max_tries=0, pool="default_pool", pool_slots=1, queue="default",
                priority_weight=1, operator="EmptyOperator", dag_version_id=version))
        run_rows.append(dict(
            dag_id=dag_id, run_id=run_id, queued_at=began, logical_date=began,
            start_date=began, end_date=began + timedelta(seconds=steps),
            state="failed" if broken is not None else "success", run_type="scheduled",
            data_interval_start=began, data_interval_end=began, run_after=began,
            created_dag_version_id=version, clear_number=0))
    session.execute(insert(DagRun.__table__), run_rows)
    for at in range(0, len(ti_rows), 10_000):
        session.execute(insert(TaskInstance.__table__), ti_rows[at:at + 10_000])
print(len(run_rows), len(ti_rows))
"""
CELL = 'document.querySelector(\'a[id^="grid-"][href*="/tasks/"]\')'
# the oldest run's first cell: the grid's last column, in once every run's summaries are
OLDEST_CELL = "document.getElementById('grid-scheduled__2026-01-01T00:00:00+00:00-step_000')"


def _env(home: Path, runs: int) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__MAXIMUM_PAGE_LIMIT": str(max(runs, 100)),
    }


def prepare(home: Path, runs: int, steps: int) -> dict[str, float]:
    """The metadata DB of ``home`` made and filled; seconds each phase took."""
    bin_dir = airflow_venv()
    env = _env(home, runs)
    (home / "dags").mkdir(parents=True)
    (home / "dags" / f"{DAG_ID}.py").write_text(DAG.format(dag_id=DAG_ID, steps=steps))
    took = {}
    for name, argv in (
        ("db_migrate_s", [str(bin_dir / "airflow"), "db", "migrate"]),
        ("reserialize_s", [str(bin_dir / "airflow"), "dags", "reserialize"]),
        ("seed_s", [str(bin_dir / "python"), "-c", SEED, DAG_ID, str(runs), str(steps)]),
    ):
        began = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise RuntimeError(f"airflow: {' '.join(argv[:3])} failed: {done.stderr[-800:]}")
        took[name] = round(time.perf_counter() - began, 1)
    return took


def serve(home: Path, runs: int) -> tuple[Background, str]:
    """``airflow api-server`` on a free loopback port, ready; and its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [str(airflow_venv() / "airflow"), "api-server", "-H", "127.0.0.1", "-p", str(port)]
    argv += ["-w", "1", "--apps", "core"]
    ready = f"{url}/api/v2/monitor/health"
    return Background(argv, home / "api-server.log", ready, _env(home, runs), 600), url


def server_times(url: str, pid: int, runs: int, reps: int) -> dict[str, Any]:
    """The grid's three requests as the page makes them (newest runs first), each timed
    by :func:`timed`; ``ti_summaries`` also to its first NDJSON line."""
    with httpx.Client(base_url=url, timeout=1800) as client:
        ui = "/ui/grid"
        params: dict[str, str | int] = {"limit": runs, "order_by": "-run_after"}
        shown = client.get(f"{ui}/runs/{DAG_ID}", params=params).json()
        ids = [("run_ids", r["run_id"]) for r in shown]
        if len(ids) != runs:
            raise RuntimeError(f"airflow: the grid lists {len(ids)} runs, not {runs}")
        out: dict[str, Any] = {
            "structure": timed(get_size(client, f"{ui}/structure/{DAG_ID}", params=params), pid, reps),
            "runs": timed(get_size(client, f"{ui}/runs/{DAG_ID}", params=params), pid, reps),
            "ti_summaries": timed(get_size(client, f"{ui}/ti_summaries/{DAG_ID}", params=ids), pid, reps),
        }  # fmt: skip
        firsts = []
        for _ in range(reps):
            began = time.perf_counter()
            with client.stream("GET", f"{ui}/ti_summaries/{DAG_ID}", params=ids) as answer:
                next(answer.iter_lines())
                firsts.append(time.perf_counter() - began)
        out["ti_summaries"]["first_line_median_s"] = round(sorted(firsts)[len(firsts) // 2], 3)
    calls = ("structure", "runs", "ti_summaries")
    out["grid_total_median_s"] = round(sum(out[k]["median_s"] for k in calls), 3)
    out["grid_total_cpu_median_s"] = round(sum(out[k]["cpu_median_s"] for k in calls), 3)
    return out


def browser_times(url: str, runs: int, reps: int, timeout: float) -> dict[str, Any]:
    """The grid page showing ``runs`` runs in Chromium (its run count is the page's
    ``limit`` parameter: the page's own menu offers 1 to 50): ms from navigation start to
    the first task-instance cell painted and to the last column's (every run in). A
    figure not reached in ``timeout`` seconds counts as the timeout."""
    from playwright.sync_api import TimeoutError as PaintTimeout

    from benchmarks._ui_measure import browser_page, first_paint_ms

    cells, lasts = [], []
    with browser_page() as page:
        first_paint_ms(page, f"{url}/dags/{DAG_ID}?limit=10", CELL, timeout)  # bundle cached
        for rep in range(reps):
            cell = last = float("inf")  # a figure not reached counts as the timeout
            try:
                cell = first_paint_ms(page, f"{url}/dags/{DAG_ID}?limit={runs}", CELL, timeout)
                done = page.wait_for_function(
                    f"() => ({OLDEST_CELL}) ? performance.now() : false",
                    polling="raf", timeout=timeout * 1000,
                )  # fmt: skip
                last = float(done.json_value())
            except PaintTimeout:
                pass
            cells.append(cell)
            lasts.append(last)
            log(f"  airflow grid in Chromium {rep + 1}/{reps}: first cell {cells[-1]:.0f} ms, "
                f"last column {lasts[-1]:.0f} ms")  # fmt: skip
    return {"first_cell": _median_of(cells, timeout), "last_column": _median_of(lasts, timeout)}


def _median_of(shown: list[float], timeout: float) -> dict[str, Any]:
    """The median of ``shown`` (ms) and all of them; a timeout (inf) counts as above any."""
    middle = sorted(shown)[len(shown) // 2]
    if middle == float("inf"):
        return {"timeout_s": timeout}
    return {"median_ms": round(middle), "all_ms": [None if s == float("inf") else round(s) for s in shown]}  # fmt: skip


def measure(home: Path, runs: int, steps: int, reps: int, timeout: float) -> dict[str, Any]:
    """Everything above, with the server stopped at the end; ``version`` and phase times."""
    log(f"  airflow {AIRFLOW}: {runs} dag runs x {steps} tasks into {home}")
    found: dict[str, Any] = {"version": AIRFLOW, "setup": prepare(home, runs, steps)}
    server, url = serve(home, runs)
    try:
        found["ready_s"] = round(server.ready_s, 1)
        found["server"] = server_times(url, server.pid, runs, reps)
        found["browser"] = browser_times(url, runs, reps, timeout)
    finally:
        server.stop()
    return found
