"""A MariaDB table into the warehouse: Headwater against the tools a user would otherwise pick.

    .venv/bin/python -m benchmarks.ingest_mysql [--rows 1000000] [--reps 1] [--no-dlt]

A lineitem table (TPC-H's, from DuckDB's ``tpch`` extension when ``duckdb-extension-tpch``
is installed, else a synthetic one of the same shape: 16 columns, bigint/int keys, four
DECIMAL(15,2), three DATE, short strings) of ``--rows`` rows sits in a local MariaDB started
with :class:`headwater.testing.servers.MariaDBServer` under ``benchmarks/.work/ingest_mysql``
(kept between runs; regenerated when the row count differs). Side by side, each a subprocess,
each from an empty warehouse:

- **floor**: ``mariadb --batch -e "select * from lineitem" > /dev/null``: the server and the
  wire, nothing decoded or stored (``--quick`` too: rows not buffered by the client);
- **headwater**: ``headwater run`` of a project with the table as a ``[sources]`` group
  (``write = "replace"``): extract (connectorx, streaming) and load into DuckDB, with run
  records, state and load metadata;
- **duckdb mysql_scanner**: ``ATTACH ... (TYPE mysql)`` and ``CREATE TABLE AS SELECT *`` into
  a DuckDB file (the ``duckdb-extension-mysql-scanner`` wheel);
- **dlt**: ``sql_table(..., backend="pyarrow")`` into a DuckDB destination, in a venv of its
  own under ``benchmarks/.work`` (dlt wants another DuckDB); skipped when it cannot install.

Reported: wall seconds (median of ``--reps`` rounds, the cases taking turns in each), rows/s,
ratio to the floor, peak RSS of the process (``wait4``; the database server is not counted).
Results also go to ``benchmarks/.work/results_ingest_mysql.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROWS = 1_000_000
TPCH_SF1_ROWS = 6_001_215
DDL = """
create table lineitem (
  l_orderkey bigint not null, l_partkey bigint not null, l_suppkey bigint not null,
  l_linenumber int not null, l_quantity decimal(15,2) not null,
  l_extendedprice decimal(15,2) not null, l_discount decimal(15,2) not null,
  l_tax decimal(15,2) not null, l_returnflag char(1) not null, l_linestatus char(1) not null,
  l_shipdate date not null, l_commitdate date not null, l_receiptdate date not null,
  l_shipinstruct varchar(25) not null, l_shipmode varchar(10) not null,
  l_comment varchar(44) not null,
  primary key (l_orderkey, l_linenumber)
) engine = innodb default charset = utf8mb4
"""
SYNTHETIC = """
select r // 4 + 1 as l_orderkey, r % 200000 + 1 as l_partkey, r % 10000 + 1 as l_suppkey,
  r % 4 + 1 as l_linenumber, (r % 50 + 1)::decimal(15,2) as l_quantity,
  round((r % 100000) / 7.0 + 900, 2)::decimal(15,2) as l_extendedprice,
  ((r % 11) / 100)::decimal(15,2) as l_discount, ((r % 9) / 100)::decimal(15,2) as l_tax,
  ['A','N','R'][r % 3 + 1] as l_returnflag, ['F','O'][r % 2 + 1] as l_linestatus,
  date '1992-01-02' + (r % 2500)::int as l_shipdate,
  date '1992-01-31' + (r % 2450)::int as l_commitdate,
  date '1992-01-04' + (r % 2520)::int as l_receiptdate,
  ['DELIVER IN PERSON','COLLECT COD','NONE','TAKE BACK RETURN'][r % 4 + 1] as l_shipinstruct,
  ['TRUCK','MAIL','SHIP','AIR','RAIL','FOB','REG AIR'][r % 7 + 1] as l_shipmode,
  'carefully final packages sleep ' || (r % 997) as l_comment
from range({rows}) t(r)
"""


# --- children: run in a subprocess, import nothing of Headwater ---------------------------


def child_duckdb(url: str, db: str) -> None:
    """DuckDB's mysql_scanner: ATTACH and CREATE TABLE AS SELECT into a file."""
    import duckdb
    import duckdb_extension_mysql_scanner as ext

    from benchmarks._common import duckdb_extension

    path = duckdb_extension(ext, "mysql_scanner")
    user, password, host, port, database = _parts(url)
    con = duckdb.connect(db)
    con.execute(f"load '{path}'")
    con.execute(
        f"attach 'host={host} port={port} user={user} password={password} "
        f"database={database}' as my (type mysql, read_only)"
    )
    con.execute("create table lineitem as select * from my.lineitem")
    con.close()


def child_dlt(url: str, db: str, work: str) -> None:
    """dlt: sql_table with the pyarrow backend into a DuckDB destination."""
    import dlt
    from dlt.sources.sql_database import sql_table

    user, password, host, port, database = _parts(url)
    credentials = f"mysql+pymysql://{user}:{password}@{host}:{port}/{database}"
    source = sql_table(credentials=credentials, table="lineitem", backend="pyarrow")
    pipeline = dlt.pipeline(
        pipeline_name="ingest_mysql",
        destination=dlt.destinations.duckdb(db),
        dataset_name="raw",
        pipelines_dir=work,
    )
    pipeline.run(source, write_disposition="replace")


def _parts(url: str) -> tuple[str, str, str, int, str]:
    from urllib.parse import unquote, urlsplit

    p = urlsplit(url)
    return (
        unquote(p.username or ""),
        unquote(p.password or ""),
        p.hostname or "127.0.0.1",
        p.port or 3306,
        p.path.lstrip("/"),
    )


# --- the parent ---------------------------------------------------------------------------


def prepare(server: Any, rows: int, base: Path) -> str:
    """The lineitem table with exactly ``rows`` rows in ``server``; returns how it was made."""
    import duckdb
    import pymysql

    url = server.create_database("bench")
    con = pymysql.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        database="bench",
    )
    with con.cursor() as cur:
        cur.execute(
            "select count(*) from information_schema.TABLES where TABLE_SCHEMA = 'bench' "
            "and TABLE_NAME = 'lineitem'"
        )
        if cur.fetchone()[0]:
            cur.execute("select count(*) from lineitem")
            if cur.fetchone()[0] == rows:
                con.close()
                return (base / "made-by").read_text() if (base / "made-by").exists() else "?"
    con.close()
    from benchmarks._common import duckdb_extension, log

    csv = base / "lineitem.csv"
    db = duckdb.connect()
    try:
        import duckdb_extension_tpch as tpch

        ext = duckdb_extension(tpch, "tpch")
        db.execute(f"load '{ext}'")
        db.execute(f"call dbgen(sf = {rows / TPCH_SF1_ROWS * 1.01:.6f})")
        made = "TPC-H dbgen (duckdb tpch extension)"
        select = f"select * from lineitem limit {rows}"
    except ImportError:
        made = "synthetic (duckdb-extension-tpch not installed)"
        select = SYNTHETIC.format(rows=rows)
    log(f"generating {rows:,} lineitem rows: {made}")
    db.execute(f"copy ({select}) to '{csv}' (header false, delimiter '|')")
    db.close()
    log("loading them into MariaDB (LOAD DATA LOCAL INFILE)")
    subprocess.run(
        [
            server.client_bin,
            "--no-defaults",
            f"--socket={server.socket_path}",
            "--user=root",
            "--local-infile=1",
            "bench",
            "-e",
            "drop table if exists lineitem; " + DDL + "; "
            f"load data local infile '{csv}' into table lineitem fields terminated by '|'; "
            "analyze table lineitem;",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    csv.unlink()
    (base / "made-by").write_text(made)
    assert url
    return made


def dlt_python(work: Path) -> Path | None:
    """The interpreter of a venv with dlt for MySQL (None: it cannot install here)."""
    from benchmarks._common import dlt_python as make

    packages = ["dlt[duckdb,sql_database]", "pymysql", "pyarrow"]
    return make(work / "dlt-venv", packages, "dlt, pymysql, pyarrow, duckdb")


def run(rows: int = ROWS, reps: int = 1, with_dlt: bool = True) -> list[Any]:
    import statistics

    import connectorx
    import duckdb

    from benchmarks._common import HEADWATER, ROOT, Row, log, measure_process, ratio, work_dir
    from headwater.testing.servers import MariaDBServer

    work = work_dir("ingest_mysql")
    results: list[Row] = []
    with MariaDBServer(work / "mariadb") as server:
        made = prepare(server, rows, work)
        url = server.url_for("bench")
        user, password, host, port, database = _parts(url)
        env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false", "PYTHONDONTWRITEBYTECODE": "1"}
        client = [
            server.client_bin,
            "--no-defaults",
            f"--host={host}",
            f"--port={port}",
            f"--user={user}",
            f"--password={password}",
            database,
            "--batch",
        ]
        query = ["-e", "select * from lineitem"]

        def fresh(name: str) -> Path:
            path = work / name
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir(parents=True)
            return path

        def project() -> list[str]:
            root = fresh("project")
            (root / "headwater.toml").write_text(
                f'[project]\nname = "ingest_mysql"\n\n[connections.my]\nurl = "{url}"\n\n'
                '[sources.my]\nconnection = "my"\ntables = ["lineitem"]\nwrite = "replace"\n'
            )
            return [HEADWATER, "run", "-p", str(root)]

        def duck() -> list[str]:
            db = fresh("duckdb") / "w.duckdb"
            return [
                sys.executable,
                "-m",
                "benchmarks.ingest_mysql",
                "--child",
                "duckdb",
                "--url",
                url,
                "--db",
                str(db),
            ]

        dlt_py = dlt_python(work) if with_dlt else None

        def dlt() -> list[str]:
            assert dlt_py is not None
            folder = fresh("dlt")
            return [
                str(dlt_py),
                "-m",
                "benchmarks.ingest_mysql",
                "--child",
                "dlt",
                "--url",
                url,
                "--db",
                str(folder / "w.duckdb"),
                "--work",
                str(folder / "pipelines"),
            ]

        cases: list[tuple[str, Any]] = [
            ("floor: mariadb --batch > /dev/null", lambda: [*client, *query]),
            ("floor: mariadb --batch --quick > /dev/null", lambda: [*client, "--quick", *query]),
            ("headwater run", project),
            ("duckdb mysql_scanner CTAS", duck),
        ]
        if dlt_py is not None:
            cases.append(("dlt sql_table (pyarrow backend)", dlt))
        # interleaved rounds: drift of a shared machine falls on every case alike
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in cases}
        failed: set[str] = set()
        for _ in range(reps):
            for name, argv in cases:
                if name in failed:
                    continue
                log(f"{name} ...")
                try:
                    runs[name].append(measure_process(argv(), cwd=ROOT, env=env))
                except RuntimeError as exc:
                    log(f"{name} failed: {exc}")
                    failed.add(name)
        measured: dict[str, dict[str, Any]] = {}
        for name, samples in runs.items():
            if samples:
                measured[name] = {
                    "seconds": statistics.median(s["seconds"] for s in samples),
                    "rss_mb": max(s["rss_mb"] for s in samples),
                    "cpu": statistics.median(s["cpu_s"] for s in samples),
                    "samples": [s["seconds"] for s in samples],
                }
        floor = measured.get(cases[0][0], {}).get("seconds")
        floor_cpu = measured.get(cases[0][0], {}).get("cpu")
        for name, m in measured.items():
            results.append(
                Row(
                    benchmark="ingest_mysql",
                    case=name,
                    seconds=m["seconds"],
                    floor=floor,
                    ratio=ratio(m["seconds"], floor),
                    note=f"{rows / m['seconds']:,.0f} rows/s, peak RSS {m['rss_mb']:.0f} MB",
                    cpu_ratio=ratio(m["cpu"], floor_cpu),
                    samples=m["samples"],
                    extra={
                        "cpu_seconds": m["cpu"],
                        "rows": rows,
                        "rows_per_s": rows / m["seconds"],
                        "rss_mb": m["rss_mb"],
                        "data": made,
                        "connectorx": connectorx.__version__,
                        "duckdb": duckdb.__version__,
                    },
                )
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--no-dlt", action="store_true", help="skip dlt (and its venv)")
    parser.add_argument("--child", choices=["duckdb", "dlt"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "duckdb":
        return child_duckdb(args.url, args.db)
    if args.child == "dlt":
        return child_dlt(args.url, args.db, args.work)
    from benchmarks._common import fmt_seconds

    rows = run(args.rows, args.reps, not args.no_dlt)
    print(f"{'case':44} {'wall':>9} {'rows/s':>11} {'vs floor':>9} {'CPU':>8} {'peak RSS':>9}")
    for r in rows:
        print(
            f"{r.case:44} {fmt_seconds(r.seconds):>9} {r.extra['rows_per_s']:>11,.0f} "
            f"{(r.ratio or 0):>8.2f}x {r.extra['cpu_seconds']:>7.1f}s {r.extra['rss_mb']:>6.0f} MB"
        )
    out = Path(__file__).parent / ".work" / "results_ingest_mysql.json"
    out.write_text(json.dumps([r.as_dict() for r in rows], indent=1))


if __name__ == "__main__":
    main()
