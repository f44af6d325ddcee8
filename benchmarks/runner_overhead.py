"""Runner overhead: ``headwater run`` on N no-op SQL models against raw DuckDB.

Projects (all models in ``models/staging/``, so schema ``staging``):

- ``chain``: m0001 = ``select 1 as x``, m_k = ``select * from m_{k-1}``;
- ``wide``: N independent models, m_k = ``select <k> as x``;

each with ``view`` (the default) and ``table`` materialization (header comment); and a
one-model project for the fixed cost of a run (start-up, project load, metastore, warehouse).

Measured, median of ``reps`` runs each:

- ``headwater run -p DIR`` as a subprocess (stdout to a file): cold (no ``.headwater/``) and
  warm (second run: existing warehouse and metastore);
- the floor: ``benchmarks/_floor.py`` runs the same ``CREATE OR REPLACE VIEW|TABLE`` statements
  in one DuckDB connection on a fresh database file; reported in-process and as the wall time
  of the whole subprocess (python + duckdb start-up included). The ratio is headwater's wall
  time over the floor's wall time (both include interpreter start-up).

DuckDB limit: a chain of views deeper than 500 fails to bind (``max_expression_depth`` 1000) in
DuckDB itself, so the view chain is measured at depth :data:`VIEW_CHAIN_LIMIT`; the full run
checks and reports that depth N fails in both (see ``depth_check``).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from benchmarks._common import (
    BENCH_DIR,
    HEADWATER,
    PYTHON,
    Row,
    log,
    median,
    ratio,
    time_subprocess,
    work_dir,
)

VIEW_CHAIN_LIMIT = 500  # deepest chain of views DuckDB 1.5 binds with default settings
TARGET = 3.0
FLOOR_SCRIPT = str(BENCH_DIR / "_floor.py")
_SUMMARY = re.compile(r"run (\S+) (\w+) in ([0-9.]+)s: (.*)$")


def model_sql(shape: str, k: int) -> str:
    if shape == "wide":
        return f"select {k} as x"
    return "select 1 as x" if k == 1 else f"select * from m{k - 1:04d}"


def floor_sql(shape: str, k: int) -> str:
    """What the floor executes: the model's SELECT with its reference schema-qualified."""
    if shape == "chain" and k > 1:
        return f"select * from staging.m{k - 1:04d}"
    return model_sql(shape, k)


def make_project(root: Path, shape: str, materialized: str, n: int) -> Path:
    if root.exists():
        shutil.rmtree(root)
    models = root / "models" / "staging"
    models.mkdir(parents=True)
    (root / "headwater.toml").write_text(f'[project]\nname = "bench_{shape}_{materialized}"\n')
    header = "-- headwater:\n--   materialized: table\n" if materialized == "table" else ""
    for k in range(1, n + 1):
        (models / f"m{k:04d}.sql").write_text(header + model_sql(shape, k) + "\n")
    return root


def floor_statements(shape: str, materialized: str, n: int) -> list[str]:
    kind = "VIEW" if materialized == "view" else "TABLE"
    return ["CREATE SCHEMA IF NOT EXISTS staging"] + [
        f"CREATE OR REPLACE {kind} staging.m{k:04d} AS {floor_sql(shape, k)}"
        for k in range(1, n + 1)
    ]


def run_headwater(project: Path, out: Path) -> dict[str, object]:
    timed = time_subprocess([HEADWATER, "run", "-p", str(project)], stdout_path=out, timeout=3600)
    lines = [ln for ln in timed.stdout.splitlines() if ln.strip()]
    match = _SUMMARY.search(lines[-1]) if lines else None
    errors = [ln for ln in lines if " failed " in ln and "upstream_failed" not in ln]
    return {
        "seconds": timed.seconds,
        "cpu_s": timed.cpu_seconds,
        "returncode": timed.returncode,
        "status": match.group(2) if match else f"exit {timed.returncode}",
        "internal_s": float(match.group(3)) if match else None,
        "counts": match.group(4) if match else timed.stderr.strip()[-300:],
        "first_error": errors[0][:300] if errors else None,
    }


def run_floor(db: Path, statements_file: Path, *, fresh: bool) -> dict[str, object]:
    if fresh:
        for suffix in ("", ".wal"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    out = db.with_suffix(".out.json")
    timed = time_subprocess([PYTHON, FLOOR_SCRIPT, str(db), str(statements_file)], stdout_path=out)
    if timed.returncode != 0:
        first = timed.stderr.strip().splitlines()[-1] if timed.stderr.strip() else "?"
        return {
            "wall_s": timed.seconds,
            "cpu_s": timed.cpu_seconds,
            "inproc_s": None,
            "error": first[:300],
        }
    payload = json.loads(timed.stdout.strip().splitlines()[-1])
    return {
        "wall_s": timed.seconds,
        "cpu_s": timed.cpu_seconds,
        "inproc_s": payload["seconds"],
        "error": None,
    }


def measure_case(shape: str, materialized: str, n: int, reps: int) -> list[Row]:
    name = f"{shape}/{materialized} n={n}"
    base = work_dir("runner", f"{shape}_{materialized}_{n}")
    project = make_project(base / "project", shape, materialized, n)
    statements_file = base / "statements.json"
    statements_file.write_text(json.dumps(floor_statements(shape, materialized, n)))
    db = base / "floor.duckdb"
    cold, warm, floor_fresh, floor_warm = [], [], [], []
    for rep in range(reps):
        log(f"  runner {name}: repetition {rep + 1}/{reps}")
        state = project / ".headwater"
        if state.exists():
            shutil.rmtree(state)
        cold.append(run_headwater(project, base / f"run_cold_{rep}.txt"))
        warm.append(run_headwater(project, base / f"run_warm_{rep}.txt"))
        floor_fresh.append(run_floor(db, statements_file, fresh=True))
        floor_warm.append(run_floor(db, statements_file, fresh=False))
    floor_wall = median([f["wall_s"] for f in floor_fresh])  # type: ignore[misc]
    inproc = [f["inproc_s"] for f in floor_fresh if f["inproc_s"] is not None]
    floor_inproc = median(inproc) if inproc else None  # type: ignore[type-var]
    floor_warm_wall = median([f["wall_s"] for f in floor_warm])  # type: ignore[misc]
    floor_cpu = median([f["cpu_s"] for f in floor_fresh])  # type: ignore[misc]
    floor_error = next((f["error"] for f in floor_fresh if f["error"]), None)
    rows = []
    for label, runs in (("cold", cold), ("warm", warm)):
        secs = median([r["seconds"] for r in runs])  # type: ignore[misc]
        statuses = sorted({str(r["status"]) for r in runs})
        internal = [r["internal_s"] for r in runs if r["internal_s"] is not None]
        r_wall = ratio(secs, floor_wall)
        r_inproc = ratio(secs, floor_inproc)
        cpu = median([r["cpu_s"] for r in runs])  # type: ignore[misc]
        per_model = (secs - floor_wall) / n * 1000
        note = (
            f"{'/'.join(statuses)}; floor in-process {floor_inproc or 0:.2f} s "
            f"(ratio {r_inproc or 0:.1f}x); cpu {cpu:.1f} s vs {floor_cpu:.2f} s; "
            f"+{per_model:.1f} ms/model"
        )
        if label == "warm":
            note += f"; floor on existing db {floor_warm_wall:.2f} s"
        rows.append(
            Row(
                benchmark="runner",
                case=f"{name} {label}",
                seconds=secs,
                floor=floor_wall,
                ratio=r_wall,
                # one model measures the fixed cost of a run: the target is about 1000
                target=f"<= {TARGET:g}x" if n > 1 else "(fixed cost)",
                ok=(
                    statuses == ["success"]
                    if n == 1
                    else (r_wall is not None and r_wall <= TARGET and statuses == ["success"])
                ),
                note=note,
                cpu_ratio=ratio(cpu, floor_cpu),
                samples=[r["seconds"] for r in runs],  # type: ignore[misc]
                extra={
                    "floor_wall_s": floor_wall,
                    "floor_inproc_s": floor_inproc,
                    "floor_cpu_s": floor_cpu,
                    "cpu_s": cpu,
                    "cpu_ratio": ratio(cpu, floor_cpu),
                    "floor_existing_db_wall_s": floor_warm_wall,
                    "floor_samples": [f["wall_s"] for f in floor_fresh],
                    "floor_error": floor_error,
                    "ratio_vs_inproc_floor": r_inproc,
                    "headwater_internal_s": median(internal) if internal else None,
                    "runs": runs,
                },
            )
        )
    return rows


def depth_check(n: int) -> Row:
    """One run of a view chain of depth ``n`` (> 500): does headwater, does DuckDB, build it?"""
    base = work_dir("runner", f"chain_view_{n}_depth")
    project = make_project(base / "project", "chain", "view", n)
    statements_file = base / "statements.json"
    statements_file.write_text(json.dumps(floor_statements("chain", "view", n)))
    log(f"  runner chain/view n={n}: depth check (expected to fail in DuckDB)")
    hw = run_headwater(project, base / "run.txt")
    floor = run_floor(base / "floor.duckdb", statements_file, fresh=True)
    return Row(
        benchmark="runner",
        case=f"chain/view n={n} (depth check)",
        seconds=float(hw["seconds"]),  # type: ignore[arg-type]
        floor=float(floor["wall_s"]),  # type: ignore[arg-type]
        ratio=None,
        target="builds",
        ok=hw["status"] == "success",
        note=f"headwater: {hw['status']} ({hw['counts']}); floor: {floor['error'] or 'ok'}",
        extra={"headwater": hw, "floor": floor},
    )


def run(*, quick: bool = False) -> list[Row]:
    n = 200 if quick else 1000
    reps = 3
    rows: list[Row] = []
    warm_up = make_project(work_dir("runner", "warm_up") / "project", "chain", "view", 5)
    run_headwater(warm_up, warm_up.parent / "run.txt")  # .pyc files, OS cache; not timed
    for shape, materialized in (
        ("chain", "view"),
        ("wide", "view"),
        ("chain", "table"),
        ("wide", "table"),
    ):
        size = min(n, VIEW_CHAIN_LIMIT) if (shape, materialized) == ("chain", "view") else n
        rows += measure_case(shape, materialized, size, reps)
    rows += measure_case("wide", "view", 1, reps)  # the fixed cost of one `headwater run`
    if not quick:
        rows.append(depth_check(n))
    return rows
