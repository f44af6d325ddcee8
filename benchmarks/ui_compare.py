"""The web UI side by side with Airflow 3 and Dagster on the same data (issue 15): the runs
grid (1,000 runs of a 100-step pipeline) in Headwater and in Airflow 3.3.2's grid, and the
project graph (2,000 assets) in Headwater and in Dagster's asset lineage. Not a timed test;
run by hand (about 25 minutes on a loaded machine, the venvs already made):

    .venv/bin/python -m benchmarks.ui_compare [--runs 1000] [--steps 100] [--assets 2000]
        [--reps 3] [--timeout 300] [--only grid|graph]

Each tool runs as its own server on 127.0.0.1, started for the view and stopped after it;
Airflow and Dagster in venvs of their own (benchmarks/_ui_airflow.py, _ui_dagster.py).
For each view, two figures:

- **server time**: the view's data requests sent again over loopback (the requests the
  browser made until the view was painted: Headwater's grid page embeds its data, its
  graph page fetches ``/api/graph``; Dagster's are GraphQL queries; Airflow's the grid's
  three ``/ui/grid`` calls), median wall and the server's process-tree CPU seconds, and
  what the first, cold request took;
- **first paint** in Chromium (Debian's, through Playwright, headless): milliseconds from
  navigation start to the first animation frame at which the view's first element is in
  the document (benchmarks/_ui_measure.py), the first navigation (cold) and the median
  of ``reps`` after it. What counts as painted: Headwater's grid and graph set
  ``window.headwaterGrid`` / ``window.hwGraph.timings.firstDraw`` once their canvas is
  drawn; Airflow's first task-instance cell (and, apart, the oldest run's cell: the last
  column, every run in); Dagster's lineage SVG holding its first edge.

A view not painted within ``--timeout`` seconds gets the timeout as its figure. The
figures are printed as JSON (stdout), with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._common import log, work_dir
from benchmarks._server_proc import ServerProc
from benchmarks._ui_measure import measure_view

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "ui"))
from asset_projects import generated_project

GRID_DRAWN = "window.headwaterGrid"
GRAPH_DRAWN = "window.hwGraph && window.hwGraph.timings.firstDraw !== null"


def _token(root: Path) -> dict[str, str]:
    info = json.loads((root / ".headwater" / "server.json").read_text())
    return {"Authorization": f"Bearer {info['token']}"}


def headwater_view(root: Path, path: str, predicate: str, reps: int, timeout: float) -> Any:
    """``headwater server`` of ``root`` started, ``path`` measured, the server stopped."""
    server = ServerProc(root)
    try:
        found = {"ready_s": round(server.ready_s, 1)}
        found |= measure_view(server.url + path, predicate, server.pid, reps, timeout, _token(root))
    finally:
        server.stop()
    return found


def grid(runs: int, steps: int, reps: int, timeout: float) -> dict[str, Any]:
    """The runs grid in Headwater, then Airflow's grid of the same runs."""
    from benchmarks import _ui_airflow
    from benchmarks.ui_runs import make_project

    log(f"grid: headwater, {runs} runs x {steps} steps")
    root = make_project("compare_grid", runs, steps)
    path = f"/runs?limit={runs}"
    found = {"headwater": headwater_view(root, path, GRID_DRAWN, reps, timeout)}
    log(f"grid: airflow, {runs} runs x {steps} steps")
    home = work_dir("ui_compare", "airflow", fresh=True)
    found["airflow"] = _ui_airflow.measure(home, runs, steps, reps, timeout)
    return found


def graph(assets: int, reps: int, timeout: float) -> dict[str, Any]:
    """The project graph in Headwater, then Dagster's asset lineage of the same graph."""
    from benchmarks import _ui_dagster

    log(f"graph: headwater, {assets} assets")
    root = work_dir("ui_compare", "graph", fresh=True) / "project"
    deps = generated_project(root, assets)  # layerN.mNNNN -> what it reads
    found = {"headwater": headwater_view(root, "/graph", GRAPH_DRAWN, reps, timeout)}
    log(f"graph: dagster {_ui_dagster.DAGSTER}, {assets} assets")
    home = work_dir("ui_compare", "dagster", fresh=True)
    server, url = _ui_dagster.serve(home, deps)
    try:
        view = url + _ui_dagster.VIEW
        dagster = {"version": _ui_dagster.DAGSTER, "ready_s": round(server.ready_s, 1)}
        found["dagster"] = dagster | measure_view(
            view, _ui_dagster.PAINTED, server.pid, reps, timeout
        )
    finally:
        server.stop()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--assets", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300, help="seconds a view may take")
    parser.add_argument("--only", choices=["grid", "graph"])
    args = parser.parse_args()
    began = time.perf_counter()
    found: dict[str, Any] = {"load_before": os.getloadavg()}
    if args.only in (None, "grid"):
        found["grid"] = grid(args.runs, args.steps, args.reps, args.timeout)
    if args.only in (None, "graph"):
        found["graph"] = graph(args.assets, args.reps, args.timeout)
    found["load_after"] = os.getloadavg()
    found["took_s"] = round(time.perf_counter() - began)
    print(json.dumps(found, indent=2))


if __name__ == "__main__":
    main()
