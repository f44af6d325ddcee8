"""The store demo at growing scale: time and peak RSS of the generator and of the run, each
in its own process, and the rows per second of each source kind (issue 18, "Memory at
scale").

Per scale: (1) the generator (``headwater.demo.scaffold.init_project``) writes a fresh demo
folder; (2) ``headwater run`` runs its pipeline with the project's default settings (no
``memory_limit`` set: the documented default); (3) an unmeasured process checks that the
four answers equal the generator's ground truth. Peak RSS is the process's ``VmHWM`` polled
from /proc every 20 ms (the warehouse, DuckDB, runs inside the ``headwater run`` process, so
this is the whole run). Rows per second of a source kind are its steps' output rows over
the sum of their own wall times (steps run 4 at a time, so this is per-step throughput).

    .venv/bin/python -m benchmarks.demo_scale --scales 10 50
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks._common import BENCH_DIR, HEADWATER, PYTHON, Row, log, subprocess_env, work_dir

# as `headwater demo` does: the template, then batch 1 streamed; the ground truth is saved
_GENERATE = (
    "import pickle, sys; from pathlib import Path; "
    "from headwater.demo.scaffold import copy_template; "
    "from headwater.demo.stream import write_streamed; d = Path(sys.argv[1]); copy_template(d); "
    "truth = write_streamed(d, scale=float(sys.argv[2]), seed=7); "
    "(d / 'truth.pickle').write_bytes(pickle.dumps(truth))"
)
_CHECK = (
    "import pickle, sys; from pathlib import Path; "
    "from headwater.demo.runner import _answers_from_warehouse; d = Path(sys.argv[1]); "
    "got = _answers_from_warehouse('duckdb', d / '.headwater' / 'warehouse.duckdb'); "
    "sys.exit(0 if got == pickle.loads((d / 'truth.pickle').read_bytes()) else 1)"
)
# "05:28:20 raw.europe_customers success 2.15s (in=18750 out=18750 ...)"
_STEP = re.compile(r"^\S+ (\S+) success ([\d.]+)s \(in=(\d+) out=(\d+)")
_JSONL = {"raw.africa_cart_events", "raw.catalog_products"}


def source_kind(step: str) -> str | None:
    """The source kind of a step of the demo (None for models and checks)."""
    if step.startswith(("raw.europe_", "raw.north_america_", "raw.asia_")):
        return "sqlite"
    if step.startswith(("raw.africa_", "raw.catalog_")):
        return "jsonl" if step in _JSONL else "csv"
    return None


def measured(argv: list[str], stdout: Path | None = None) -> dict[str, float]:
    """Wall seconds, CPU seconds and peak RSS (VmHWM, MB) of one process; raises
    RuntimeError with its stderr's end when it fails."""
    peak = [0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(stdout or "/dev/null", "wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=_env()
        )

        def poll() -> None:
            status = Path(f"/proc/{proc.pid}/status")
            while proc.poll() is None:
                try:
                    for line in status.read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            peak[0] = max(peak[0], int(line.split()[1]))
                except (OSError, ValueError):
                    pass
                time.sleep(0.02)

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        _, err = proc.communicate()
        watcher.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:3]} exited {proc.returncode}: {err.decode()[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": time.perf_counter() - started, "cpu_s": cpu, "rss_mb": peak[0] / 1024}


def _env() -> dict[str, str]:
    # a wide terminal: the run's step lines must not wrap (they are parsed)
    return subprocess_env(extra={"COLUMNS": "400"})


def rates(log_text: str) -> dict[str, dict[str, float]]:
    """Rows, step seconds and rows per second per source kind, from the run's step lines."""
    rows: dict[str, float] = defaultdict(float)
    secs: dict[str, float] = defaultdict(float)
    for line in log_text.splitlines():
        m = _STEP.match(line.strip())
        kind = source_kind(m.group(1)) if m else None
        if m and kind:
            rows[kind] += int(m.group(4))
            secs[kind] += float(m.group(2))
    return {
        k: {"rows": rows[k], "seconds": secs[k], "rows_per_s": rows[k] / max(secs[k], 1e-9)}
        for k in sorted(rows)
    }


def one_scale(scale: float) -> dict[str, Any]:
    """Generate, run and check the demo at ``scale``; the measurements."""
    folder = work_dir("demo_scale", f"scale_{scale:g}", fresh=True)
    log(f"scale {scale:g}: generating in {folder}")
    gen = measured([PYTHON, "-c", _GENERATE, str(folder), str(scale)])
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6
    log(f"scale {scale:g}: generated {size:.0f} MB in {gen['seconds']:.1f}s; running")
    out = folder / "run.log"
    run = measured([HEADWATER, "run", "-p", str(folder), "-y"], stdout=out)
    log(f"scale {scale:g}: run {run['seconds']:.1f}s, {run['rss_mb']:.0f} MB; checking answers")
    check = subprocess.run([PYTHON, "-c", _CHECK, str(folder), str(scale)], env=_env(), check=False)
    return {
        "scale": scale,
        "generator": gen,
        "run": run,
        "data_mb": size,
        "answers_match": check.returncode == 0,
        "sources": rates(out.read_text(errors="replace")),
    }


def bench(scales: list[float]) -> list[Row]:
    """One row per scale and phase (seconds; peak RSS and rates in ``extra``)."""
    out = []
    for scale in scales:
        m = one_scale(scale)
        for phase in ("generator", "run"):
            note = f"CPU {m[phase]['cpu_s']:.1f} s, peak RSS {m[phase]['rss_mb']:.0f} MB"
            if phase == "run":
                rps = ", ".join(
                    f"{k} {v['rows_per_s']:,.0f} rows/s" for k, v in m["sources"].items()
                )
                note += f"; {rps}; answers match: {m['answers_match']}"
            out.append(
                Row(
                    "demo_scale",
                    f"scale {scale:g} {phase}",
                    m[phase]["seconds"],
                    note=note,
                    extra=m,
                )
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[10.0, 50.0])
    parser.add_argument("--json", type=Path, default=BENCH_DIR / "results_demo_scale.json")
    args = parser.parse_args()
    rows = bench(args.scales)
    for r in rows:
        print(f"{r.case:<24} {r.seconds:8.1f} s  {r.note}")
    args.json.write_text(json.dumps([r.as_dict() for r in rows], indent=2) + "\n")


if __name__ == "__main__":
    main()
