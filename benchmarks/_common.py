"""Shared helpers: paths, subprocess timing, medians and result rows.

Every benchmark returns a list of :class:`Row`; ``benchmarks.run`` prints and saves them.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
WORK = BENCH_DIR / ".work"
PYTHON = sys.executable  # the venv's interpreter when run as `.venv/bin/python -m benchmarks.run`
BIN = Path(sys.executable).parent
HEADWATER = str(BIN / "headwater")
# Bytecode cache: this environment sets PYTHONDONTWRITEBYTECODE=1, so no .pyc exists anywhere
# and every process would compile every module it imports. An installed package normally has
# its .pyc files; the benchmarks keep theirs in benchmarks/.work/pycache (never next to src/).
PYCACHE = WORK / "pycache"


@dataclass
class Row:
    """One measured line of the results table (seconds; ``floor`` is the comparison point)."""

    benchmark: str
    case: str
    seconds: float | None
    floor: float | None = None
    ratio: float | None = None
    target: str = ""
    ok: bool | None = None
    note: str = ""
    cpu_ratio: float | None = None  # user+sys CPU time over the floor's: robust to a busy machine
    samples: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def work_dir(*parts: str, fresh: bool = False) -> Path:
    path = WORK.joinpath(*parts)
    if fresh and path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0:
        return None
    return a / b


@dataclass
class Timed:
    seconds: float
    cpu_seconds: float  # user + system time of the child
    returncode: int
    stdout: str
    stderr: str


def subprocess_env(*, bytecode: bool = True, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of measured subprocesses. ``bytecode``: read and write .pyc files in
    :data:`PYCACHE`; otherwise this environment as it is: the interpreter's own standard
    library has .pyc files, the venv's packages and ``src/`` have none."""
    env = {**os.environ, **(extra or {})}
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    return env


def time_subprocess(
    argv: Sequence[str],
    *,
    stdout_path: Path | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 3600,
) -> Timed:
    """Wall and CPU time of one subprocess. stdout goes to ``stdout_path`` (a file, never a
    terminal) or to /dev/null; stderr is captured. ``env`` defaults to :func:`subprocess_env`."""
    full_env = env if env is not None else subprocess_env()
    target = stdout_path if stdout_path is not None else Path(os.devnull)
    with open(target, "wb") as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run(
            list(argv),
            stdout=out,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=full_env,
            timeout=timeout,
            check=False,
        )
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    text = stdout_path.read_text(errors="replace") if stdout_path is not None else ""
    return Timed(elapsed, cpu, proc.returncode, text, proc.stderr.decode(errors="replace"))


def measure_process(
    argv: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> dict[str, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds of one subprocess (stdout discarded);
    raises RuntimeError with the end of its stderr when it fails.

    The peak is the process's VmHWM, polled while it runs (``wait4``'s ru_maxrss would count
    the benchmark's own memory, inherited through fork, before the exec)."""
    peak = [0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env=env,
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
    elapsed = time.perf_counter() - started
    watcher.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {proc.returncode}: {err.decode()[-2000:]}")
    return {
        "seconds": elapsed,
        "rss_mb": peak[0] / 1024,
        "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
    }


def duckdb_extension(module: Any, name: str) -> Path:
    """The extension file a ``duckdb-extension-*`` wheel ships (for this DuckDB version)."""
    from headwater.engines.duckdb.database_scan import wheel_extension

    found = wheel_extension(module, name)
    if found is None:
        raise SystemExit(f"{module.__name__} holds no {name} extension")
    return found


def dlt_python(venv: Path, packages: Sequence[str], imports: str) -> Path | None:
    """The interpreter of a venv with dlt and ``packages`` (made with uv on first use; checked
    by importing ``imports``); None when it cannot be installed here."""
    python = venv / "bin" / "python"
    check = [str(python), "-c", f"import {imports}"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    log(f"installing dlt into {venv}")
    try:
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
        subprocess.run(
            [uv, "pip", "install", "-q", "--python", str(python), *packages],
            check=True,
            timeout=900,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log(f"dlt skipped: {exc}")
        return None
    return python if subprocess.run(check, capture_output=True).returncode == 0 else None


def repeat(fn: Callable[[], float], times: int) -> list[float]:
    return [fn() for _ in range(times)]


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
