"""A folder of CSV files into the warehouse, and the 1% incremental rerun.

    .venv/bin/python -m benchmarks.ingest_files [--mb 1000] [--reps 3]

Side by side in one run:

- **headwater**: ``headwater run`` of a project with one file source (``write = "append"``,
  incremental by file), all columns VARCHAR with bad-line capture, as shipped.
- **floor**: DuckDB alone, ``CREATE TABLE AS SELECT * FROM read_csv([...], all_varchar)`` in
  one connection, in a Python process of its own (as ``headwater run`` is): what any
  DuckDB-based loader must at least spend.
- **incremental**: add files holding 1% more rows, run again; Headwater should take time
  proportional to the new rows (it reads only new files), not to the folder.

The full load and the floor take turns ``--reps`` times, each on a fresh database, each first
in every other round; the medians are compared.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

import duckdb

from benchmarks._common import (
    HEADWATER,
    Row,
    Timed,
    fmt_seconds,
    log,
    ratio,
    time_subprocess,
    work_dir,
)

FILES = 10


def make_folder(folder: Path, megabytes: int) -> int:
    """Lineitem-like CSV files totalling about ``megabytes``; returns the row count."""
    rows = int(megabytes * 1e6 / 130)  # ~130 bytes per line
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    per_file = rows // FILES
    for i in range(FILES):
        con.execute(
            f"copy (select {i} * {per_file} + r as id, r % 200000 as part, (r * 7) % 10000 as supp, "
            "(r % 50) + 1 as quantity, round((r % 100000) / 7.0, 2) as price, "
            "round((r % 10) / 100.0, 2) as discount, 'N' as flag, 'O' as status, "
            "date '1992-01-01' + to_days((r % 2500)::int) as shipdate, "
            "'DELIVER IN PERSON' as instruct, 'TRUCK' as mode, "
            "'carefully final packages sleep ' || (r % 997) as comment "
            f"from range({per_file}) t(r)) to '{folder}/part-{i:03d}.csv' (header)"
        )
    con.close()
    return per_file * FILES


def project(root: Path, folder: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "headwater.toml").write_text(
        '[project]\nname = "files"\n\n[sources.lineitem]\n'
        f'files = "{folder}/*.csv"\nwrite = "append"\n'
    )


def floor(folder: Path, db: Path) -> Timed:
    """DuckDB's own CTAS of the folder, in a process of its own, as ``headwater run`` is."""
    db.unlink(missing_ok=True)
    script = (
        f'import duckdb\ncon = duckdb.connect({str(db)!r})\ncon.execute("create table '
        f"lineitem as select * from read_csv('{folder}/*.csv', all_varchar = true)\")\n"
        "con.close()\n"
    )
    timed = time_subprocess([sys.executable, "-c", script])
    assert timed.returncode == 0, timed.stderr
    return timed


def full_load(root: Path, folder: Path) -> Timed:
    shutil.rmtree(root, ignore_errors=True)
    project(root, folder)
    timed = time_subprocess([HEADWATER, "run", "-p", str(root)])
    assert timed.returncode == 0, timed.stderr
    return timed


def run(megabytes: int = 1000, reps: int = 3) -> list[Row]:
    base = work_dir("ingest_files", fresh=True)
    folder = base / "csv"
    log(f"generating {megabytes} MB of CSV")
    rows = make_folder(folder, megabytes)
    size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
    results: list[Row] = []
    root = base / "project"
    floors, fulls = [], []
    for i in range(reps):
        # each goes first in every other round: what the one before leaves (page cache,
        # writeback of its database file) falls on both alike
        if i % 2 == 0:
            floors.append(floor(folder, base / "floor.duckdb").seconds)
            fulls.append(full_load(root, folder).seconds)
        else:
            fulls.append(full_load(root, folder).seconds)
            floors.append(floor(folder, base / "floor.duckdb").seconds)
        log(f"  round {i + 1}: floor {floors[-1]:.2f} s, headwater {fulls[-1]:.2f} s")
    floor_s, hw_s = statistics.median(floors), statistics.median(fulls)
    samples = f"floor {'/'.join(f'{x:.2f}' for x in floors)}; headwater " + "/".join(
        f"{x:.2f}" for x in fulls
    )
    results.append(
        Row(
            "ingest_files",
            f"{size:.0f} MB CSV, {rows:,} rows: headwater",
            hw_s,
            floor_s,
            ratio(hw_s, floor_s),
            "<= 1.5x DuckDB read_csv CTAS",
            (ratio(hw_s, floor_s) or 99) <= 1.5,
            f"{rows / hw_s:,.0f} rows/s; floor {rows / floor_s:,.0f} rows/s; {samples}",
        )
    )
    # 1% more rows in a new file, then rerun: only the new file is read
    extra = base / "extra"
    new_rows = make_folder(extra, max(1, megabytes // 100))
    for path in sorted(extra.iterdir()):
        shutil.move(str(path), str(folder / f"new-{path.name}"))
    log(f"added {new_rows:,} rows ({100 * new_rows / rows:.1f}%) in {FILES} new files")
    inc = time_subprocess([HEADWATER, "run", "-p", str(root)])
    assert inc.returncode == 0, inc.stderr
    results.append(
        Row(
            "ingest_files",
            "incremental rerun, +~1% rows in a new file",
            inc.seconds,
            hw_s,
            ratio(inc.seconds, hw_s),
            "time ~ new rows, not the folder",
            (ratio(inc.seconds, hw_s) or 1) < 0.2,
            "ratio to the full load",
        )
    )
    noop = time_subprocess([HEADWATER, "run", "-p", str(root)])
    results.append(
        Row(
            "ingest_files",
            "rerun with no new files",
            noop.seconds,
            hw_s,
            ratio(noop.seconds, hw_s),
            "",
            None,
            "ratio to the full load",
        )
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3, help="rounds of floor + full load")
    args = parser.parse_args()
    rows = run(args.mb, args.reps)
    for r in rows:
        print(
            f"{r.case:55} {fmt_seconds(r.seconds):>9} floor {fmt_seconds(r.floor):>9} ratio {r.ratio:.2f}  {r.note}"
        )
    out = Path(__file__).with_name("results_ingest_files.json")
    out.write_text(json.dumps([r.as_dict() for r in rows], indent=1))


if __name__ == "__main__":
    main()
