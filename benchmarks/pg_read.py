"""Peak memory of reading a PostgreSQL warehouse table whole, at two sizes: it must not grow
with the table.

    .venv/bin/python -m benchmarks.pg_read [--rows 1000000] [--scale 4]

A PostgreSQL server of its own (under ``benchmarks/.work/pg_read``) holds a table of
``--rows`` and one of ``--rows * --scale`` rows (bigint, text, numeric(12,2), timestamptz).
Each is read by a Python process of its own through ``Engine.export_batches`` (what
``headwater.read``, the server's Arrow reads and downloads use), every batch dropped once
counted; the process reports its peak RSS and the rows it saw. Reported: both peaks, their
ratio (1.0: memory bounded by a batch, not the table), and each table's size in PostgreSQL
for scale. Results go to ``benchmarks/.work/pg_read/results.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import psycopg

from benchmarks._common import PYTHON, log, work_dir

READER = """
import resource, sys, time
from headwater.engines.postgres.engine import PostgresEngine
engine = PostgresEngine(sys.argv[1], read_only=True)
started, rows, batches = time.perf_counter(), 0, 0
stream = engine.export_batches(f"select * from bench.{sys.argv[2]}")
for batch in stream:
    rows += batch.num_rows
    batches += 1
seconds = time.perf_counter() - started
print(rows, batches, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, seconds)
"""


def fill(url: str, table: str, rows: int) -> int:
    """``bench.<table>`` with ``rows`` rows; its size in PostgreSQL, in MB."""
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("create schema if not exists bench")
        con.execute(f"drop table if exists bench.{table}")
        con.execute(
            f"create table bench.{table} as select i as id, 'customer ' || (i % 99991) as name, "
            "(i % 100000) * 0.01::numeric(12, 2) as amount, "
            "timestamptz '2026-01-01' + i * interval '1 second' as at "
            f"from generate_series(1, {rows}) i"
        )
        row = con.execute(f"select pg_total_relation_size('bench.{table}') / 1048576").fetchone()
    assert row is not None
    return int(row[0])


def read(url: str, table: str) -> dict[str, float]:
    done = subprocess.run(
        [PYTHON, "-c", READER, url, table], capture_output=True, text=True, check=True
    )
    rows, batches, peak, seconds = done.stdout.split()
    return {"rows": int(rows), "batches": int(batches), "peak_mb": int(peak),
            "seconds": round(float(seconds), 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--scale", type=int, default=4)
    args = parser.parse_args()
    from headwater.testing.servers import PostgresServer

    work = work_dir("pg_read", fresh=True)
    results = {}
    with PostgresServer(work / "pg") as server:
        url = server.create_database("bench")
        for name, rows in (("small", args.rows), ("large", args.rows * args.scale)):
            size = fill(url, name, rows)
            got = read(url, name)
            assert got["rows"] == rows, got
            results[name] = {"table_rows": rows, "table_mb": size, **got}
            log(f"{name}: {rows:,} rows ({size} MB in PostgreSQL): {got}")
    results["peak_ratio"] = round(results["large"]["peak_mb"] / results["small"]["peak_mb"], 2)
    log(f"peak RSS large / small: {results['peak_ratio']} (table {args.scale}x larger)")
    (work / "results.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
