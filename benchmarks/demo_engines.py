"""The store demo at ``--scale`` on DuckDB, PostgreSQL and Spark local[2] (issue 16).

1. **Data**: the demo's generator (what ``headwater demo`` runs) writes the four regions
   once under ``benchmarks/.work/demo_engines/s<SCALE>/template``, with its ground truth;
   the project's files there are refreshed from the demo on every run.
2. **Projects**: a copy of that folder per engine, the demo's own ``headwater.toml`` with
   only ``[project]``'s engine lines changed (``engine``, ``warehouse``: a PostgreSQL
   database on loopback, a Spark warehouse folder with ``master = "local[2]"``) and a
   ``timeout`` per step (``--timeout``: a step over it is recorded as failed, its
   dependents as upstream_failed, and the run goes on).
3. **Run**: ``headwater run -y`` builds the whole project once from empty (extracts,
   checks and quarantine, staging, marts): wall and CPU of the process, the PostgreSQL
   server's CPU, each step's status and seconds from the run history. When Headwater
   refuses a model's SQL on the engine (``engines/constructs.py``: a construct not proven
   to answer as on DuckDB) the project would not load: the copy then keeps no model and
   builds the raw layer only, and the refusals are recorded.
4. **Answers**: the demo's four questions are asked of the engine's marts (in a process
   of their own, through the engine's read path, which renders them for its dialect) and
   compared with the generator's ground truth.

    .venv/bin/python -m benchmarks.demo_engines --scale 10
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from benchmarks._common import BENCH_DIR, PYTHON, log, subprocess_env, work_dir
from benchmarks._engine_runs import ENGINES, SPARK_SUBMIT, BenchPostgres, headwater_run
from benchmarks.demo_scale import _GENERATE

_WAREHOUSE_LINE = re.compile(r'^warehouse = ".*"$', re.MULTILINE)


def template(scale: float) -> tuple[Path, float | None]:
    """The generated demo at ``scale`` (its data made once) and the generator's seconds
    (None: kept). A kept folder gets the demo's current project files (SQL, TOML): the
    data does not depend on them, and a run on old SQL would measure old SQL."""
    from headwater.demo.scaffold import copy_template

    folder = work_dir("demo_engines", f"s{scale:g}", "template")
    if (folder / "truth.pickle").exists():
        copy_template(folder, overwrite=True)
        return folder, None
    shutil.rmtree(folder)
    log(f"generating the store demo at scale {scale:g}")
    started = time.perf_counter()
    subprocess.run([PYTHON, "-c", _GENERATE, str(folder), str(scale)], check=True)
    return folder, time.perf_counter() - started


def engine_lines(engine: str, url: str, timeout: int) -> str:
    """``[project]``'s warehouse lines for ``engine`` (replacing the demo's DuckDB file)."""
    if engine == "postgres":
        lines = f'engine = "postgres"\nwarehouse = "{url}"'
    elif engine == "spark":
        lines = 'engine = "spark"\nmaster = "local[2]"\nwarehouse = ".headwater/spark-warehouse"'
    else:
        lines = 'warehouse = ".headwater/warehouse.duckdb"'
    return f"{lines}\ntimeout = {timeout}"


def project_for(engine: str, data: Path, root: Path, url: str, timeout: int) -> None:
    """A copy of the demo at ``data`` in ``root`` whose warehouse is ``engine``'s."""
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(data, root, ignore=shutil.ignore_patterns(".headwater", "truth.pickle"))
    toml = root / "headwater.toml"
    text, n = _WAREHOUSE_LINE.subn(engine_lines(engine, url, timeout), toml.read_text(), count=1)
    if n != 1:
        raise SystemExit(f"{toml}: no warehouse line in [project] to replace")
    toml.write_text(text)


def ask(root: Path, truth: Path) -> None:
    """Print JSON: whether the four answers of the project at ``root`` equal ``truth``'s."""
    from headwater import api
    from headwater.demo.questions import QUESTIONS, answers_from_rows
    from headwater.engines import open_engine

    project = api.open_project(root)
    kind = project.settings.project.engine
    engine = open_engine(kind, project.warehouse_location, options=project.engine_options)
    try:
        rows = [engine.read_query(q.sql, None, limit=None)[1] for q in QUESTIONS]
    except Exception as exc:  # the marts are missing or a question does not run here
        print(json.dumps({"match": None, "error": str(exc).splitlines()[0][:300]}))
        return
    finally:
        engine.close()
    got = answers_from_rows(*rows)
    print(json.dumps({"match": got == pickle.loads(truth.read_bytes()), "error": ""}))


def answers(root: Path, truth: Path, env: dict[str, str]) -> dict[str, Any]:
    argv = [PYTHON, "-m", "benchmarks.demo_engines", "--ask", str(root), str(truth)]
    proc = subprocess.run(argv, env=env, cwd=BENCH_DIR.parent, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"match": None, "error": proc.stderr.strip().splitlines()[-1][:300]}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def by_layer(steps: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Steps and their summed seconds per schema (raw, staging, marts)."""
    layers: dict[str, dict[str, float]] = {}
    for name, step in steps.items():
        layer = layers.setdefault(name.split(".")[0], {"steps": 0, "seconds": 0.0, "failed": 0})
        layer["steps"] += 1
        layer["seconds"] += step["seconds"] or 0.0
        layer["failed"] += step["status"] != "success"
    return layers


def refused_models(root: Path, engine: str) -> dict[str, str]:
    """Model name -> why Headwater refuses its SQL on ``engine`` (such a model is left out
    of the run: ``headwater run`` would stop at load, exit 2)."""
    from headwater.engines.dialects import refusal

    found = {}
    for path in sorted((root / "models").glob("*/*.sql")):
        problem = refusal(path.read_text(), engine)
        if problem is not None:
            found[f"{path.parent.name}.{path.stem}"] = problem.message
    return found


def bench_engine(engine: str, data: Path, args: argparse.Namespace, server: Any) -> dict[str, Any]:
    """Build the demo on ``engine`` once; the run's figures and whether its answers match."""
    root = work_dir("demo_engines", f"s{args.scale:g}") / engine
    url = server.create_database("shop") if server is not None else ""
    project_for(engine, data, root, url, args.timeout)
    env = subprocess_env(extra={"PYSPARK_SUBMIT_ARGS": SPARK_SUBMIT} if engine == "spark" else {})
    refused = refused_models(root, engine)
    if refused:  # the project would not load; the models depending on them would not run
        shutil.rmtree(root / "models")
        log(f"{engine}: {len(refused)} models refused ({sorted(refused)}): the raw layer only")
    log(f"{engine}: headwater run")
    try:
        run = headwater_run(root, [], env, server)
    except RuntimeError as exc:  # the run stopped before its steps: recorded, not raised
        return {"error": str(exc)[-500:], "refused": refused}
    failed = {s: i["error"] for s, i in run["steps"].items() if i["status"] != "success"}
    result = {**run, "layers": by_layer(run["steps"]), "failed": failed, "refused": refused}
    result["answers"] = answers(root, data / "truth.pickle", env)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--timeout", type=int, default=600)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--out", type=Path, default=BENCH_DIR / ".work" / "demo_engines.json")
    parser.add_argument("--ask", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ask:
        ask(*args.ask)
        return
    data, generator_s = template(args.scale)
    results: dict[str, Any] = {}
    for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
        if engine != "postgres":
            results[engine] = bench_engine(engine, data, args, None)
            continue
        with BenchPostgres.start(work_dir("demo_engines", "pg", fresh=True)) as server:
            results[engine] = bench_engine(engine, data, args, server)
    base = results.get("duckdb", {}).get("wall_s")
    for engine, r in results.items():
        if "error" in r:
            print(f"{engine:9} {r['error']}")
            continue
        times = ", ".join(f"{k} {v['seconds']:.1f} s" for k, v in r["layers"].items())
        print(
            f"{engine:9} {r['wall_s']:7.1f} s wall ({r['wall_s'] / base if base else 0:.2f}x"
            f" duckdb), CPU {r['cpu_s']:.1f} s + server {r['server_cpu_s']:.1f} s; steps:"
            f" {times}; failed {len(r['failed'])}; answers match: {r['answers']['match']}"
            f" {r['answers']['error']}; models refused: {len(r['refused'])};"
            f" load average {r['load_avg']:.1f}"
        )
    record = {
        "scale": args.scale,
        "timeout_s": args.timeout,
        "generator_s": generator_s,
        "cpus": os.cpu_count(),
        "engines": results,
    }
    args.out.write_text(json.dumps(record, indent=1, default=str) + "\n")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
