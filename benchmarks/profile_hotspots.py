"""Where the time goes: pyinstrument profiles of ``headwater run`` and of project loading.

    .venv/bin/python -m benchmarks.profile_hotspots [--quick]

Writes ``benchmarks/.work/profiles/*.txt`` (call trees and flat self-time lists):

- ``run_<case>_main``: the CLI's main thread (scheduler, metastore writes, display);
- ``run_<case>_workers``: every step's function on its worker thread, combined (pyinstrument
  profiles one thread per profiler, so each step gets its own and the sessions are merged);
- ``load``: ``load_project`` + ``select`` of the 2000-model project.

Needs pyinstrument in the venv (``uv pip install --python .venv/bin/python pyinstrument``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks import project_load, runner_overhead
from benchmarks._common import log, work_dir


def _write(profile_dir: Path, name: str, session: Any) -> dict[str, str]:
    from pyinstrument.renderers import ConsoleRenderer

    tree = ConsoleRenderer(unicode=False, color=False, short_mode=False).render(session)
    flat = ConsoleRenderer(unicode=False, color=False, flat=True).render(session)
    (profile_dir / f"{name}.txt").write_text(tree)
    (profile_dir / f"{name}_flat.txt").write_text(flat)
    return {"tree": str(profile_dir / f"{name}.txt"), "flat": str(profile_dir / f"{name}_flat.txt")}


def profile_run(project: Path, label: str, profile_dir: Path, *, warm: bool) -> dict[str, Any]:
    """Run ``headwater run -p project`` in this process, profiling main and worker threads."""
    from pyinstrument import Profiler
    from pyinstrument.session import Session

    from headwater.cli import app as cli

    # ``headwater.runtime.run`` the attribute is the function; the module is in sys.modules
    run_module = importlib.import_module("headwater.runtime.run")

    state = project / ".headwater"
    if state.exists():
        shutil.rmtree(state)
    original = run_module.step_for
    sessions: list[Session] = []
    lock = threading.Lock()

    def profiled_step_for(asset: Any, **kwargs: Any) -> Any:
        step = original(asset, **kwargs)
        fn = step.fn

        def work() -> Any:
            prof = Profiler(interval=0.0005, async_mode="disabled")
            prof.start()
            try:
                return fn()
            finally:
                session = prof.stop()
                with lock:
                    sessions.append(session)

        return dataclasses.replace(step, fn=work)

    def invoke(profile: bool) -> tuple[float, Any]:
        argv = sys.argv
        sys.argv = ["headwater", "run", "-p", str(project)]
        main_prof = Profiler(interval=0.001, async_mode="disabled") if profile else None
        out = profile_dir / f"run_{label}_stdout.txt"
        started = time.perf_counter()
        try:
            with open(out, "w") as fh, contextlib.redirect_stdout(fh):
                if main_prof:
                    main_prof.start()
                try:
                    cli.main()
                except SystemExit:
                    pass
                finally:
                    if main_prof:
                        main_prof.stop()
        finally:
            sys.argv = argv
        return time.perf_counter() - started, main_prof.last_session if main_prof else None

    run_module.step_for = profiled_step_for  # type: ignore[assignment]
    try:
        if warm:
            invoke(False)  # the first run creates warehouse and metastore; profile the second
            sessions.clear()
        wall, main_session = invoke(True)
    finally:
        run_module.step_for = original  # type: ignore[assignment]
    combined = sessions[0]
    for session in sessions[1:]:
        combined = Session.combine(combined, session)
    worker_total = sum(s.duration for s in sessions)
    files = _write(profile_dir, f"run_{label}_main", main_session)
    files.update(
        {
            f"workers_{k}": v
            for k, v in _write(profile_dir, f"run_{label}_workers", combined).items()
        }
    )
    return {
        "wall_s": wall,
        "steps": len(sessions),
        "worker_step_seconds_sum": worker_total,
        "files": files,
    }


def profile_load(project: Path, profile_dir: Path) -> dict[str, Any]:
    from pyinstrument import Profiler

    from headwater.project import load_project, select

    prof = Profiler(interval=0.0005, async_mode="disabled")
    prof.start()
    started = time.perf_counter()
    graph = load_project(project).graph
    select(graph, None)
    wall = time.perf_counter() - started
    session = prof.stop()
    return {"wall_s": wall, "files": _write(profile_dir, "load", session)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 models to run, 500 to load")
    args = parser.parse_args()
    n_run = 200 if args.quick else 1000
    n_load = 500 if args.quick else 2000
    profile_dir = work_dir("profiles")
    report: dict[str, Any] = {}
    for shape, materialized in (("wide", "view"), ("chain", "table")):
        label = f"{shape}_{materialized}_{n_run}"
        project = runner_overhead.make_project(
            work_dir("profiles", "projects") / label, shape, materialized, n_run
        )
        for warm in (False, True):
            key = f"{label}_{'warm' if warm else 'cold'}"
            log(f"profiling headwater run {key}")
            report[key] = profile_run(project, key, profile_dir, warm=warm)
    load_project_dir = project_load.make_project(
        work_dir("profiles", "projects") / f"load_{n_load}", n_load
    )
    log("profiling load_project")
    report["load"] = profile_load(load_project_dir, profile_dir)
    for key, value in report.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
