"""A run's fixed cost, and W2: many short Python tasks, beside Luigi.

    .venv/bin/python -m benchmarks.run --only fixed

- **fixed**: ``headwater run -p DIR`` of a one-model project (``select 1 as x``, a view;
  warm: the warehouse and metastore exist) against ``python -c pass``; median of ``reps``,
  the two alternating. Target: at most 0.3 s over the floor. Also where the time goes:
  ``python -X importtime -m headwater run`` summed by top-level package (median of 3).
- **W2**: 100 independent tasks that each sleep 0.1 s, on 8 threads. Headwater: one Python
  file of ``@task`` functions, ``headwater run -t 8``; Luigi 3.8 (its own venv under
  ``~/.cache/headwater-bench/luigi-venv``, made on first use): ``luigi.build`` of 100 tasks
  with 8 workers and the local scheduler. The ideal is 100 x 0.1 s / 8 = 1.25 s plus
  ``python -c pass``; target: Headwater within 1.2x of it. Median of ``reps``, alternating.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks._common import (
    BENCH_DIR,
    HEADWATER,
    PYTHON,
    Row,
    log,
    median,
    time_subprocess,
    work_dir,
)

FIXED_TARGET = 0.3  # seconds over python -c pass
W2_TASKS, W2_SLEEP, W2_THREADS = 100, 0.1, 8
W2_IDEAL = W2_TASKS * W2_SLEEP / W2_THREADS  # 1.25 s, the figure
W2_TARGET = 1.2
LUIGI_VENV = Path.home() / ".cache" / "headwater-bench" / "luigi-venv"
LUIGI_VERSION = "3.8.1"
_IMPORT = re.compile(r"^import time:\s+(\d+)\s+\|\s+\d+\s+\|\s*(\S+)\s*$")

LUIGI_SCRIPT = f"""
import logging, time
import luigi

logging.getLogger("luigi-interface").setLevel(logging.WARNING)


class Sleep(luigi.Task):
    i = luigi.IntParameter()
    done = False

    def run(self):
        time.sleep({W2_SLEEP})
        self.done = True

    def complete(self):
        return self.done


ok = luigi.build([Sleep(i=i) for i in range({W2_TASKS})], workers={W2_THREADS},
                 local_scheduler=True, log_level="WARNING")
raise SystemExit(0 if ok else 1)
"""


def one_model_project(root: Path) -> Path:
    """A project of one SQL view, run once so that a measured run is a warm one."""
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "headwater.toml").write_text('[project]\nname = "fixed_cost"\n')
    (root / "models" / "one.sql").write_text("select 1 as x\n")
    _check(time_subprocess([HEADWATER, "run", "-p", str(root)]), "headwater run (warm-up)")
    return root


def w2_project(root: Path) -> Path:
    """A project of :data:`W2_TASKS` independent tasks, each sleeping :data:`W2_SLEEP`."""
    (root / "python").mkdir(parents=True, exist_ok=True)
    (root / "headwater.toml").write_text('[project]\nname = "w2"\n')
    body = ["import time", "", "from headwater import task", ""]
    for i in range(W2_TASKS):
        body += ["", "@task", f"def t{i:03d}(ctx):", f"    time.sleep({W2_SLEEP})", ""]
    (root / "python" / "tasks.py").write_text("\n".join(body))
    _check(time_subprocess([HEADWATER, "run", "-p", str(root)]), "headwater run (warm-up)")
    return root


def luigi_python() -> Path | None:
    """Luigi's interpreter (a venv of its own, made on first use); None if it cannot be."""
    python = LUIGI_VENV / "bin" / "python"
    check = [str(python), "-c", "import luigi"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    log(f"installing luigi {LUIGI_VERSION} into {LUIGI_VENV}")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(LUIGI_VENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q", f"luigi=={LUIGI_VERSION}"]
        subprocess.run(pip, check=True, timeout=900)
    except (OSError, subprocess.SubprocessError) as exc:
        log(f"luigi skipped: {exc}")
        return None
    return python if subprocess.run(check, capture_output=True).returncode == 0 else None


def _check(timed: object, what: str) -> None:
    code = getattr(timed, "returncode", 1)
    if code != 0:
        raise RuntimeError(f"{what} failed (exit {code}): {getattr(timed, 'stderr', '')[-500:]}")


def import_breakdown(project: Path, runs: int = 3) -> list[dict[str, object]]:
    """Self time of every module a warm ``headwater run`` imports beyond ``python -c pass``,
    summed by top-level package, median of ``runs``; first entry ``(all)``."""

    def sample(argv: list[str]) -> dict[str, float]:
        proc = subprocess.run(argv, capture_output=True, text=True, check=True)
        found: dict[str, float] = {}
        for line in proc.stderr.splitlines():
            m = _IMPORT.match(line)
            if m:
                found[m.group(2)] = int(m.group(1)) / 1000
        return found

    baseline = set(sample([PYTHON, "-X", "importtime", "-c", "pass"]))
    argv = [PYTHON, "-X", "importtime", "-m", "headwater", "run", "-p", str(project)]
    per_run = []
    for _ in range(runs):
        packages: dict[str, float] = {}
        for name, ms in sample(argv).items():
            if name not in baseline:
                top = name.split(".")[0]
                packages[top] = packages.get(top, 0.0) + ms
        per_run.append(packages)
    names = {n for p in per_run for n in p}
    table = [
        {"package": n, "self_ms": round(median([p.get(n, 0.0) for p in per_run]), 1)} for n in names
    ]
    table.sort(key=lambda r: -float(r["self_ms"]))  # type: ignore[arg-type]
    total = round(sum(float(r["self_ms"]) for r in table), 1)  # type: ignore[arg-type]
    return [{"package": "(all)", "self_ms": total}, *table]


def phases(project: Path, runs: int = 5) -> dict[str, float]:
    """CPU milliseconds of each phase of a warm run (``_fixed_phases.py``), median of ``runs``."""
    argv = [PYTHON, str(BENCH_DIR / "_fixed_phases.py"), str(project)]
    samples = []
    for _ in range(runs):
        proc = subprocess.run(argv, capture_output=True, text=True, check=True)
        samples.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return {phase: median([s[phase] for s in samples]) for phase in samples[0]}


def fixed(reps: int) -> list[Row]:
    project = one_model_project(work_dir("fixed_cost", "one_model", fresh=True))
    runs: dict[str, list[tuple[float, float]]] = {"pass": [], "run": []}
    for rep in range(reps):
        log(f"  fixed cost: {rep + 1}/{reps}")
        for name, argv in (
            ("pass", [PYTHON, "-c", "pass"]),
            ("run", [HEADWATER, "run", "-p", str(project)]),
        ):
            timed = time_subprocess(argv)
            _check(timed, name)
            runs[name].append((timed.seconds, timed.cpu_seconds))
    floor = median([w for w, _ in runs["pass"]])
    secs = median([w for w, _ in runs["run"]])
    cpu, floor_cpu = median([c for _, c in runs["run"]]), median([c for _, c in runs["pass"]])
    log("  fixed cost: -X importtime")
    breakdown = import_breakdown(project)
    log("  fixed cost: phases")
    cpu_phases = phases(project)
    top = ", ".join(f"{r['package']} {float(r['self_ms']):.0f}" for r in breakdown[1:9])  # type: ignore[arg-type]
    return [
        Row(
            "fixed",
            "headwater run, one model (warm)",
            secs,
            floor=floor,
            ratio=secs / floor,
            target=f"net <= {FIXED_TARGET:g} s",
            ok=secs - floor <= FIXED_TARGET,
            note=f"net {(secs - floor) * 1000:.0f} ms, cpu {cpu * 1000:.0f} ms (floor "
            f"{floor_cpu * 1000:.0f}); imports {breakdown[0]['self_ms']} ms: {top}",
            cpu_ratio=cpu / floor_cpu if floor_cpu else None,
            samples=[w for w, _ in runs["run"]],
            extra={
                "floor_samples": [w for w, _ in runs["pass"]],
                "importtime": breakdown,
                "cpu_ms_by_phase": cpu_phases,
            },
        )
    ]


def w2(reps: int) -> list[Row]:
    base = work_dir("fixed_cost", "w2", fresh=True)
    project = w2_project(base / "project")
    script = base / "luigi_w2.py"
    script.write_text(LUIGI_SCRIPT)
    luigi = luigi_python()
    cases = {
        "pass": [PYTHON, "-c", "pass"],
        "headwater": [HEADWATER, "run", "-p", str(project), "-t", str(W2_THREADS)],
    }
    if luigi is not None:
        cases["luigi"] = [str(luigi), str(script)]
    times: dict[str, list[float]] = {name: [] for name in cases}
    for rep in range(reps):
        log(f"  W2: {rep + 1}/{reps}")
        for name, argv in cases.items():
            timed = time_subprocess(argv, cwd=base)
            _check(timed, name)
            times[name].append(timed.seconds)
    ideal = W2_IDEAL + median(times["pass"])
    rows = []
    for name in ("headwater", "luigi"):
        if name not in times:
            rows.append(Row("W2", name, None, note="luigi could not be installed"))
            continue
        secs = median(times[name])
        rows.append(
            Row(
                "W2",
                f"{W2_TASKS} tasks x {W2_SLEEP:g} s, {W2_THREADS} threads: {name}",
                secs,
                floor=ideal,
                ratio=secs / ideal,
                target=f"<= {W2_TARGET:g}x" if name == "headwater" else "",
                ok=secs / ideal <= W2_TARGET if name == "headwater" else None,
                note=f"ideal {W2_IDEAL:g} s + python -c pass",
                samples=times[name],
            )
        )
    shutil.rmtree(project / ".headwater", ignore_errors=True)
    return rows


def run(*, quick: bool = False) -> list[Row]:
    reps = 3 if quick else 7
    return fixed(reps) + w2(reps)
