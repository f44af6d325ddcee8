"""Start-up: ``python -c "import headwater"`` and ``headwater --help`` against ``python -c pass``.

Median of ``reps`` subprocess runs each, interleaved so that drift hits all three alike. Also
lists the heaviest top-level imports (``python -X importtime``) of ``import headwater`` and of
``import headwater.cli.app`` (what ``headwater --help`` loads).
"""

from __future__ import annotations

import re
import subprocess

from benchmarks._common import (
    HEADWATER,
    PYTHON,
    Row,
    log,
    median,
    subprocess_env,
    time_subprocess,
)

IMPORT_TARGET = 0.3
HELP_TARGET = 0.5
_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


def _importtime(statement: str) -> list[tuple[str, float]]:
    """(module, self ms) of every import ``python -X importtime -c statement`` reports."""
    proc = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
        env=subprocess_env(),
    )
    found = []
    for line in proc.stderr.splitlines():
        m = _LINE.match(line)
        if m:
            found.append((m.group(4), int(m.group(1)) / 1000))
    return found


def import_profile(statement: str, top: int = 10) -> list[dict[str, object]]:
    """What ``statement`` imports beyond a bare interpreter (``-c pass``), by top-level
    package: the self time of its modules (``sqlalchemy.engine`` counts for ``sqlalchemy``)
    summed, median of 3 runs. The first entry, ``(all)``, is the total."""
    baseline = {name for name, _ in _importtime("pass")}
    samples: list[dict[str, tuple[float, int]]] = []
    for _ in range(3):
        per_package: dict[str, tuple[float, int]] = {}
        for name, ms in _importtime(statement):
            if name in baseline:
                continue
            package = name.split(".")[0]
            total, count = per_package.get(package, (0.0, 0))
            per_package[package] = (total + ms, count + 1)
        samples.append(per_package)
    packages = {name for rows in samples for name in rows}
    table = []
    for name in packages:
        ms = median([rows.get(name, (0.0, 0))[0] for rows in samples])
        count = max(rows.get(name, (0.0, 0))[1] for rows in samples)
        table.append({"package": name, "self_ms": round(ms, 1), "modules": count})
    table.sort(key=lambda r: -float(r["self_ms"]))  # type: ignore[arg-type]
    total = sum(float(r["self_ms"]) for r in table)  # type: ignore[arg-type]
    modules = sum(int(r["modules"]) for r in table)  # type: ignore[call-overload]
    return [{"package": "(all)", "self_ms": round(total, 1), "modules": modules}, *table[:top]]


def measure(reps: int, *, bytecode: bool) -> dict[str, list[float]]:
    cases = {
        "python -c pass": [PYTHON, "-c", "pass"],
        "import headwater": [PYTHON, "-c", "import headwater"],
        "headwater --help": [HEADWATER, "--help"],
    }
    env = subprocess_env(bytecode=bytecode)
    for argv in cases.values():  # warm the OS cache (and write the .pyc files); not timed
        time_subprocess(argv, env=env)
    times: dict[str, list[float]] = {name: [] for name in cases}
    for rep in range(reps):
        log(f"  startup ({'with' if bytecode else 'without'} .pyc): {rep + 1}/{reps}")
        for name, argv in cases.items():
            timed = time_subprocess(argv, env=env)
            if timed.returncode != 0:
                raise RuntimeError(f"{name} failed: {timed.stderr.strip()[-500:]}")
            times[name].append(timed.seconds)
    return times


def run(*, quick: bool = False) -> list[Row]:
    reps = 5 if quick else 10
    rows: list[Row] = []
    profiles: dict[str, list[dict[str, object]]] = {}
    for bytecode in (True, False):
        times = measure(reps, bytecode=bytecode)
        if bytecode:  # after measure(): the .pyc files exist
            log("  startup: -X importtime")
            profiles["import headwater"] = import_profile("import headwater")
            profiles["headwater --help"] = import_profile("import headwater.cli.app")
        mode = "" if bytecode else " [no .pyc]"
        floor = median(times["python -c pass"])
        rows.append(
            Row("startup", f"python -c pass (floor){mode}", floor, samples=times["python -c pass"])
        )
        for name, target in (
            ("import headwater", IMPORT_TARGET),
            ("headwater --help", HELP_TARGET),
        ):
            secs = median(times[name])
            net = secs - floor
            prof = profiles[name]
            heavy = ", ".join(
                f"{p['package']} {float(p['self_ms']):.0f} ms"  # type: ignore[arg-type]
                for p in prof[1:6]
            )
            rows.append(
                Row(
                    "startup",
                    f"{name}{mode}",
                    secs,
                    floor=floor,
                    target=f"net < {target:g} s",
                    ok=net < target,
                    note=f"net of floor {net * 1000:.0f} ms"
                    + (f"; imports {prof[0]['modules']} modules, top: {heavy}" if bytecode else ""),
                    samples=times[name],
                    extra={"net_s": net, "importtime_top": prof} if bytecode else {"net_s": net},
                )
            )
    return rows
