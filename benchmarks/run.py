"""Run every benchmark, print one table, write ``benchmarks/results.json``.

    .venv/bin/python -m benchmarks.run [--quick] [--only startup,load,runner]

``--quick`` uses small sizes (200 models to run, 500 to load) for a smoke check; the figures
of the README come from the full run. Benchmarks are never part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from typing import Any

from benchmarks import airflow_chain, fixed_cost, project_load, runner_overhead, server, startup
from benchmarks._common import BENCH_DIR, Row, fmt_ratio, fmt_seconds, log

BENCHMARKS = {
    "startup": startup.run,
    "fixed": fixed_cost.run,  # a one-model run over python -c pass; W2 beside Luigi
    "load": project_load.run,
    "runner": runner_overhead.run,
    "server": server.run,
    "airflow": airflow_chain.run,  # Airflow 3 standalone beside the server (its own venv)
}


def src_digest() -> str:
    """A digest of headwater/**/*.py as imported (src/, or a worktree on PYTHONPATH):
    which code the figures are for (src moves fast)."""
    import hashlib
    from pathlib import Path

    import headwater

    digest = hashlib.sha256()
    src = Path(headwater.__file__).parent
    for path in sorted(src.rglob("*.py")):
        digest.update(str(path.relative_to(src)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def machine() -> dict[str, Any]:
    import duckdb
    import sqlglot

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            model = next((ln.split(":", 1)[1].strip() for ln in fh if "model name" in ln), cpu)
    except OSError:
        model = cpu
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "duckdb": duckdb.__version__,
        "sqlglot": sqlglot.__version__,
    }


def table(rows: list[Row]) -> str:
    headers = ["benchmark", "case", "time", "floor", "ratio", "cpu ratio", "target", "ok", "note"]
    body = [
        [
            r.benchmark,
            r.case,
            fmt_seconds(r.seconds),
            fmt_seconds(r.floor),
            fmt_ratio(r.ratio),
            fmt_ratio(r.cpu_ratio),
            r.target,
            "-" if r.ok is None else ("yes" if r.ok else "NO"),
            r.note,
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in body)) for i, h in enumerate(headers[:-1])]
    lines = []
    for line in [headers, *body]:
        cells = [c.ljust(w) for c, w in zip(line[:-1], widths, strict=True)]
        lines.append("  ".join([*cells, line[-1]]).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths) + "  ----")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Headwater's foundation benchmarks.")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke check")
    parser.add_argument(
        "--only", default="", help=f"comma-separated subset of {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--output", default=str(BENCH_DIR / "results.json"))
    args = parser.parse_args(argv)
    chosen = [b for b in args.only.split(",") if b] or list(BENCHMARKS)
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    load_before = os.getloadavg()
    digest_before = src_digest()
    rows: list[Row] = []
    for name in chosen:
        log(f"== {name}")
        rows += BENCHMARKS[name](quick=args.quick)
    elapsed = time.perf_counter() - started
    print(table(rows))
    print(f"\n{len(rows)} measurements in {elapsed:.0f} s; written to {args.output}")
    print(f"load average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}")
    digest_after = src_digest()
    changed = "" if digest_after == digest_before else f" -> {digest_after} (src/ CHANGED)"
    print(f"src digest {digest_before}{changed}")
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "src_digest_before": digest_before,
        "src_digest_after": digest_after,
        "headwater_src": os.path.dirname(sys.modules["headwater"].__file__ or ""),
        "elapsed_s": elapsed,
        "rows": [r.as_dict() for r in rows],
    }
    with open(args.output, "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=2)
        fh.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
