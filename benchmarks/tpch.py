"""TPC-H's 22 queries on DuckDB, PostgreSQL and Spark local[2], through Headwater (issue 16).

1. **Data**: DuckDB's ``tpch`` extension (the ``duckdb-extension-tpch`` wheel, offline)
   generates scale factor ``--sf`` once; its eight tables are written as Parquet files under
   ``benchmarks/.work/tpch/sf<SF>/data`` (kept between runs).
2. **Projects**: one per engine, in ``benchmarks/.work/tpch/sf<SF>/<engine>``: eight Parquet
   file sources (``raw.lineitem``...) and 22 models ``tpch.q01`` ... ``tpch.q22``
   (``materialized: table``), each the standard query text in DuckDB's dialect from
   ``tpch_queries()``, rendered for the engine by Headwater (``engines/dialects.py``). A
   query the engine's constructs refuse (``engines/constructs.py``) is left out of that
   project and recorded as refused. ``threads = 1`` (one query at a time), a ``timeout``
   per query (``--timeout``; a timed-out query is recorded as timeout and not run again;
   loads have none).
   PostgreSQL is a ``PostgresServer`` (headwater.testing) on loopback.
3. **Load**: ``headwater run -s raw.*`` (wall and CPU of the process, plus the PostgreSQL
   server's CPU; each table's step seconds). On PostgreSQL the tables are ``ANALYZE``d after
   (not timed: autovacuum would do it later, the planner needs it now).
4. **Queries**: ``headwater run -s tpch.*`` ``--reps`` times; a query's time is its step's
   wall seconds from the run history (``headwater show``): the engine's statement plus
   Headwater's table write, not the process or JVM start. Every query depends on
   ``tpch.warmup`` (a count of ``region``), built first, which pays a run's one-off costs
   (Spark's first statement). The median is reported.
5. **Answers**: each engine's 22 tables are read back (in a subprocess of this module,
   ``--dump``) and compared with DuckDB's: the same row count, and the same rows as sorted
   multisets, numbers equal to 2 decimals. Figures go to ``--out`` (JSON, under
   ``benchmarks/.work`` by default) and the table to stdout.

    .venv/bin/python -m benchmarks.tpch --sf 1 --reps 3 --timeout 300
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import math
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from benchmarks._common import (
    BENCH_DIR,
    PYTHON,
    log,
    median,
    subprocess_env,
    work_dir,
)
from benchmarks._engine_runs import ENGINES, SPARK_SUBMIT, BenchPostgres, headwater_run

TABLES = ("region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem")
# Built first in every run: a run's first statement pays the engine's one-off costs
# (Spark's planner and Hive client classes, code generation), which no query should carry
WARMUP = "warmup"


def generate(sf: float) -> tuple[Path, dict[int, str]]:
    """The Parquet folder of scale factor ``sf`` (made once) and the 22 query texts."""
    import duckdb
    import duckdb_extension_tpch as tpch

    from benchmarks._common import duckdb_extension

    data = work_dir("tpch", f"sf{sf:g}", "data")
    db = duckdb.connect()
    db.execute(f"load '{duckdb_extension(tpch, 'tpch')}'")
    rows = db.execute("select query_nr, query from tpch_queries()").fetchall()
    queries = {int(n): str(q).strip().rstrip(";") for n, q in rows}
    if not all((data / f"{t}.parquet").exists() for t in TABLES):
        log(f"generating TPC-H SF {sf:g} (duckdb tpch extension)")
        db.execute(f"call dbgen(sf = {sf})")
        for table in TABLES:
            db.execute(f"copy {table} to '{data / table}.parquet' (format parquet)")
    db.close()
    return data, queries


def refusals(queries: dict[int, str], engine: str) -> dict[int, str]:
    """Query number -> why Headwater refuses it on ``engine`` (its constructs' message)."""
    from headwater.engines.dialects import refusal

    found = {n: refusal(q, engine) for n, q in queries.items()}
    return {n: p.message for n, p in found.items() if p is not None}


def write_project(
    root: Path, engine: str, data: Path, queries: dict[int, str], timeout: int, url: str = ""
) -> None:
    """A project on ``engine`` whose sources are the Parquet files of ``data``."""
    if root.exists():
        shutil.rmtree(root)
    (root / "models" / "tpch").mkdir(parents=True)
    (root / "data").symlink_to(data)
    lines = ["[project]", 'name = "tpch"', f'engine = "{engine}"', "threads = 1"]
    if url:
        lines.append(f'warehouse = "{url}"')
    if engine == "spark":
        lines.append('master = "local[2]"')
    for table in TABLES:
        lines += ["", f"[sources.{table}]", f'files = "data/{table}.parquet"']
        lines.append('format = "parquet"')
    (root / "headwater.toml").write_text("\n".join(lines) + "\n")
    header = "-- headwater:\n--   materialized: table\n"
    (root / "models" / "tpch" / f"{WARMUP}.sql").write_text(
        header + "select count(*) as n from raw.region\n"
    )
    header += f"--   depends_on: [tpch.{WARMUP}]\n--   timeout: {timeout}\n"
    for n, sql in queries.items():
        (root / "models" / "tpch" / f"q{n:02d}.sql").write_text(header + sql + "\n")


def _normal(value: Any) -> Any:
    """A value as the comparison sees it: numbers rounded to 2 decimals, dates as text."""
    if isinstance(value, decimal.Decimal | float):
        return round(float(value), 2)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()[:10]
    return value.rstrip() if isinstance(value, str) else value


def dump(root: Path, out: Path) -> None:
    """Write every ``tpch.*`` table of the project at ``root`` to ``out`` as JSON (rows
    normalised and sorted)."""
    from headwater import api
    from headwater.engines import open_engine

    project = api.open_project(root)
    settings = project.settings.project
    options = {"master": "local[2]"} if settings.engine == "spark" else None
    engine = open_engine(settings.engine, project.warehouse_location, options=options)
    answers: dict[str, Any] = {}
    try:
        for model in sorted((root / "models" / "tpch").glob("q*.sql")):
            try:
                _, rows = engine.read_query(f"select * from tpch.{model.stem}", None, limit=None)
            except Exception as exc:  # not built (timed out, failed): no answer to compare
                answers[model.stem] = {"error": str(exc).splitlines()[0][:200]}
                continue
            normal = sorted((tuple(_normal(v) for v in row) for row in rows), key=repr)
            answers[model.stem] = {"rows": [list(r) for r in normal]}
    finally:
        engine.close()
    out.write_text(json.dumps(answers, default=str))


def answers_of(root: Path, env: dict[str, str]) -> dict[str, Any]:
    out = root / "answers.json"
    argv = [PYTHON, "-m", "benchmarks.tpch", "--dump", str(root), str(out)]
    subprocess.run(argv, env=env, check=True, cwd=BENCH_DIR.parent, capture_output=True)
    return dict(json.loads(out.read_text()))


def same_rows(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool | None:
    """Whether two answers hold the same rows (None: one of them has none)."""
    if not a or not b or "rows" not in a or "rows" not in b:
        return None
    return bool(a["rows"] == b["rows"])


def _analyze(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        for table in TABLES:
            con.execute(f"analyze raw.{table}")


def _timed_out(error: str | None) -> bool:
    return bool(error) and "timed out" in str(error).lower()


def bench_engine(
    engine: str, data: Path, queries: dict[int, str], args: argparse.Namespace, server: Any
) -> dict[str, Any]:
    """Load the data into ``engine`` through Headwater, run the queries ``args.reps`` times;
    the load's figures, each run's and each query's."""
    refused = refusals(queries, engine)
    runnable = {n: q for n, q in queries.items() if n not in refused}
    root = work_dir("tpch", f"sf{args.sf:g}") / engine
    url = server.create_database("tpch") if server is not None else ""
    write_project(root, engine, data, runnable, args.timeout, url)
    extra = {"PYSPARK_SUBMIT_ARGS": SPARK_SUBMIT} if engine == "spark" else {}
    env = subprocess_env(extra=extra)
    log(f"{engine}: loading {len(TABLES)} tables")
    load = headwater_run(root, ["raw.*"], env, server)
    failed = {s: i["error"] for s, i in load["steps"].items() if i["status"] != "success"}
    if failed:
        raise SystemExit(f"{engine}: the load failed: {failed}")
    if url:
        _analyze(url)
    runs, stopped = [], set()  # a query that timed out is not run again
    for rep in range(args.reps):
        select = [f"tpch.{WARMUP}", *(f"tpch.q{n:02d}" for n in runnable if n not in stopped)]
        log(f"{engine}: queries, run {rep + 1} of {args.reps}")
        run = headwater_run(root, select, env, server)
        stopped |= {int(s[-2:]) for s, i in run["steps"].items() if _timed_out(i["error"])}
        runs.append(run)
    per_query: dict[str, Any] = {}
    for n in queries:
        name = f"tpch.q{n:02d}"
        seen = [r["steps"][name] for r in runs if name in r["steps"]]
        samples = [s["seconds"] for s in seen if s["status"] == "success"]
        if n in refused:
            status, note = "refused", refused[n]
        elif n in stopped:
            status, note = "timeout", f"over {args.timeout} s"
        elif len(samples) < len(seen) or not seen:
            status, note = "failed", next((s["error"] for s in seen if s["error"]), "")
        else:
            status, note = "ok", ""
        mid = median(samples) if status == "ok" else None
        per_query[f"q{n:02d}"] = {
            "status": status,
            "median_s": mid,
            "samples": samples,
            "note": (note or "")[:300],
        }
    return {"load": load, "runs": runs, "queries": per_query, "root": str(root), "env": extra}


def compare(results: dict[str, Any], answers: dict[str, dict[str, Any]]) -> None:
    """Mark each engine's query ``same_as_duckdb`` (None: no answer on one side)."""
    base = answers.get("duckdb", {})
    for engine, figures in results.items():
        for q, info in figures["queries"].items():
            mine = answers.get(engine, {}).get(q)
            info["rows"] = len(mine["rows"]) if mine and "rows" in mine else None
            info["same_as_duckdb"] = same_rows(mine, base.get(q))


def table(results: dict[str, Any]) -> str:
    """The per-query table: seconds per engine and the ratio to DuckDB's."""
    engines = list(results)
    head = f"{'query':6}" + "".join(f"{e:>12}" for e in engines)
    head += "".join(f"{e + '/duckdb':>16}" for e in engines if e != "duckdb") + "  same rows"
    lines = [head]
    for q in results[engines[0]]["queries"]:
        cells, ratios, same = "", "", []
        base = results.get("duckdb", {}).get("queries", {}).get(q, {}).get("median_s")
        for e in engines:
            info = results[e]["queries"][q]
            s = info["median_s"]
            cells += f"{s:>11.2f}s" if s is not None else f"{info['status']:>12}"
            if e != "duckdb":
                ratios += f"{s / base:>15.1f}x" if s and base else f"{'-':>16}"
                same.append({True: "yes", False: "NO", None: "-"}[info.get("same_as_duckdb")])
        lines.append(f"{q:6}{cells}{ratios}  {'/'.join(same)}")
    lines += summary(results)
    for e in engines:
        load = results[e]["load"]
        lines.append(
            f"load {e}: {load['wall_s']:.1f} s wall, {load['cpu_s']:.1f} s CPU "
            f"(+{load['server_cpu_s']:.1f} s server), load average {load['load_avg']:.1f}"
        )
    return "\n".join(lines)


def summary(results: dict[str, Any]) -> list[str]:
    """Per engine, over the queries every engine finished: the sum of their medians, the
    geometric mean of the ratio to DuckDB's, and how many it ran fastest."""
    engines = list(results)
    done = [
        q
        for q in results[engines[0]]["queries"]
        if all(results[e]["queries"][q]["median_s"] for e in engines)
    ]
    best = [min(engines, key=lambda e: float(results[e]["queries"][q]["median_s"])) for q in done]
    lines = [f"over the {len(done)} queries every engine finished:"]
    for e in engines:
        mine = [results[e]["queries"][q]["median_s"] for q in done]
        line = f"  {e}: sum {sum(mine):.1f} s"
        if "duckdb" in results and done:
            base = [results["duckdb"]["queries"][q]["median_s"] for q in done]
            ratios = [m / b for m, b in zip(mine, base, strict=True)]
            line += f", geometric mean {math.prod(ratios) ** (1 / len(ratios)):.1f}x duckdb"
        lines.append(f"{line}, fastest on {best.count(e)}")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--sf", type=float, default=1.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--timeout", type=int, default=300)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--out", type=Path, default=BENCH_DIR / ".work" / "tpch.json")
    parser.add_argument("--table", type=Path, help="print the table of a saved --out file")
    parser.add_argument("--dump", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.dump:
        dump(*args.dump)
        return
    if args.table:
        print(table(json.loads(args.table.read_text())["engines"]))
        return
    data, queries = generate(args.sf)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    started, load0 = time.time(), os.getloadavg()
    results: dict[str, Any] = {}
    answers: dict[str, dict[str, Any]] = {}
    server = None
    try:
        for engine in engines:
            if engine == "postgres":
                base = work_dir("tpch", "pg", fresh=True)
                server = BenchPostgres.start(base).__enter__()
            results[engine] = bench_engine(engine, data, queries, args, server)
            env = subprocess_env(extra=results[engine]["env"])
            answers[engine] = answers_of(Path(results[engine]["root"]), env)
            if server is not None:
                server.__exit__(None, None, None)
                server = None
    finally:
        if server is not None:
            server.__exit__(None, None, None)
    compare(results, answers)
    print(table(results))
    record = {
        "benchmark": "tpch",
        "sf": args.sf,
        "reps": args.reps,
        "timeout_s": args.timeout,
        "started": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
        "seconds": time.time() - started,
        "load_avg_before": load0,
        "load_avg_after": os.getloadavg(),
        "cpus": os.cpu_count(),
        "postgres_settings": BenchPostgres.settings,
        "spark_submit": SPARK_SUBMIT,
        "engines": results,
    }
    args.out.write_text(json.dumps(record, indent=1, default=str) + "\n")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
