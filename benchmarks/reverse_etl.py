"""Reverse ETL: 100,000 changed rows of a model merged into a PostgreSQL table, Headwater's
sync against DuckDB's own postgres extension as the floor, in the same run.

    .venv/bin/python -m benchmarks.reverse_etl [--rows 100000] [--reps 3]

A local PostgreSQL (:class:`headwater.testing.servers.PostgresServer`, under
``benchmarks/.work/reverse_etl``) holds ``customer_features`` (integer key, text, numeric,
double, timestamptz, boolean) filled with the model's rows once. Each repetition changes
every row of the model (``score`` and ``updated_at`` move), then times:

- **headwater sync**: ``headwater sync to_crm`` in its own process (the run of the sync step:
  the changes against the last synced state in DuckDB, ADBC binary COPY into a temporary
  table, one ``INSERT ... ON CONFLICT DO UPDATE``, the state and the run recorded);
- **floor, duckdb postgres extension**: in one DuckDB process on the same warehouse file,
  ``CREATE TABLE pg.public.stage AS SELECT ... FROM the model`` (the extension's binary COPY)
  then ``postgres_execute``: the same ``INSERT ... ON CONFLICT DO UPDATE`` from the stage.
  It knows nothing of what changed: it sends every row, which is all of them here.

Reported: wall seconds of each (median of ``--reps``) and the ratio headwater / floor
(1.0: as fast as the floor). Both leave the target with the same rows (checked).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import psycopg

from benchmarks._common import duckdb_extension
from headwater.testing.servers import PostgresServer

WORK = Path(__file__).parent / ".work" / "reverse_etl"
HEADWATER = str(Path(sys.executable).parent / "headwater")
COLUMNS = "customer_id, name, score, spend, updated_at, churned"
DDL = (
    "create table customer_features (customer_id integer primary key, name text, "
    "score numeric(12,2), spend double precision, updated_at timestamptz, churned boolean)"
)


def model(rows: int, version: int) -> str:
    return (
        "-- headwater:\n--   materialized: table\n"
        f"select range::integer as customer_id, 'customer ' || range as name, "
        f"((range * 7 + {version}) % 100000 / 100.0)::decimal(12,2) as score, "
        f"range * 1.25 + {version} as spend, "
        f"timestamptz '2026-01-01 00:00:00+00' + to_seconds(range + {version}) as updated_at, "
        f"(range + {version}) % 5 = 0 as churned from range({rows})\n"
    )


def project(root: Path, url: str, rows: int) -> None:
    (root / "models/marts").mkdir(parents=True, exist_ok=True)
    (root / "headwater.toml").write_text(
        '[project]\nname = "retl"\n\n'
        f'[connections.crm]\nurl = "{url}"\n\n'
        '[syncs.to_crm]\nmodel = "marts.customer_features"\nconnection = "crm"\n'
        'table = "public.customer_features"\nkey = ["customer_id"]\n'
    )
    (root / "models/marts/customer_features.sql").write_text(model(rows, 0))


def hw(root: Path, *args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([HEADWATER, *args, "-p", str(root)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"headwater {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - start


def floor(root: Path, url: str) -> float:
    """The model's rows upserted by DuckDB's postgres extension (see the docstring)."""
    start = time.perf_counter()
    con = duckdb.connect(str(root / ".headwater/warehouse.duckdb"))
    import duckdb_extension_postgres_scanner as ext  # the offline wheel

    con.execute(f"load '{duckdb_extension(ext, 'postgres_scanner')}'")
    con.execute(f"attach '{url}' as pg (type postgres)")
    con.execute("drop table if exists pg.public.stage")
    con.execute(f"create table pg.public.stage as select {COLUMNS} from marts.customer_features")
    sets = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS.split(", ")[1:])
    con.execute(
        "call postgres_execute('pg', 'insert into customer_features select * from stage "
        f"on conflict (customer_id) do update set {sets}; drop table stage')"
    )
    con.close()
    return time.perf_counter() - start


def target_digest(url: str) -> str:
    with psycopg.connect(url) as con:
        row = con.execute(
            f"select md5(string_agg(({COLUMNS})::text, '|' order by customer_id)) "
            "from customer_features"
        ).fetchone()
    return str(row[0] if row else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    with PostgresServer(WORK / "pg") as server:
        url = server.create_database(f"retl_{int(time.time())}")
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(DDL)
        root = WORK / f"project_{int(time.time())}"
        project(root, url, args.rows)
        hw(root, "run")  # the model built and every row inserted: the starting point
        ours, theirs = [], []
        for rep in range(1, args.reps + 1):
            sql = model(args.rows, 2 * rep - 1)  # every row changes
            (root / "models/marts/customer_features.sql").write_text(sql)
            hw(root, "run", "-s", "marts.customer_features")
            ours.append(hw(root, "sync", "to_crm"))
            synced = target_digest(url)
            (root / "models/marts/customer_features.sql").write_text(model(args.rows, 2 * rep))
            hw(root, "run", "-s", "marts.customer_features")
            theirs.append(floor(root, url))
            hw(root, "sync", "to_crm")  # the state follows the target again (not timed)
            (root / "models/marts/customer_features.sql").write_text(sql)
            hw(root, "run", "-s", "marts.customer_features")
            floor(root, url)
            assert target_digest(url) == synced, "the floor and the sync left different rows"
    result = {
        "rows_changed": args.rows,
        "reps": args.reps,
        "headwater_sync_s": round(statistics.median(ours), 3),
        "duckdb_postgres_floor_s": round(statistics.median(theirs), 3),
    }
    result["ratio"] = round(result["headwater_sync_s"] / result["duckdb_postgres_floor_s"], 2)
    print(json.dumps(result, indent=1))
    (WORK / "results.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
