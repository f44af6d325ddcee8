"""A 5M-row SQLite table into the warehouse, side by side with its floors (issue 18).

    .venv/bin/python -m benchmarks.ingest_sqlite [--rows 5000000] [--reps 3]

In one run, each in a process of its own, taking turns ``--reps`` times:

- **floor sqlite3**: ``sqlite3 DB "select * from t" > /dev/null``: SQLite reading every
  row and printing it, nothing stored.
- **floor DuckDB**: ``CREATE TABLE AS SELECT * FROM sqlite_scan(...)`` into a new DuckDB
  file: what DuckDB's own reader of the file spends.
- **headwater**: ``headwater run`` of a project with the table as a source (``write =
  "replace"``, as shipped: ``transport = "auto"``; every column maps exactly, so the
  warehouse reads the file itself).

Once each, for the columnar alternatives when a column does not map exactly: the same run
with ``transport = "arrow"`` (sqlite3 ``fetchmany`` built into Arrow column by column), and
connectorx's SQLite reader into an Arrow table (no warehouse write).

Target: Headwater at least 0.85x the faster floor's speed (rows/s), medians compared.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import sys
from pathlib import Path

from benchmarks._common import HEADWATER, Row, Timed, log, time_subprocess, work_dir

TARGET = 0.85  # of the faster floor's rows/s


def make_table(path: Path, rows: int) -> None:
    """An orders-like table: integer, real and text columns (all map exactly)."""
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    con.execute(
        "create table t (id integer primary key, customer_id integer, amount real, "
        "qty integer, status text, note varchar(40), updated_at text)"
    )
    con.execute(
        "insert into t with recursive s(i) as (select 1 union all select i + 1 from s "
        f"where i < {rows}) select i, i % 100000, (i % 10000) / 100.0, i % 7, "
        "case i % 3 when 0 then 'open' when 1 then 'paid' else 'shipped' end, "
        "'note ' || (i % 997), printf('2026-01-%02d %02d:%02d:00', 1 + i % 28, i % 24, "
        "i % 60) from s"
    )
    con.commit()
    con.close()


def floor_cli(db: Path) -> Timed:
    timed = time_subprocess(["sqlite3", str(db), "select * from t"])
    assert timed.returncode == 0, timed.stderr
    return timed


def floor_duckdb(db: Path, out: Path) -> Timed:
    out.unlink(missing_ok=True)
    script = (
        "import duckdb\nfrom benchmarks._common import duckdb_extension\n"
        "import duckdb_extension_sqlite_scanner as m\n"
        f"con = duckdb.connect({str(out)!r})\n"
        "con.execute(f\"load '{duckdb_extension(m, 'sqlite_scanner')}'\")\n"
        f"con.execute(\"create table t as select * from sqlite_scan('{db}', 't')\")\n"
        "con.close()\n"
    )
    timed = time_subprocess([sys.executable, "-c", script], cwd=Path(__file__).parent.parent)
    assert timed.returncode == 0, timed.stderr
    return timed


def headwater(root: Path, db: Path, transport: str = "auto") -> Timed:
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    (root / "headwater.toml").write_text(
        f'[project]\nname = "sqlite"\n\n[connections.src]\nurl = "sqlite:///{db}"\n\n'
        '[sources.src]\nconnection = "src"\ntables = ["t"]\nwrite = "replace"\n'
        f'transport = "{transport}"\n'
    )
    timed = time_subprocess([HEADWATER, "run", "-p", str(root)])
    assert timed.returncode == 0, timed.stderr
    logs = list((root / ".headwater").rglob("raw.src_t.log"))
    path = "native" if logs and "reading natively" in logs[0].read_text() else "arrow"
    assert path == ("native" if transport == "auto" else "arrow"), path
    return timed


def connectorx(db: Path) -> Timed:
    script = (
        "import connectorx as cx\n"
        f"t = cx.read_sql('sqlite://{db}', 'select * from t', return_type='arrow')\n"
        "assert t.num_rows > 0\n"
    )
    timed = time_subprocess([sys.executable, "-c", script])
    assert timed.returncode == 0, timed.stderr
    return timed


def _row(case: str, seconds: float, rows: int, floor_s: float, note: str, **kw: object) -> Row:
    speed = floor_s / seconds  # rows/s over the faster floor's rows/s
    return Row(
        "ingest_sqlite",
        case,
        seconds,
        floor_s,
        seconds / floor_s,
        f">= {TARGET}x the faster floor's rows/s" if kw.get("target") else "",
        speed >= TARGET if kw.get("target") else None,
        f"{rows / seconds:,.0f} rows/s, {speed:.2f}x the faster floor's speed; {note}",
    )


def run(rows: int = 5_000_000, reps: int = 3) -> list[Row]:
    base = work_dir("ingest_sqlite", fresh=True)
    db = base / "source.sqlite"
    log(f"generating {rows:,} rows")
    make_table(db, rows)
    log(f"  {db.stat().st_size / 1e6:.0f} MB")
    times: dict[str, list[float]] = {"sqlite3": [], "duckdb": [], "headwater": []}
    cpu: dict[str, list[float]] = {k: [] for k in times}
    runs = {
        "sqlite3": lambda: floor_cli(db),
        "duckdb": lambda: floor_duckdb(db, base / "floor.duckdb"),
        "headwater": lambda: headwater(base / "project", db),
    }
    for i in range(reps):
        order = list(runs) if i % 2 == 0 else list(reversed(runs))  # turns: same cache
        for name in order:
            timed = runs[name]()
            times[name].append(timed.seconds)
            cpu[name].append(timed.cpu_seconds)
        log(f"  round {i + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()))
    med = {k: statistics.median(v) for k, v in times.items()}
    floor_s = min(med["sqlite3"], med["duckdb"])

    def samples(name: str) -> str:
        return (
            "samples "
            + "/".join(f"{x:.2f}" for x in times[name])
            + (f"; CPU {statistics.median(cpu[name]):.2f} s")
        )

    results = [
        _row(
            f"{rows:,} rows: floor sqlite3 CLI", med["sqlite3"], rows, floor_s, samples("sqlite3")
        ),
        _row(
            f"{rows:,} rows: floor DuckDB sqlite_scan CTAS",
            med["duckdb"],
            rows,
            floor_s,
            samples("duckdb"),
        ),
        _row(
            f"{rows:,} rows: headwater run (native)",
            med["headwater"],
            rows,
            floor_s,
            samples("headwater"),
            target=True,
        ),
    ]
    arrow = headwater(base / "project_arrow", db, transport="arrow")
    results.append(
        _row(
            f"{rows:,} rows: headwater run, transport arrow",
            arrow.seconds,
            rows,
            floor_s,
            f"once; CPU {arrow.cpu_seconds:.2f} s",
        )
    )
    cx = connectorx(db)
    results.append(
        _row(
            f"{rows:,} rows: connectorx to Arrow (no write)",
            cx.seconds,
            rows,
            floor_s,
            f"once; CPU {cx.cpu_seconds:.2f} s",
        )
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--reps", type=int, default=3, help="rounds of floors + headwater")
    args = parser.parse_args()
    results = run(args.rows, args.reps)
    for r in results:
        print(f"{r.case:55} {r.seconds:8.2f} s  {r.note}")
    out = Path(__file__).with_name("results_ingest_sqlite.json")
    out.write_text(json.dumps([r.as_dict() for r in results], indent=1))


if __name__ == "__main__":
    main()
