"""A PostgreSQL table into the warehouse: Headwater against the tools a user would otherwise pick.

    .venv/bin/python -m benchmarks.ingest_postgres [--rows 6001215] [--reps 1] [--no-dlt]
        [--flat 1000000[,5000000,...]] [--server]

TPC-H lineitem (DuckDB's ``tpch`` extension, from the ``duckdb-extension-tpch`` wheel, loaded
from its file: no network) of ``--rows`` rows (default: all of SF1, 6,001,215) sits in a local
PostgreSQL started with :class:`headwater.testing.servers.PostgresServer` under
``benchmarks/.work/ingest_postgres`` (kept between runs; regenerated when the row count
differs). Standard TPC-H column types: bigint/int keys, four numeric(15,2), three date, short
varchar/char; primary key (l_orderkey, l_linenumber). Side by side, each a subprocess, each
from an empty warehouse:

- **floor**: ``psql -c "COPY lineitem TO STDOUT" > /dev/null`` (text, and binary): the server
  and the wire, nothing decoded or stored;
- **headwater run**: a project with the table as a ``[sources]`` group (``write = "replace"``)
  loaded into DuckDB with run records, state and load metadata. By default (``transport =
  "auto"``) DuckDB reads lineitem itself with the postgres extension (every column maps
  exactly); then with ``transport = "arrow"``: ADBC binary COPY, parallel block ranges, Arrow
  batches, with the default connections and with one;
- **connector -> duckdb**: the Headwater connector's stream straight into
  ``CREATE TABLE AS`` in a DuckDB file: the extraction alone, without the engine's staging;
- **duckdb postgres_scanner**: ``CREATE TABLE AS SELECT * FROM postgres_scan(...)`` into a
  DuckDB file (the ``duckdb-extension-postgres-scanner`` wheel);
- **dlt**: ``sql_table(..., backend="pyarrow")`` into a DuckDB destination, in a venv of its
  own under ``benchmarks/.work`` (dlt pins another DuckDB); skipped when it cannot install;
- **connector alone (drain)**: the connector's batches counted and dropped: its own memory;
- **headwater run through a live server** (``--server``): the same project with
  ``headwater server`` up (started before, stopped after, not timed): the client enqueues the
  run and follows it, the server loads; peak RSS is the server's (VmHWM), CPU is the client's
  plus the server's.

And ``headwater run`` and the drain of a copy of the table with each ``--flat`` row count
(``lineitem_<rows>``), to draw peak memory against table size.

Reported: wall seconds (median of ``--reps``), rows/s, speed against the text floor
(floor seconds / seconds: 1.0 is the wire's speed), peak RSS of the process (VmHWM, polled;
the database server not counted), CPU seconds of the process and of the server (the
postmaster's reaped children), and the load average (the machine may be shared: CPU seconds
are the steadier comparison). Results go to ``benchmarks/.work/ingest_postgres/results.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks._common import duckdb_extension

TPCH_SF1_ROWS = 6_001_215
SERVED = "headwater run through a live server"
FLAT_ROWS = 1_000_000
DDL = """
create table {table} (
  l_orderkey bigint not null, l_partkey integer not null, l_suppkey integer not null,
  l_linenumber integer not null, l_quantity numeric(15,2) not null,
  l_extendedprice numeric(15,2) not null, l_discount numeric(15,2) not null,
  l_tax numeric(15,2) not null, l_returnflag char(1) not null, l_linestatus char(1) not null,
  l_shipdate date not null, l_commitdate date not null, l_receiptdate date not null,
  l_shipinstruct varchar(25) not null, l_shipmode varchar(10) not null,
  l_comment varchar(44) not null
)
"""


# --- children: each runs in its own process ---------------------------------------------


def child_duckdb(url: str, db: str, table: str) -> None:
    """DuckDB's postgres_scanner: CREATE TABLE AS SELECT into a file."""
    import duckdb
    import duckdb_extension_postgres_scanner as ext

    con = duckdb.connect(db)
    con.execute(f"load '{duckdb_extension(ext, 'postgres_scanner')}'")
    con.execute(
        f"create table lineitem as select * from postgres_scan('{url}', 'public', '{table}')"
    )
    con.close()


def child_connector(url: str, db: str, table: str) -> None:
    """Headwater's connector alone: its Arrow stream into CREATE TABLE AS in a DuckDB file."""
    import duckdb

    from headwater.sources.connector import TableRead
    from headwater.sources.postgres import PostgresConnector

    connector = PostgresConnector(url, name="bench")
    reader = connector.read(TableRead(table=table))
    con = duckdb.connect(db)
    con.register("stream", reader)
    con.execute("create table lineitem as select * from stream")
    con.close()
    connector.close()


def child_drain(url: str, table: str) -> None:
    """Headwater's connector alone, its batches counted and dropped: its own memory."""
    from headwater.sources.connector import TableRead
    from headwater.sources.postgres import PostgresConnector

    connector = PostgresConnector(url, name="bench")
    rows = sum(batch.num_rows for batch in connector.read(TableRead(table=table)))
    connector.close()
    assert rows > 0


def child_dlt(url: str, db: str, work: str, table: str) -> None:
    """dlt: sql_table with the pyarrow backend into a DuckDB destination."""
    import dlt
    from dlt.sources.sql_database import sql_table

    credentials = url.replace("postgresql://", "postgresql+psycopg2://", 1)
    source = sql_table(credentials=credentials, table=table, backend="pyarrow")
    pipeline = dlt.pipeline(
        pipeline_name="ingest_postgres",
        destination=dlt.destinations.duckdb(db),
        dataset_name="raw",
        pipelines_dir=work,
    )
    pipeline.run(source, write_disposition="replace")


# --- the parent -----------------------------------------------------------------------------


def _server_cpu(server: Any) -> float:
    """CPU seconds of the postmaster's reaped children (backends) and itself so far."""
    try:
        pid = int((server.data_dir / "postmaster.pid").read_text().split()[0])
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def measure(
    argv: list[str], *, server: Any, cwd: Path | None = None, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """:func:`~benchmarks._common.measure_process`, plus the server's CPU seconds meanwhile
    and the load average before."""
    from benchmarks._common import measure_process

    load = os.getloadavg()[0]
    server_before = _server_cpu(server)
    sample: dict[str, Any] = dict(measure_process(argv, cwd=cwd, env=env))
    time.sleep(0.3)  # the backend exits after its client: let the postmaster reap it
    sample.update(server_cpu_s=_server_cpu(server) - server_before, load=load)
    return sample


def measure_served(argv: list[str], *, server: Any, env: dict[str, str]) -> dict[str, Any]:
    """:func:`measure` of ``headwater run -p ROOT`` (``argv``) with ``headwater server -p
    ROOT`` up: the client's wall; the server's peak RSS and CPU counted in."""
    from benchmarks._common import ROOT
    from benchmarks._server_proc import ServerProc, cpu_seconds

    headwater = ServerProc(Path(argv[argv.index("-p") + 1]), timeout=300)
    try:
        before = cpu_seconds(headwater.pid)
        sample = measure(argv, server=server, cwd=ROOT, env=env)
        served_cpu = cpu_seconds(headwater.pid) - before
        status = Path(f"/proc/{headwater.pid}/status").read_text().splitlines()
        peak = next(int(ln.split()[1]) for ln in status if ln.startswith("VmHWM:")) / 1024
    finally:
        headwater.stop()
    sample.update(
        client_rss_mb=sample["rss_mb"],
        client_cpu_s=sample["cpu_s"],
        rss_mb=max(peak, sample["rss_mb"]),
        cpu_s=sample["cpu_s"] + served_cpu,
    )
    return sample


def _count(url: str, table: str) -> int | None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        exists = con.execute("select to_regclass(%s)", [table]).fetchone()
        if not exists or exists[0] is None:
            return None
        row = con.execute(f"select count(*) from {table}").fetchone()
        return int(row[0]) if row else None


def prepare(server: Any, rows: int, flat: list[int]) -> str:
    """``lineitem`` with ``rows`` rows (and ``lineitem_<n>`` with ``n`` for each smaller count
    of ``flat``); returns its URL."""
    import duckdb
    import duckdb_extension_postgres_scanner as pg_ext
    import duckdb_extension_tpch as tpch
    import psycopg

    from benchmarks._common import log

    url: str = server.create_database("bench")
    tables = {"lineitem": rows, **{f"lineitem_{n}": n for n in flat if n < rows}}
    if all(_count(url, t) == n for t, n in tables.items()):
        return url
    # dbgen's scale factor has two decimals that count: round up, plus a margin
    # (above SF 1, lineitem grows by whole scale factors: SF 3.35 gives SF 3's 17,996,609 rows)
    sf = 1.0 if rows == TPCH_SF1_ROWS else math.ceil(rows / TPCH_SF1_ROWS * 100) / 100 + 0.01
    if rows > TPCH_SF1_ROWS:
        sf = float(math.ceil(rows / TPCH_SF1_ROWS))
    log(f"generating TPC-H lineitem at SF {sf:.3f} (duckdb tpch extension)")
    db = duckdb.connect()
    db.execute(f"load '{duckdb_extension(tpch, 'tpch')}'")
    db.execute(f"load '{duckdb_extension(pg_ext, 'postgres_scanner')}'")
    db.execute(f"call dbgen(sf = {sf:.6f})")
    available = db.execute("select count(*) from lineitem").fetchone()[0]  # type: ignore[index]
    if available < rows:
        raise SystemExit(f"dbgen made {available} rows, fewer than --rows {rows}")
    with psycopg.connect(url, autocommit=True) as con:
        for table in tables:
            con.execute(f"drop table if exists {table}")
            con.execute(DDL.format(table=table))
    db.execute(f"attach '{url}' as pg (type postgres)")
    for table, n in tables.items():
        log(f"loading {n:,} rows into PostgreSQL table {table} (COPY through postgres_scanner)")
        db.execute(
            f"insert into pg.public.{table} select * from lineitem "
            f"order by l_orderkey, l_linenumber limit {n}"
        )
    db.close()
    with psycopg.connect(url, autocommit=True) as con:
        for table in tables:
            con.execute(f"alter table {table} add primary key (l_orderkey, l_linenumber)")
            con.execute(f"vacuum analyze {table}")
    return url


def dlt_python(work: Path) -> Path | None:
    """The interpreter of a venv with dlt for PostgreSQL (None: it cannot install here)."""
    from benchmarks._common import dlt_python as make

    packages = ["dlt[duckdb,sql_database]", "psycopg2-binary", "pyarrow"]
    return make(work / "dlt-venv", packages, "dlt, psycopg2, pyarrow, duckdb, sqlalchemy")


def run(
    rows: int = TPCH_SF1_ROWS,
    reps: int = 1,
    with_dlt: bool = True,
    flat: list[int] | None = None,
    memory_limit: str | None = None,
    only: list[str] | None = None,
    through_server: bool = False,
) -> list[Any]:
    """Every case, interleaved ``reps`` times. ``memory_limit`` adds ``headwater run`` cases
    with ``[project] memory_limit`` set; ``through_server`` adds ``headwater run`` through a
    live ``headwater server``; ``only`` keeps the cases whose name contains one of these
    strings (and the floor)."""
    import adbc_driver_postgresql
    import duckdb

    from benchmarks._common import HEADWATER, ROOT, Row, log, work_dir
    from headwater.testing.servers import PostgresServer

    work = work_dir("ingest_postgres")
    results: list[Row] = []
    with PostgresServer(work / "pg") as server:
        sizes = [n for n in (flat or [FLAT_ROWS]) if n < rows]
        url = prepare(server, rows, sizes)
        psql = [str(server.bin_dir / "psql"), "--no-psqlrc", "--quiet", url, "-c"]
        env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false", "PYTHONDONTWRITEBYTECODE": "1"}
        env.pop("HEADWATER_PG_PARALLEL", None)
        _count(url, "lineitem")  # warm the OS cache: every case reads from memory

        def fresh(name: str) -> Path:
            path = work / name
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir(parents=True)
            return path

        def project(
            table: str = "lineitem", limit: str | None = None, transport: str = "auto"
        ) -> list[str]:
            root = fresh("project")
            bound = f'memory_limit = "{limit}"\n' if limit else ""
            (root / "headwater.toml").write_text(
                f'[project]\nname = "ingest_postgres"\n{bound}\n[connections.pg]\nurl = "{url}"\n\n'
                f'[sources.pg]\nconnection = "pg"\ntables = ["{table}"]\nwrite = "replace"\n'
                f'transport = "{transport}"\n'
            )
            return [HEADWATER, "run", "-p", str(root)]

        def child(kind: str, table: str = "lineitem", python: str = sys.executable) -> list[str]:
            folder = fresh(kind)
            return [
                python,
                "-m",
                "benchmarks.ingest_postgres",
                "--child",
                kind,
                "--url",
                url,
                "--db",
                str(folder / "w.duckdb"),
                "--work",
                str(folder / "pipelines"),
                "--table",
                table,
            ]

        dlt_py = dlt_python(work) if with_dlt else None
        one = {**env, "HEADWATER_PG_PARALLEL": "1"}
        cases: list[tuple[str, Any, dict[str, str], int]] = [
            (
                "floor: psql COPY TO STDOUT (text)",
                lambda: [*psql, "COPY lineitem TO STDOUT"],
                env,
                rows,
            ),
            (
                "floor: psql COPY TO STDOUT (binary)",
                lambda: [*psql, "COPY lineitem TO STDOUT (FORMAT binary)"],
                env,
                rows,
            ),
            ("headwater run", project, env, rows),
            *([(SERVED, project, env, rows)] if through_server else []),
            ("headwater run, arrow transport", lambda: project(transport="arrow"), env, rows),
            (
                "headwater run, arrow transport, 1 connection",
                lambda: project(transport="arrow"),
                one,
                rows,
            ),
            ("headwater connector -> duckdb CTAS", lambda: child("connector"), env, rows),
            ("duckdb postgres_scanner CTAS", lambda: child("duckdb"), env, rows),
        ]
        if dlt_py is not None:
            cases.append(
                (
                    "dlt sql_table (pyarrow backend)",
                    lambda: child("dlt", python=str(dlt_py)),
                    env,
                    rows,
                )
            )
        cases.append(("headwater connector alone (drain)", lambda: child("drain"), env, rows))
        for n in sizes:
            cases += [
                (f"headwater run, {n:,} rows", partial(project, f"lineitem_{n}"), env, n),
                (
                    f"headwater connector alone (drain), {n:,} rows",
                    partial(child, "drain", f"lineitem_{n}"),
                    env,
                    n,
                ),
            ]
        if memory_limit:
            cases.append(
                (
                    f"headwater run, memory_limit {memory_limit}",
                    lambda: project(limit=memory_limit),
                    env,
                    rows,
                )
            )
            for n in sizes:
                cases.append(
                    (
                        f"headwater run, memory_limit {memory_limit}, {n:,} rows",
                        partial(project, f"lineitem_{n}", memory_limit),
                        env,
                        n,
                    )
                )
        if only:

            def wanted(name: str) -> bool:  # "=name": that case alone; else a part of names
                return any(name == o[1:] if o.startswith("=") else o in name for o in only)

            cases = [cases[0]] + [c for c in cases[1:] if wanted(c[0])]
        measured: dict[str, dict[str, Any]] = {}
        for _ in range(reps):  # interleaved: drift of a shared machine hits every case alike
            for name, argv, case_env, _n in cases:
                log(f"{name} ...")
                try:
                    if name == SERVED:
                        sample = measure_served(argv(), server=server, env=case_env)
                    else:
                        sample = measure(argv(), server=server, cwd=ROOT, env=case_env)
                except RuntimeError as exc:
                    log(f"{name} failed: {exc}")
                    continue
                measured.setdefault(name, {"samples": []})["samples"].append(sample)
        floor_name = cases[0][0]
        floor_samples = measured[floor_name]["samples"]
        floor = statistics.median(s["seconds"] for s in floor_samples)
        floor_cpu = statistics.median(s["cpu_s"] + s["server_cpu_s"] for s in floor_samples)
        for name, _argv, _env, n in cases:
            if name not in measured:
                continue
            samples = measured[name]["samples"]
            seconds = statistics.median(s["seconds"] for s in samples)
            speed = (floor * n / rows) / seconds
            rss = max(s["rss_mb"] for s in samples)
            cpu = statistics.median(s["cpu_s"] for s in samples)
            server_cpu = statistics.median(s["server_cpu_s"] for s in samples)
            headline = name in ("headwater run", SERVED)
            results.append(
                Row(
                    benchmark="ingest_postgres",
                    case=name,
                    seconds=seconds,
                    floor=floor,
                    ratio=seconds / floor,
                    target=">= 0.85x floor speed, RSS < 1 GB" if headline else "",
                    ok=(speed >= 0.85 and rss < 1024) if headline else None,
                    note=f"{n / seconds:,.0f} rows/s, {speed:.2f}x floor speed, "
                    f"peak RSS {rss:.0f} MB",
                    cpu_ratio=(cpu + server_cpu) / (floor_cpu * n / rows) if floor_cpu else None,
                    samples=[s["seconds"] for s in samples],
                    extra={
                        "rows": n,
                        "rows_per_s": n / seconds,
                        "speed_vs_floor": speed,
                        "rss_mb": rss,
                        "cpu_s": cpu,
                        "server_cpu_s": server_cpu,
                        "load": statistics.median(s["load"] for s in samples),
                        "duckdb": duckdb.__version__,
                        "adbc_driver_postgresql": adbc_driver_postgresql.__version__,
                        "cpus": os.cpu_count(),
                    },
                )
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=TPCH_SF1_ROWS)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument(
        "--flat",
        default=str(FLAT_ROWS),
        help="comma-separated row counts of the memory check's smaller tables",
    )
    parser.add_argument("--no-dlt", action="store_true", help="skip dlt (and its venv)")
    parser.add_argument("--memory-limit", help="also run headwater with this memory_limit")
    parser.add_argument(
        "--server", action="store_true", help="also run headwater through a live server"
    )
    parser.add_argument(
        "--only",
        help="comma-separated parts of case names to run (+ floor); '=name' for one case",
    )
    parser.add_argument(
        "--child", choices=["duckdb", "connector", "drain", "dlt"], help=argparse.SUPPRESS
    )
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--table", default="lineitem", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "duckdb":
        return child_duckdb(args.url, args.db, args.table)
    if args.child == "connector":
        return child_connector(args.url, args.db, args.table)
    if args.child == "drain":
        return child_drain(args.url, args.table)
    if args.child == "dlt":
        return child_dlt(args.url, args.db, args.work, args.table)
    from benchmarks._common import WORK, fmt_seconds

    only = [o for o in (args.only or "").split(",") if o] or None
    flat = [int(n) for n in args.flat.split(",") if n]
    rows = run(args.rows, args.reps, not args.no_dlt, flat, args.memory_limit, only, args.server)
    print(
        f"{'case':40} {'wall':>9} {'rows/s':>11} {'vs floor':>9} {'peak RSS':>9} "
        f"{'CPU':>7} {'server CPU':>10} {'load':>5}"
    )
    for r in rows:
        x = r.extra
        print(
            f"{r.case:40} {fmt_seconds(r.seconds):>9} {x['rows_per_s']:>11,.0f} "
            f"{x['speed_vs_floor']:>8.2f}x {x['rss_mb']:>6.0f} MB {x['cpu_s']:>6.1f}s "
            f"{x['server_cpu_s']:>9.1f}s {x['load']:>5.1f}"
        )
    out = WORK / "ingest_postgres" / "results.json"
    out.write_text(json.dumps([r.as_dict() for r in rows], indent=1))
    print(f"(speed vs floor: the text COPY floor's time / the case's time; written to {out})")


if __name__ == "__main__":
    main()
