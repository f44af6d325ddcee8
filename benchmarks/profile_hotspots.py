"""Where the time goes: pyinstrument profiles of ``headwater run`` and of project loading.

    .venv/bin/python -m benchmarks.profile_hotspots [--quick]

Writes ``benchmarks/.work/profiles/*.txt`` (call trees and flat self-time lists):

- ``run_<case>_main``: the CLI's main thread (scheduler, metastore writes, display);
- ``run_<case>_workers``: every step's function on its worker thread, combined (pyinstrument
  profiles one thread per profiler, so each step gets its own and the sessions are merged);
- ``run_<case>_recorder``: the metastore writer thread, when the runtime has one;
- ``load``: ``load_project`` + ``select`` of the 2000-model project.

``--ablation`` instead runs ``headwater run`` in-process with parts of the per-step work
switched off (metastore records, step log files, materialize's extra statements) and reports
the wall times: ``benchmarks/.work/profiles/ablation.json``.

``--leak`` runs ``headwater run`` several times in one process (step loggers accumulate).

``--breakdown`` instead times each piece of per-step work alone (DuckDB statements, metastore
writes, step logging, threads) for 1000 steps: ``benchmarks/.work/profiles/breakdown.json``.

Needs pyinstrument in the venv (``uv pip install --python .venv/bin/python pyinstrument``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import json
import os
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


def _merge_threads(sessions: list[Any]) -> Any:
    """One session of many threads' sessions, as if one thread had run them all (each thread
    is otherwise its own root, and 1000 tiny roots hide every hot spot)."""
    from pyinstrument.session import Session

    merged = sessions[0]
    for session in sessions[1:]:
        merged = Session.combine(merged, session)
    merged.frame_records = [
        (["workers\x00<thread>\x000", *stack[1:]], seconds)
        for stack, seconds in merged.frame_records
    ]
    return merged


def _profiled(fn: Any, sink: list[Any], lock: threading.Lock) -> Any:
    """``fn`` under its own pyinstrument profiler (one per call: profilers are per thread)."""
    from pyinstrument import Profiler

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        prof = Profiler(interval=0.0005, async_mode="disabled")
        prof.start()
        try:
            return fn(*args, **kwargs)
        finally:
            session = prof.stop()
            with lock:
                sink.append(session)

    return wrapper


def profile_run(
    project: Path, label: str, profile_dir: Path, *, warm: bool, threads: int | None = None
) -> dict[str, Any]:
    """Run ``headwater run -p project`` in this process, profiling the main thread, every
    step's function (worker threads) and, when there is one, the metastore recorder thread."""
    from pyinstrument import Profiler

    from headwater.cli import app as cli

    # ``headwater.runtime.run`` the attribute is the function; the module is in sys.modules
    run_module = importlib.import_module("headwater.runtime.run")

    state = project / ".headwater"
    if state.exists():
        shutil.rmtree(state)
    original = run_module.step_for
    recorder = getattr(run_module, "_Recorder", None)
    original_write = getattr(recorder, "_write", None)
    sessions: list[Any] = []
    recorder_sessions: list[Any] = []
    lock = threading.Lock()

    def profiled_step_for(asset: Any, **kwargs: Any) -> Any:
        step = original(asset, **kwargs)
        return dataclasses.replace(step, fn=_profiled(step.fn, sessions, lock))

    def invoke(profile: bool) -> tuple[float, Any]:
        argv = sys.argv
        sys.argv = ["headwater", "run", "-p", str(project)]
        if threads is not None:
            sys.argv += ["-t", str(threads)]
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
    if original_write is not None:
        recorder._write = _profiled(original_write, recorder_sessions, lock)  # type: ignore[union-attr]
    try:
        if warm:
            invoke(False)  # the first run creates warehouse and metastore; profile the second
            sessions.clear()
            recorder_sessions.clear()
        wall, main_session = invoke(True)
    finally:
        run_module.step_for = original  # type: ignore[assignment]
        if original_write is not None:
            recorder._write = original_write  # type: ignore[union-attr]
    files = _write(profile_dir, f"run_{label}_main", main_session)
    for name, group in (("workers", sessions), ("recorder", recorder_sessions)):
        if group:
            written = _write(profile_dir, f"run_{label}_{name}", _merge_threads(group))
            files.update({f"{name}_{k}": v for k, v in written.items()})
    return {
        "wall_s": wall,
        "steps": len(sessions),
        "worker_step_seconds_sum": sum(s.duration for s in sessions),
        "recorder_seconds_sum": sum(s.duration for s in recorder_sessions),
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


def breakdown(n: int) -> dict[str, float]:
    """Seconds for ``n`` steps of each piece of per-step work, alone, in this process (one
    thread, wide no-op views): where the runner's overhead over the floor comes from."""

    import duckdb
    import sqlalchemy as sa

    from headwater.engines.duckdb.engine import DuckDBEngine
    from headwater.metastore import Metastore
    from headwater.runtime.steps import StepLogs

    base = work_dir("profiles", "breakdown", fresh=True)
    names = [f"m{k:04d}" for k in range(1, n + 1)]
    out: dict[str, float] = {}

    con = duckdb.connect(str(base / "floor.duckdb"))
    con.execute("create schema staging")
    started = time.perf_counter()
    for k, name in enumerate(names, 1):
        con.execute(f"create or replace view staging.{name} as select {k} as x")
    out["duckdb: create or replace view (the floor)"] = time.perf_counter() - started
    started = time.perf_counter()
    for name in names:
        con.execute(
            "select table_type from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            ["staging", name],
        ).fetchone()
    out["duckdb: information_schema lookup (materialize._kind), n views exist"] = (
        time.perf_counter() - started
    )
    con.close()

    for materialized in ("view", "table"):
        engine = DuckDBEngine(base / f"warehouse_{materialized}.duckdb")
        engine.ensure_schemas({"staging"})
        for state in ("fresh db", "models exist"):
            started = time.perf_counter()
            for k, name in enumerate(names, 1):
                engine.materialize_sql(
                    "staging", name, f"select {k} as x", materialized=materialized
                )
            out[f"duckdb: engine.materialize_sql ({materialized}), {state}"] = (
                time.perf_counter() - started
            )
        engine.close()
    con = duckdb.connect(str(base / "floor_table.duckdb"))
    con.execute("create schema staging")
    started = time.perf_counter()
    for k, name in enumerate(names, 1):
        con.execute(f"create or replace table staging.{name} as select {k} as x")
    out["duckdb: create or replace table (the floor)"] = time.perf_counter() - started
    started = time.perf_counter()
    for _name in names:
        con.execute("drop table if exists _hw_increment")
    out["duckdb: drop table if exists _hw_increment (after every build)"] = (
        time.perf_counter() - started
    )
    con.close()

    from datetime import UTC, datetime

    for variant in ("synchronous=FULL", "store default", "store default, batched"):
        store = Metastore.open(f"sqlite:///{base / f'metastore_{len(out)}.sqlite'}")
        if variant == "synchronous=FULL":  # what the metastore did before it set NORMAL

            def _full(dbapi_connection: Any, record: Any) -> None:
                dbapi_connection.execute("PRAGMA synchronous = FULL")

            sa.event.listen(store.engine, "connect", _full)
            store.engine.dispose()
        batch = getattr(store, "batch", None)
        if variant.endswith("batched") and batch is None:
            store.close()
            continue
        store.start_run("bench", project="bench", selection=None)
        started = time.perf_counter()
        for first in range(0, n, 100):
            group = (
                contextlib.nullcontext() if batch is None or "batched" not in variant else batch()
            )
            with group:
                for name in names[first : first + 100]:
                    now = datetime.now(UTC)
                    store.upsert_step("bench", name, kind="model", status="running", started_at=now)
                    store.record_attempt(
                        "bench",
                        name,
                        1,
                        status="success",
                        started_at=now,
                        finished_at=now,
                        error=None,
                    )
                    store.upsert_step(
                        "bench", name, kind="model", status="success", finished_at=now
                    )
        what = "one commit per 100 steps" if "batched" in variant else "one commit per write"
        out[f"metastore: 3 writes per step, {what}, sqlite {variant}"] = (
            time.perf_counter() - started
        )
        store.close()

    logs = StepLogs(base / "logs")
    started = time.perf_counter()
    for name in names:
        log = logs(name)
        log.info("materializing %s as view", name)
        logs.done(log)
    out["logging: a step logger + one line (its file) + close, per step"] = (
        time.perf_counter() - started
    )
    started = time.perf_counter()
    for name in names:
        logs.done(logs(name))
    out["logging: a step logger that logs nothing (no file), per step"] = (
        time.perf_counter() - started
    )

    started = time.perf_counter()
    for _ in names:
        thread = threading.Thread(target=lambda: None)
        thread.start()
        thread.join()
    out["threads: one new thread per step"] = time.perf_counter() - started
    return out


def ablation(
    n: int, shape: str = "wide", materialized: str = "view", reps: int = 3
) -> dict[str, float]:
    """Median seconds of an in-process ``headwater run`` (warm project of no-op models) with
    parts of the per-step work switched off, one at a time and all together. The differences
    are what each part costs in a real run, without a profiler's distortion."""
    import logging
    import statistics

    from headwater.cli import app as cli
    from headwater.engines.duckdb.engine import DuckDBEngine

    run_module = importlib.import_module("headwater.runtime.run")
    project = runner_overhead.make_project(
        work_dir("profiles", "projects") / f"ablation_{shape}_{materialized}_{n}",
        shape,
        materialized,
        n,
    )
    recorder = getattr(run_module, "_Recorder", None)
    null_log = logging.Logger("headwater.bench.null")
    null_log.propagate = False

    class NoStepLogs:  # StepLogs without files
        def __init__(self, logs_dir: Path) -> None:
            pass

        def __call__(self, step: str) -> logging.Logger:
            return null_log

        def done(self, log: logging.Logger) -> None:
            pass

    def floor_materialize(self: Any, schema: str, table: str, sql: str, **_: Any) -> None:
        self.cursor().execute(f"create or replace {materialized} {schema}.{table} as {sql}")

    patches: dict[str, list[tuple[Any, str, Any]]] = {
        "no metastore step records": (
            [(recorder, "_write", lambda self, events: None)] if recorder else []
        ),
        "no step log files": [(run_module, "StepLogs", NoStepLogs)],
        f"materialize = bare CREATE OR REPLACE {materialized.upper()}": [
            (DuckDBEngine, "materialize_sql", floor_materialize)
        ],
    }
    patches["all three"] = [p for group in list(patches.values()) for p in group]

    def once(threads: int) -> float:
        argv = sys.argv
        sys.argv = ["headwater", "run", "-p", str(project), "-t", str(threads)]
        started = time.perf_counter()
        try:
            with (
                open(os.devnull, "w") as fh,
                contextlib.redirect_stdout(fh),
                contextlib.suppress(SystemExit),
            ):
                cli.main()
        finally:
            sys.argv = argv
        return time.perf_counter() - started

    once(4)  # creates warehouse and metastore: every measured run is warm
    out: dict[str, float] = {}
    for threads in (4, 1):
        for label, group in [("as is", []), *patches.items()]:
            saved = [(obj, name, getattr(obj, name)) for obj, name, _ in group]
            for obj, name, value in group:
                setattr(obj, name, value)
            try:
                out[f"-t {threads}: {label}"] = statistics.median(
                    once(threads) for _ in range(reps)
                )
            finally:
                for obj, name, value in saved:
                    setattr(obj, name, value)
            log(f"  ablation -t {threads} {label}: {out[f'-t {threads}: {label}']:.2f} s")
    return out


def leak(n: int, runs: int = 6) -> dict[str, float]:
    """Consecutive ``headwater run`` in one process (a scheduler, a notebook, a test session):
    wall time of each, and how many ``headwater.step.*`` loggers stay registered after it."""
    import logging

    from headwater.cli import app as cli

    project = runner_overhead.make_project(
        work_dir("profiles", "projects") / f"ablation_{n}", "wide", "view", n
    )
    out: dict[str, float] = {}
    for index in range(1, runs + 1):
        argv = sys.argv
        sys.argv = ["headwater", "run", "-p", str(project), "-t", "1"]
        started = time.perf_counter()
        try:
            with (
                open(os.devnull, "w") as fh,
                contextlib.redirect_stdout(fh),
                contextlib.suppress(SystemExit),
            ):
                cli.main()
        finally:
            sys.argv = argv
        seconds = time.perf_counter() - started
        loggers = sum(
            1 for k in logging.Logger.manager.loggerDict if k.startswith("headwater.step.")
        )
        out[f"run {index} (-t 1), then {loggers} step loggers registered"] = seconds
        log(f"  run {index}: {seconds:.2f} s, {loggers} step loggers")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 models to run, 500 to load")
    parser.add_argument("--breakdown", action="store_true", help="only the per-step breakdown")
    parser.add_argument("--ablation", action="store_true", help="only the ablation runs")
    parser.add_argument("--leak", action="store_true", help="only consecutive in-process runs")
    args = parser.parse_args()
    if args.leak:
        result = leak(200 if args.quick else 1000)
        for what, seconds in result.items():
            print(f"{seconds:8.3f} s  {what}")
        (work_dir("profiles") / "leak.json").write_text(json.dumps(result, indent=2))
        return
    if args.ablation:
        n = 200 if args.quick else 1000
        result = {
            f"{shape}/{mat} {k}": v
            for shape, mat in (("wide", "view"), ("chain", "table"))
            for k, v in ablation(n, shape, mat).items()
        }
        for what, seconds in result.items():
            print(f"{seconds:8.3f} s  {what}")
        (work_dir("profiles") / "ablation.json").write_text(json.dumps(result, indent=2))
        return
    if args.breakdown:
        n = 200 if args.quick else 1000
        result = breakdown(n)
        for what, seconds in result.items():
            print(f"{seconds:8.3f} s  {seconds / n * 1000:6.2f} ms/step  {what}")
        (work_dir("profiles") / "breakdown.json").write_text(json.dumps(result, indent=2))
        return
    n_run = 200 if args.quick else 1000
    n_load = 500 if args.quick else 2000
    profile_dir = work_dir("profiles")
    report: dict[str, Any] = {}
    cases = (  # (shape, materialized, warm, threads)
        ("wide", "view", False, None),
        ("wide", "view", True, None),
        ("wide", "view", True, 1),
        ("chain", "table", False, None),
    )
    for shape, materialized, warm, threads in cases:
        label = f"{shape}_{materialized}_{n_run}"
        project = runner_overhead.make_project(
            work_dir("profiles", "projects") / label, shape, materialized, n_run
        )
        key = f"{label}_{'warm' if warm else 'cold'}" + (f"_t{threads}" if threads else "")
        log(f"profiling headwater run {key}")
        report[key] = profile_run(project, key, profile_dir, warm=warm, threads=threads)
    load_project_dir = project_load.make_project(
        work_dir("profiles", "projects") / f"load_{n_load}", n_load
    )
    log("profiling load_project")
    report["load"] = profile_load(load_project_dir, profile_dir)
    for key, value in report.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
