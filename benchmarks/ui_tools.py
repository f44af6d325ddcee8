"""The web UI's quarantine, query, backfill and store pages on the demo store (scale 1:
about 20,000 orders): the server's time for each page and its JSON, and the CSV and
Parquet downloads of a 1,000,000-row answer (time, size, the server's RSS before and
after: a download streams, so it must not grow by the answer's size). Not a timed test;
run by hand:

    .venv/bin/python -m benchmarks.ui_tools [--scale 1] [--reps 5]

The demo's pipeline gets a daily schedule that ended on 2026-01-01 (the server has nothing
to run) so the backfill page can show a year of intervals.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from typing import Any

import httpx

from benchmarks._common import HEADWATER, work_dir
from benchmarks._server_proc import ServerProc, rss_mb

EXPORT_SQL = "select s.* from marts.fct_sales s, range(100) limit 1000000"
SCHEDULE = '[pipelines.daily]\nschedule = "0 6 * * *"\nstart = "2025-01-01"\nend = "2026-01-01"\n'


def _timed(client: httpx.Client, path: str, reps: int, **params: Any) -> float:
    """Median seconds of ``reps`` GETs of ``path`` (each read whole)."""
    took = []
    for _ in range(reps):
        start = time.perf_counter()
        client.get(path, params=params).raise_for_status()
        took.append(time.perf_counter() - start)
    return statistics.median(took)


def _download(client: httpx.Client, fmt: str, pid: int) -> dict[str, float]:
    before = rss_mb(pid)
    start = time.perf_counter()
    size = 0
    peak = before
    with client.stream("GET", "/api/query/export", params={"sql": EXPORT_SQL, "format": fmt}) as r:
        r.raise_for_status()
        for chunk in r.iter_bytes():
            size += len(chunk)
            peak = max(peak, rss_mb(pid))
    return {
        "seconds": round(time.perf_counter() - start, 2),
        "mb": round(size / 1e6, 1),
        "rss_before_mb": round(before, 1),
        "rss_peak_mb": round(peak, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    root = work_dir("ui_tools", fresh=True) / "demo"
    made = subprocess.run(
        [HEADWATER, "demo", "--dir", str(root), "--scale", str(args.scale)],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        raise SystemExit(made.stdout + made.stderr)
    toml = root / "headwater.toml"
    toml.write_text(toml.read_text().replace("[pipelines.daily]\n", SCHEDULE, 1))
    server = ServerProc(root)
    try:
        token = json.loads((root / ".headwater" / "server.json").read_text())["token"]
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=600) as client:
            rows = client.get("/api/query", params={"sql": "select count(*) from marts.fct_sales"})
            assets = client.get("/api/quarantine/assets").json()
            biggest = assets[0]["asset"] if assets else None
            year = {"pipeline": "daily", "start": "2025-01-01", "end": "2026-01-01"}
            got: dict[str, Any] = {
                "fct_sales_rows": rows.json()["rows"][0][0],
                "quarantined_rows": sum(a["rows"] for a in assets),
                "seconds": {
                    "/store": _timed(client, "/store", args.reps),
                    "/api/store": _timed(client, "/api/store", args.reps),
                    "/query (1,000 rows shown)": _timed(
                        client, "/query", args.reps, sql="select * from marts.fct_sales"
                    ),
                    "/quarantine": _timed(client, "/quarantine", args.reps),
                    f"/quarantine?asset={biggest}": _timed(
                        client, "/quarantine", args.reps, asset=biggest
                    ),
                    "/api/quarantine/assets": _timed(client, "/api/quarantine/assets", args.reps),
                    "/backfill (a year: 365 intervals)": _timed(
                        client, "/backfill", args.reps, **year
                    ),
                    "/api/pipelines/daily/intervals": _timed(
                        client,
                        "/api/pipelines/daily/intervals",
                        args.reps,
                        start=year["start"],
                        end=year["end"],
                    ),
                },
                "export_1m_rows": {
                    fmt: _download(client, fmt, server.pid) for fmt in ("csv", "parquet")
                },
            }
    finally:
        server.stop()
    got["seconds"] = {k: round(v, 3) for k, v in got["seconds"].items()}
    print(json.dumps(got, indent=2))


if __name__ == "__main__":
    main()
