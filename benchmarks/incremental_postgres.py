"""A 1% incremental rerun from PostgreSQL: its time follows the new rows, not the table.

    .venv/bin/python -m benchmarks.incremental_postgres [--reps 3]

Uses TPC-H SF1 ``lineitem`` in the PostgreSQL of :mod:`benchmarks.ingest_postgres` (kept under
``benchmarks/.work/ingest_postgres``; made there when missing), copied to ``lineitem_inc``
with an index on ``l_shipdate``, the cursor. A project loads it with ``write = "append"``,
``cursor = "l_shipdate"`` (the native transport: DuckDB reads it, the window pushed to the
server). Each case is one ``headwater run`` subprocess:

- **full**: the first load of the 6M rows;
- **no new rows**: a rerun that finds nothing (the fixed cost of a run and of the window query);
- **+1%**: a rerun after inserting 60,012 rows (1%) with a later ``l_shipdate``; ``--reps``
  times, each with its own new rows.

Reported: wall seconds, the step's own time (from ``run.log``), and each against the full
load. Results go to ``benchmarks/.work/ingest_postgres/incremental.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.ingest_postgres import TPCH_SF1_ROWS, prepare

TABLE = "lineitem_inc"
NEW_ROWS = TPCH_SF1_ROWS // 100
_STEP = re.compile(r"success in ([0-9.]+)s")


@dataclass(frozen=True)
class Case:
    case: str
    rows: int  # new rows it loads
    wall_s: float
    step_s: float  # the step's own time, from run.log


def _headwater(root: Path) -> tuple[float, float]:
    """Run the project at ``root``: (wall seconds, the step's seconds from run.log)."""
    from benchmarks._common import HEADWATER

    started = time.perf_counter()
    subprocess.run([HEADWATER, "run", "-p", str(root)], check=True, capture_output=True)
    wall = time.perf_counter() - started
    logs = sorted((root / ".headwater" / "logs").iterdir())
    found = _STEP.findall((logs[-1] / "run.log").read_text())
    return wall, float(found[-1]) if found else float("nan")


def main() -> None:
    import psycopg

    from benchmarks._common import log, work_dir
    from headwater.testing.servers import PostgresServer

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="1%% reruns, each with new rows")
    args = parser.parse_args()
    work = work_dir("ingest_postgres")
    results: list[Case] = []
    with PostgresServer(work / "pg") as server:
        url = prepare(server, TPCH_SF1_ROWS, [1_000_000])
        with psycopg.connect(url, autocommit=True) as con:
            log(f"copying lineitem to {TABLE}, index on l_shipdate")
            con.execute(f"drop table if exists {TABLE}")
            con.execute(f"create table {TABLE} as select * from lineitem")
            con.execute(f"alter table {TABLE} add primary key (l_orderkey, l_linenumber)")
            con.execute(f"create index on {TABLE} (l_shipdate)")
            con.execute(f"vacuum analyze {TABLE}")
        root = work / "incremental"
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir()
        (root / "headwater.toml").write_text(
            f'[project]\nname = "incremental"\n\n[connections.pg]\nurl = "{url}"\n\n'
            f'[sources.pg]\nconnection = "pg"\ntables = ["{TABLE}"]\n'
            'primary_key = ["l_orderkey", "l_linenumber"]\ncursor = "l_shipdate"\n'
            'write = "append"\n'
        )

        def case(name: str, rows: int) -> None:
            log(f"{name} ...")
            wall, step = _headwater(root)
            results.append(Case(name, rows, wall, step))

        case("full", TPCH_SF1_ROWS)
        case("no new rows", 0)
        for rep in range(args.reps):
            with psycopg.connect(url, autocommit=True) as con:
                con.execute(
                    f"insert into {TABLE} select l_orderkey + {(rep + 1) * 10**8}, "
                    "l_partkey, l_suppkey, l_linenumber, l_quantity, l_extendedprice, "
                    "l_discount, l_tax, l_returnflag, l_linestatus, "
                    f"date '1999-01-01' + {rep}, l_commitdate, l_receiptdate, "
                    f"l_shipinstruct, l_shipmode, l_comment from lineitem limit {NEW_ROWS}"
                )
            case(f"+1% ({NEW_ROWS:,} new rows), rerun {rep + 1}", NEW_ROWS)
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(f"drop table {TABLE}")
    full = results[0]
    print(f"{'case':40} {'wall':>8} {'step':>8} {'wall vs full':>13} {'step vs full':>13}")
    for r in results:
        print(
            f"{r.case:40} {r.wall_s:7.2f}s {r.step_s:7.2f}s "
            f"{r.wall_s / full.wall_s:12.3f}x {r.step_s / full.step_s:12.3f}x"
        )
    out = work / "incremental.json"
    out.write_text(json.dumps([asdict(r) for r in results], indent=1))
    print(f"(written to {out})")


if __name__ == "__main__":
    main()
