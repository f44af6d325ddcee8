"""A model of 10M rows exported to Parquet, against DuckDB's own COPY as the floor.

    .venv/bin/python -m benchmarks.export [--rows 10000000] [--reps 3]

Side by side in one run, on the same warehouse file:

- **headwater**: ``headwater run -s export.sales`` (its own process): the ``[exports.sales]``
  step writes the model to a new write folder with ``COPY ... TO (FORMAT parquet)``,
  publishes the manifest atomically, records the export in ``_headwater.loads`` and removes
  sets no manifest names any more; start-up and project load included.
- **floor**: a Python process of its own opening the warehouse and running
  ``COPY (SELECT * FROM marts.sales) TO 'file.parquet' (FORMAT parquet)``: what any
  DuckDB-based export must at least spend.

The two take turns going first; medians are compared (ratio = headwater / floor). The rows
read back from both Parquet files are counted and must equal the model's. Results go to
``benchmarks/.work/export/results.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import duckdb

from benchmarks._common import HEADWATER, Row, Timed, log, ratio, time_subprocess, work_dir

MODEL = """-- headwater:
--   materialized: table
select range as id, range % 100000 as customer, (range % 2500)::int as day,
       round((range % 100000) / 7.0, 2) as amount, 'region ' || (range % 7) as region,
       'note ' || (range % 997) as note
from range({rows})
"""


def project(root: Path, rows: int) -> None:
    (root / "models/marts").mkdir(parents=True, exist_ok=True)
    (root / "headwater.toml").write_text(
        '[project]\nname = "export_bench"\n\n'
        '[exports.sales]\nmodel = "sales"\nto = "out/sales"\nformat = "parquet"\n'
    )
    (root / "models/marts/sales.sql").write_text(MODEL.format(rows=rows))


def headwater(root: Path) -> Timed:
    timed = time_subprocess([HEADWATER, "run", "-p", str(root), "-s", "export.sales"])
    assert timed.returncode == 0, timed.stderr
    return timed


def floor(root: Path, target: Path) -> Timed:
    target.unlink(missing_ok=True)
    db = root / ".headwater" / "warehouse.duckdb"
    script = (
        f"import duckdb\ncon = duckdb.connect({str(db)!r}, read_only=True)\n"
        f"con.execute(\"copy (select * from marts.sales) to '{target}' (format parquet)\")\n"
        "con.close()\n"
    )
    timed = time_subprocess([sys.executable, "-c", script])
    assert timed.returncode == 0, timed.stderr
    return timed


def published_rows(root: Path) -> int:
    """The rows of the published set, read back through its manifest."""
    base = root / "out/sales"
    files = json.loads((base / "_manifest.json").read_text())["files"]
    listing = ", ".join(f"'{base / f}'" for f in files)
    row = duckdb.sql(f"select count(*) from read_parquet([{listing}])").fetchone()
    return int(row[0]) if row else -1


def run(rows: int = 10_000_000, reps: int = 3) -> list[Row]:
    base = work_dir("export", fresh=True)
    root = base / "project"
    project(root, rows)
    log(f"building the {rows:,}-row model")
    built = time_subprocess([HEADWATER, "run", "-p", str(root), "-s", "marts.sales"])
    assert built.returncode == 0, built.stderr
    target = base / "floor.parquet"
    floors: list[Timed] = []
    ours: list[Timed] = []
    for i in range(reps):
        pair = [lambda: floors.append(floor(root, target)), lambda: ours.append(headwater(root))]
        for step in pair if i % 2 == 0 else pair[::-1]:
            step()
        log(
            f"  round {i + 1}: floor {floors[-1].seconds:.2f} s, headwater {ours[-1].seconds:.2f} s"
        )
    assert published_rows(root) == rows
    check = duckdb.sql(f"select count(*) from read_parquet('{target}')").fetchone()
    assert check is not None and int(check[0]) == rows
    floor_s = statistics.median(t.seconds for t in floors)
    hw_s = statistics.median(t.seconds for t in ours)
    floor_cpu = statistics.median(t.cpu_seconds for t in floors)
    hw_cpu = statistics.median(t.cpu_seconds for t in ours)
    samples = "floor " + "/".join(f"{t.seconds:.2f}" for t in floors)
    samples += "; headwater " + "/".join(f"{t.seconds:.2f}" for t in ours)
    return [
        Row(
            "export",
            f"{rows:,} rows to Parquet: headwater export",
            hw_s,
            floor_s,
            ratio(hw_s, floor_s),
            "<= 1.5x DuckDB COPY TO parquet",
            (ratio(hw_s, floor_s) or 99) <= 1.5,
            samples,
            cpu_ratio=ratio(hw_cpu, floor_cpu),
            samples=[t.seconds for t in ours],
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--reps", type=int, default=3, help="rounds of floor + headwater")
    args = parser.parse_args()
    results = run(args.rows, args.reps)
    for r in results:
        print(f"{r.case}: {r.seconds:.2f} s, floor {r.floor:.2f} s, ratio {r.ratio:.2f}; {r.note}")
    out = work_dir("export") / "results.json"
    out.write_text(json.dumps([r.as_dict() for r in results], indent=1))


if __name__ == "__main__":
    main()
