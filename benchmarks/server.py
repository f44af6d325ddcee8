"""The server's benchmarks (issue 14): a real ``headwater server`` on 127.0.0.1 for each
generated project, against the same work done in-process by ``headwater run`` (no server).

    .venv/bin/python -m benchmarks.run --only server --output benchmarks/results_server.json

Cases (projects as in :mod:`benchmarks.runner_overhead`: no-op SQL views in ``staging``):

- ``gap``: a chain of 100 views run ``reps`` times through the server (``headwater run``,
  the client) and ``reps`` times in-process; each gap is one step's start minus the previous
  step's finish, from the metastore's ``step_runs``; p50 and p99 of all gaps of a side.
- ``tick``: a pipeline ``every = "1s"`` (the smallest ``every``), ``catchup = "none"``:
  for each scheduled run, its first step's start minus its interval's end (the instant the
  interval became due); p50 over >= 10 intervals.
- ``wide``: one run of 10,000 independent views through the server: it finishes, and its
  step state changes per second (two per step: started, finished) over the run's span.
- ``wide_pg``: ``wide`` with the metastore on a local PostgreSQL (the shared metastore of
  several servers): its state changes per second (target 2,000).
- ``metastore``: the metastore's own rate, no warehouse work: 10,000 no-op steps through the
  run's executor and recorder on SQLite and on PostgreSQL (``benchmarks._state_changes``);
  the wide case's note gives DuckDB's own rate for its views (the same statements from 4
  threads), which bounds it.
- ``idle``: a server of a project with 100 pipelines ``schedule = "0 6 * * *"``,
  ``catchup = "none"`` (none fires): time from process start to /api/health answering, CPU
  (utime + stime) over 30 s as % of one core, VmRSS at the end.
- ``small``: wall time of ``headwater run`` on a 5-view chain with a server up (the client
  enqueues and follows) against without (in-process, Python's start-up and imports paid).

Airflow and Dagster are not installed: the README cites the issue's figures for them.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from benchmarks._common import HEADWATER, Row, log, median, ratio, time_subprocess, work_dir
from benchmarks._server_proc import (
    ServerProc,
    chain_gaps,
    cpu_seconds,
    latest_runs,
    percentile,
    rss_mb,
    steps_of,
)
from benchmarks._state_changes import duckdb_views_rate, recorder_rate, step_rate
from benchmarks.runner_overhead import make_project
from headwater.metastore import Metastore

NAME = "server"
CITED = "cited, measured by the issue's author on this machine, not rerun here"


def _run_client(root: Path, out: Path) -> tuple[float, str]:
    """``headwater run -p root`` (through a live server if one is up): wall s, newest run id."""
    timed = time_subprocess([HEADWATER, "run", "-p", str(root)], stdout_path=out)
    if timed.returncode != 0:
        raise RuntimeError(f"headwater run exited {timed.returncode}: {timed.stderr[-500:]}")
    return timed.seconds, latest_runs(root, 1)[0].run_id


def _fresh(root: Path) -> None:
    shutil.rmtree(root / ".headwater", ignore_errors=True)


def _sides(root: Path, reps: int, *, reads: int = 0) -> dict[str, Any]:
    """``reps`` runs through a server, then ``reps`` in-process: walls and chain gaps;
    with the server up, also ``reads`` walls of ``headwater runs`` (a client's fixed cost)."""
    found: dict[str, Any] = {}
    server = ServerProc(root)
    try:
        walls, gaps = [], []
        for rep in range(reps):
            wall, run_id = _run_client(root, root.parent / f"server_{rep}.txt")
            walls.append(wall)
            gaps += chain_gaps(steps_of(root, run_id))
        listing = [HEADWATER, "runs", "-p", str(root)]
        read_walls = [time_subprocess(listing).seconds for _ in range(reads)]
        found["server"] = {
            "walls": walls,
            "gaps": gaps,
            "ready_s": server.ready_s,
            "reads": read_walls,
        }
    finally:
        server.stop()
    walls, gaps = [], []
    for rep in range(reps):
        wall, run_id = _run_client(root, root.parent / f"inproc_{rep}.txt")
        walls.append(wall)
        gaps += chain_gaps(steps_of(root, run_id))
    found["in_process"] = {"walls": walls, "gaps": gaps}
    return found


def gap_case(n: int, reps: int) -> list[Row]:
    root = make_project(work_dir("server", f"chain_{n}") / "project", "chain", "view", n)
    log(f"  server: chain of {n} views, {reps} runs with a server, {reps} without")
    found = _sides(root, reps)
    srv, inp = found["server"]["gaps"], found["in_process"]["gaps"]
    rows = []
    for pct, target in ((50, 0.050), (99, 0.250)):
        ours, floor = percentile(srv, pct), percentile(inp, pct)
        rows.append(
            Row(
                NAME,
                f"gap between dependent steps p{pct}, chain of {n} views",
                ours,
                floor=floor,
                ratio=ratio(ours, floor),
                target=f"<= {target * 1000:.0f} ms",
                ok=ours <= target,
                note=f"{ours * 1000:.2f} ms vs {floor * 1000:.2f} ms in-process "
                f"({len(srv)} / {len(inp)} gaps)",
                samples=srv,
                extra={"in_process_gaps": inp, "walls": found},
            )
        )
    return rows


def tick_case(intervals: int) -> list[Row]:
    root = make_project(work_dir("server", "tick") / "project", "wide", "view", 1)
    with open(root / "headwater.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[pipelines.tick]\nselect = ["*"]\nevery = "1s"\ncatchup = "none"\n')
    log(f"  server: every = 1s, waiting for {intervals} scheduled runs")
    server = ServerProc(root)
    try:
        deadline = time.monotonic() + intervals * 3 + 20
        while time.monotonic() < deadline:
            runs = [r for r in latest_runs(root) if r.trigger == "schedule"]
            if sum(r.status == "success" for r in runs) >= intervals:
                break
            time.sleep(0.5)
    finally:
        server.stop()
    latencies = []
    for run in latest_runs(root):
        end = run.params.get("interval_end")
        steps = steps_of(root, run.run_id) if run.status == "success" else []
        if run.trigger == "schedule" and isinstance(end, str) and steps:
            first = min(s.started_at for s in steps if s.started_at is not None)
            latencies.append((first - _instant(end)).total_seconds())
    p50 = median(latencies) if latencies else None
    return [
        Row(
            NAME,
            f"schedule tick -> first step started p50, every = 1s ({len(latencies)} intervals)",
            p50,
            target="<= 1 s",
            ok=p50 is not None and p50 <= 1.0 and len(latencies) >= intervals,
            note="from the interval's end (when it became due); the loop ticks each 1 s",
            samples=latencies,
        )
    ]


def _instant(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text)


def wide_case(n: int) -> list[Row]:
    root = make_project(work_dir("server", f"wide_{n}") / "project", "wide", "view", n)
    log(f"  server: one run of {n} independent views through the server")
    server = ServerProc(root, timeout=300)
    try:
        wall, run_id = _run_client(root, root.parent / "run.txt")
    finally:
        server.stop()
    steps = steps_of(root, run_id)
    run = latest_runs(root, 1)[0]
    done = sum(s.status == "success" for s in steps)
    span, rate = step_rate(steps)
    floor = duckdb_views_rate(root.parent, n)  # the same views from 4 threads, DuckDB alone
    return [
        Row(
            NAME,
            f"{n}-step run (wide views) through the server, first start -> last finish",
            span,
            target=">= 200 state changes/s (SQLite)",
            ok=run.status == "success" and done == n and (rate or 0) >= 200,
            note=f"{rate or 0:.0f} state changes/s (DuckDB alone, the same views from 4 "
            f"threads: {floor:.0f}/s); run {run.status}, {done}/{n} steps; "
            f"client wall {wall:.1f} s, server ready {server.ready_s:.1f} s",
            extra={
                "rate": rate,
                "duckdb_views_rate": floor,
                "client_wall_s": wall,
                "ready_s": server.ready_s,
                "status": run.status,
            },
        )
    ]


def wide_pg_case(n: int) -> list[Row]:
    """``wide`` with the metastore on PostgreSQL (a local server, as several servers would
    share it): the step state changes per second the metastore takes there."""
    from headwater.testing.servers import PostgresServer

    work = work_dir("server", f"wide_pg_{n}")
    root = make_project(work / "project", "wide", "view", n)
    log(f"  server: one run of {n} independent views, metastore on PostgreSQL")
    with PostgresServer(work / "pg") as pg:
        pg.create_database("metastore")
        url = pg.url_for("metastore", scheme=pg.sqlalchemy_scheme)
        toml = root / "headwater.toml"
        toml.write_text(
            toml.read_text().replace("[project]\n", f'[project]\nmetastore = "{url}"\n', 1)
        )
        server = ServerProc(root, timeout=300)
        try:  # _run_client reads the SQLite metastore: the run is read from PostgreSQL below
            cmd = [HEADWATER, "run", "-p", str(root)]
            timed = time_subprocess(cmd, stdout_path=root.parent / "run.txt")
            wall = timed.seconds
        finally:
            server.stop()
        with Metastore.open(url) as store:
            run = store.runs(1)[0]
            steps = store.step_runs(run.run_id)
    done = sum(s.status == "success" for s in steps)
    span, rate = step_rate(steps)
    return [
        Row(
            NAME,
            f"{n}-step run (wide views) through the server, metastore on PostgreSQL",
            span,
            target=">= 2000 state changes/s (PostgreSQL)",
            ok=run.status == "success" and done == n and (rate or 0) >= 2000,
            note=f"{rate or 0:.0f} state changes/s; run {run.status}, {done}/{n} steps; "
            f"client wall {wall:.1f} s, server ready {server.ready_s:.1f} s",
            extra={"rate": rate, "client_wall_s": wall, "status": run.status},
        )
    ]


def metastore_case(n: int, reps: int) -> list[Row]:
    """The metastore's own rate, no warehouse work (``recorder_rate``): ``n`` no-op steps
    through the run's executor and recorder, ``reps`` rounds alternating SQLite and a local
    PostgreSQL; medians."""
    from headwater.testing.servers import PostgresServer

    work = work_dir("server", f"metastore_{n}")
    log(f"  server: metastore alone, {n} no-op steps, {reps} rounds on SQLite and PostgreSQL")
    rates: dict[str, list[float]] = {"SQLite": [], "PostgreSQL": []}
    with PostgresServer(work / "pg") as pg:
        pg.create_database("metastore")
        pg_url = pg.url_for("metastore", scheme=pg.sqlalchemy_scheme)
        for rep in range(reps):
            sqlite = work / f"metastore_{rep}.sqlite"
            for stale in work.glob(f"{sqlite.name}*"):
                stale.unlink()
            rates["SQLite"].append(recorder_rate(f"sqlite:///{sqlite}", n))
            rates["PostgreSQL"].append(recorder_rate(pg_url, n))
    return [
        Row(
            NAME,
            f"metastore alone ({kind}): {n} no-op steps' state changes written",
            None,
            target=f">= {target} state changes/s ({kind})",
            ok=median(found) >= target,
            note=f"{median(found):.0f} state changes/s, median of {reps} "
            f"({', '.join(f'{r:.0f}' for r in found)}); executor and recorder as in a run",
            samples=found,
        )
        for kind, target, found in (
            ("SQLite", 200, rates["SQLite"]),
            ("PostgreSQL", 2000, rates["PostgreSQL"]),
        )
    ]


def idle_case(pipelines: int, seconds: float) -> list[Row]:
    root = make_project(work_dir("server", "idle") / "project", "wide", "view", 1)
    with open(root / "headwater.toml", "a", encoding="utf-8") as fh:
        for k in range(pipelines):
            fh.write(
                f'\n[pipelines.p{k:03d}]\nselect = ["*"]\n'
                'schedule = "0 6 * * *"\ncatchup = "none"\n'
            )
    log(f"  server: idle with {pipelines} schedules, {seconds:.0f} s")
    server = ServerProc(root)
    try:
        time.sleep(1.0)  # past the first tick
        before, started = cpu_seconds(server.pid), time.perf_counter()
        time.sleep(seconds)
        used, elapsed = cpu_seconds(server.pid) - before, time.perf_counter() - started
        rss = rss_mb(server.pid)
    finally:
        server.stop()
    runs = latest_runs(root)
    cpu_pct = 100 * used / elapsed
    extra: dict[str, Any] = {"cpu_s": used, "over_s": elapsed, "rss_mb": rss, "runs": len(runs)}
    return [
        Row(
            NAME,
            f"idle server, {pipelines} schedules: CPU over {elapsed:.0f} s",
            None,
            target="< 2% of a core",
            ok=cpu_pct < 2 and not runs,
            note=f"{cpu_pct:.2f}% of a core ({used:.2f} CPU s); runs started: {len(runs)}",
            extra=extra,
        ),
        Row(
            NAME,
            f"idle server, {pipelines} schedules: RSS",
            None,
            target="< 150 MB",
            ok=rss < 150,
            note=f"{rss:.0f} MB (VmRSS)",
            extra=extra,
        ),
        Row(
            NAME,
            f"idle server, {pipelines} schedules: process start -> /api/health",
            server.ready_s,
            target="< 2 s",
            ok=server.ready_s < 2,
        ),
    ]


def small_case(n: int, reps: int) -> list[Row]:
    root = make_project(work_dir("server", f"small_{n}") / "project", "chain", "view", n)
    log(f"  server: headwater run of {n} views, {reps} with a server up, {reps} without")
    _fresh(root)
    _run_client(root, root.parent / "warmup.txt")  # both sides find a warehouse already
    found = _sides(root, reps, reads=reps)
    ours = median(found["server"]["walls"])
    floor = median(found["in_process"]["walls"])
    read = median(found["server"]["reads"])
    ready = found["server"]["ready_s"]
    return [
        Row(
            NAME,
            f"headwater run, chain of {n} views: server up vs in-process",
            ours,
            floor=floor,
            ratio=ratio(ours, floor),
            note=f"floor: no server; `headwater runs` through the server takes {read:.2f} s",
            samples=found["server"]["walls"],
            extra={"in_process_walls": found["in_process"]["walls"], **found["server"]},
        ),
        Row(
            NAME,
            f"server of {n} views, no schedules: process start -> /api/health",
            ready,
            target="< 2 s",
            ok=ready < 2,
        ),
    ]


def run(*, quick: bool = False) -> list[Row]:
    """Every case; ``quick``: small sizes for a smoke check."""
    rows: list[Row] = []
    rows += gap_case(20 if quick else 100, 1 if quick else 3)
    rows += tick_case(3 if quick else 12)
    rows += wide_case(500 if quick else 10_000)
    rows += wide_pg_case(500 if quick else 10_000)
    rows += metastore_case(500 if quick else 10_000, 1 if quick else 3)
    rows += idle_case(100, 5.0 if quick else 30.0)
    rows += small_case(5, 2 if quick else 5)
    return rows
