"""The runs grid at the web UI issue's scale: 1,000 runs of a 100-step pipeline, filled
into a project's metastore directly (no runs executed), then ``api.grid`` (the data the
page shows) timed in this process: the issue's target is under 1 s of server time for the
page. Not a timed test; run by hand:

    .venv/bin/python -m benchmarks.ui_runs [--runs 1000] [--steps 100] [--reps 5]

It prints the median and best of ``reps`` calls of ``api.grid(limit=runs)`` and of its
JSON (``GridPage.to_json`` + ``json.dumps``), and the JSON's size. ``fill`` is also used by
the UI's page measurement (benchmarks/ui_runs_page.py) to build the same history.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks._common import HEADWATER, work_dir

_STATUSES = ["success"] * 96 + ["failed", "upstream_failed", "skipped", "running"]


def fill(project_dir: Path, runs: int, steps: int, pipeline: str = "daily") -> None:
    """Write ``runs`` finished runs of a ``steps``-step chain into the project's metastore
    in a few bulk inserts: one a minute apart, steps a second each; about 1 in 25 runs
    failed (one failed step, the rest upstream_failed)."""
    from headwater import api
    from headwater.metastore import Metastore
    from headwater.metastore import tables as t

    project = api.open_project(project_dir)
    names = [f"staging.step_{i:03d}" for i in range(steps)]
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    run_rows, step_rows = [], []
    for n in range(runs):
        run_id = f"{(start + timedelta(minutes=n)).strftime('%Y%m%dT%H%M%S')}-{n:06x}"
        began = start + timedelta(minutes=n)
        broken = rng.randrange(steps) if rng.random() < 0.04 else None
        for i, name in enumerate(names):
            status = "success"
            if broken is not None and i >= broken:
                status = "failed" if i == broken else "upstream_failed"
            at = began + timedelta(seconds=i)
            step_rows.append(
                {"run_id": run_id, "step": name, "kind": "model", "status": status,
                 "started_at": at if status != "upstream_failed" else None,
                 "finished_at": at + timedelta(seconds=1), "attempts": 1,
                 "rows_in": None, "rows_out": 10, "error": "boom" if i == broken else None,
                 "log_path": None}
            )  # fmt: skip
        run_rows.append(
            {"run_id": run_id, "project": project.name, "pipeline": pipeline,
             "selection": None, "trigger": "schedule", "parent_run_id": None,
             "status": "failed" if broken is not None else "success", "started_at": began,
             "finished_at": began + timedelta(seconds=steps), "pid": None, "hostname": None,
             "params": json.dumps({"steps": names})}
        )  # fmt: skip
    with Metastore.open(project.metastore_url) as store, store.engine.begin() as conn:
        conn.execute(t.runs.insert(), run_rows)
        for at in range(0, len(step_rows), 10_000):
            conn.execute(t.step_runs.insert(), step_rows[at : at + 10_000])


def make_project(name: str, runs: int, steps: int) -> Path:
    """A fresh scaffolded project under benchmarks/.work with the history filled in."""
    root = work_dir("ui", fresh=True) / name
    subprocess.run([HEADWATER, "init", str(root)], check=True, capture_output=True)
    fill(root, runs, steps)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    from headwater import api
    from headwater.api.grid import grid

    root = make_project("grid", args.runs, args.steps)
    project = api.open_project(root)
    data, both, cpu = [], [], []
    for _ in range(args.reps):
        t0, c0 = time.perf_counter(), time.process_time()
        page = grid(project, limit=args.runs)
        t1 = time.perf_counter()
        body = json.dumps(page.to_json(), separators=(",", ":"))
        t2, c2 = time.perf_counter(), time.process_time()
        data.append(t1 - t0)
        both.append(t2 - t0)
        cpu.append(c2 - c0)
    print(f"{args.runs} runs x {args.steps} steps: {len(page.runs)} x {len(page.steps)} cells")
    print(f"api.grid:          median {statistics.median(data):.3f} s, best {min(data):.3f} s")
    print(f"api.grid + JSON:   median {statistics.median(both):.3f} s, best {min(both):.3f} s")
    print(f"  its CPU time:    median {statistics.median(cpu):.3f} s, best {min(cpu):.3f} s")
    print(f"JSON size:         {len(body) / 1e6:.2f} MB")


if __name__ == "__main__":
    sys.exit(main())
