"""A REST API into the warehouse: 100,000 records over 1,000 pages, Headwater against dlt.

    .venv/bin/python -m benchmarks.ingest_rest [--records 100000] [--pages 1000] [--reps 3]

Side by side in one run, against the same local API (a process of its own on 127.0.0.1,
its pages serialised once, so the server costs both the same and little):

- **headwater**: ``headwater run`` of a project with one REST endpoint (page-number
  pagination, ``nested = "tables"``), as shipped.
- **dlt**: ``dlt.sources.rest_api`` into DuckDB (its default: nested lists as child tables),
  in its own venv (uv, ``~/.cache/headwater-bench/dlt-venv``, ``pip install dlt[duckdb]``).

Records are the test API's orders (headwater.testing.rest_api.make_orders: a customer
object, a list of items, a list of tags). Both read 1,001 pages (the last one empty ends
the read). The two take turns going first, each on a fresh warehouse; medians compared.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from benchmarks._common import (
    BENCH_DIR,
    HEADWATER,
    PYTHON,
    Row,
    dlt_python,
    fmt_seconds,
    log,
    median,
    ratio,
    time_subprocess,
    work_dir,
)

DLT_VENV = Path.home() / ".cache" / "headwater-bench" / "dlt-venv"
RESULTS = BENCH_DIR / "results_ingest_rest.json"

DLT_SCRIPT = """
import sys, dlt
from dlt.sources.rest_api import rest_api_source
url, per_page, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
source = rest_api_source({
    "client": {"base_url": url, "paginator": {"type": "page_number", "base_page": 1,
               "page_param": "page", "total_path": None, "stop_after_empty_page": True}},
    "resources": [{"name": "orders", "endpoint": {"path": "orders",
                   "params": {"per_page": per_page}, "data_selector": "data"}}],
})
pipeline = dlt.pipeline(pipeline_name="bench_rest", pipelines_dir=path + "/pipelines",
                        destination=dlt.destinations.duckdb(path + "/dlt.duckdb"),
                        dataset_name="raw")
pipeline.run(source)
with pipeline.sql_client() as client:
    print(client.execute_sql("select count(*), count(distinct id) from orders")[0])
"""

TOML = """[project]
name = "bench_rest"

[sources.shop]
primary_key = "id"
[sources.shop.rest]
base_url = "{url}"
nested = "tables"
paginate = {{ type = "page_number", size_param = "per_page", size = {per_page} }}
[sources.shop.rest.endpoints.orders]
path = "/orders"
records = "data"
"""


def serve(records: int, pages: int) -> None:
    """The API process: pages of ``records / pages`` orders, serialised up front."""
    from headwater.testing.rest_api import make_orders

    per_page = records // pages
    orders = make_orders(records)
    bodies = [
        json.dumps({"data": orders[i * per_page : (i + 1) * per_page]}).encode()
        for i in range(pages + 1)
    ]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 1 << 16  # headers and body in one send (no Nagle / delayed-ACK stall)

        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            page = int(query.get("page", ["1"])[0])
            body = bodies[page - 1] if 1 <= page <= len(bodies) else bodies[-1]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def _headwater(url: str, per_page: int, work: Path) -> tuple[float, float, str]:
    project = work_dir("rest", "headwater", fresh=True)
    (project / "headwater.toml").write_text(TOML.format(url=url, per_page=per_page))
    timed = time_subprocess([HEADWATER, "run", "-p", str(project)], cwd=project)
    if timed.returncode != 0:
        raise SystemExit(f"headwater run failed: {timed.stderr[-2000:]}")
    import duckdb

    con = duckdb.connect(str(project / ".headwater/warehouse.duckdb"), read_only=True)
    try:
        counts = con.execute("select count(*), count(distinct id) from raw.shop_orders").fetchone()
    finally:
        con.close()
    return timed.seconds, timed.cpu_seconds, str(counts)


def _dlt(python: Path, url: str, per_page: int, work: Path) -> tuple[float, float, str]:
    folder = work_dir("rest", "dlt", fresh=True)
    script = work / "dlt_rest.py"
    script.write_text(DLT_SCRIPT)
    out = folder / "out.txt"
    timed = time_subprocess(
        [str(python), str(script), url, str(per_page), str(folder)], stdout_path=out
    )
    if timed.returncode != 0:
        raise SystemExit(f"dlt failed: {timed.stderr[-2000:]}")
    return timed.seconds, timed.cpu_seconds, timed.stdout.strip().splitlines()[-1]


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.records, args.pages)
        return []
    python = dlt_python(DLT_VENV, ["dlt[duckdb]"], "dlt, duckdb")
    if python is None:
        raise SystemExit("dlt could not be installed here")
    work = work_dir("rest")
    argv_ = [PYTHON, "-m", "benchmarks.ingest_rest", "--serve"]
    argv_ += ["--records", str(args.records), "--pages", str(args.pages)]
    server = subprocess.Popen(argv_, stdout=subprocess.PIPE, cwd=BENCH_DIR.parent)
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{int(server.stdout.readline())}"
        per_page = args.records // args.pages
        times: dict[str, list[tuple[float, float]]] = {"headwater": [], "dlt": []}
        counts: dict[str, str] = {}
        for rep in range(args.reps):
            order = ["headwater", "dlt"] if rep % 2 == 0 else ["dlt", "headwater"]
            for who in order:
                if who == "headwater":
                    wall, cpu, seen = _headwater(url, per_page, work)
                else:
                    wall, cpu, seen = _dlt(python, url, per_page, work)
                times[who].append((wall, cpu))
                counts[who] = seen
                log(f"{who}: {wall:.2f} s wall, {cpu:.2f} s CPU, rows (count, distinct): {seen}")
                time.sleep(1)
    finally:
        server.terminate()
        server.wait()
    hw = median([w for w, _ in times["headwater"]])
    dl = median([w for w, _ in times["dlt"]])
    hw_cpu = median([c for _, c in times["headwater"]])
    dl_cpu = median([c for _, c in times["dlt"]])
    rows = [
        Row("ingest_rest", "dlt rest_api -> duckdb", dl, samples=[w for w, _ in times["dlt"]],
            extra={"cpu_s": dl_cpu, "rows": counts["dlt"]}),
        Row("ingest_rest", "headwater run (rest)", hw, floor=dl, ratio=ratio(hw, dl),
            cpu_ratio=ratio(hw_cpu, dl_cpu), samples=[w for w, _ in times["headwater"]],
            extra={"cpu_s": hw_cpu, "rows": counts["headwater"]}),
    ]  # fmt: skip
    RESULTS.write_text(json.dumps([r.as_dict() for r in rows], indent=2) + "\n")
    for row in rows:
        print(f"{row.case:28} {fmt_seconds(row.seconds):>9}  ratio {row.ratio or 1:.2f}x")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
