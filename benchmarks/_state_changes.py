"""Step state changes per second, and the two floors of :mod:`benchmarks.server`'s 10,000-step
cases (issue 14's targets: >= 200/s on SQLite, >= 2,000/s on PostgreSQL):

- :func:`step_rate`: a recorded run's rate, two state changes per step (started, finished)
  over its first start to its last finish in the metastore's ``step_runs``;
- :func:`recorder_rate`: the metastore's own rate, with no warehouse work: the run's
  executor (``threads`` worker threads) runs ``n`` steps that do nothing and its recorder
  writes their events to the metastore at ``url`` as in a run (batches from a background
  thread); timed from the first step to the last event committed;
- :func:`duckdb_views_rate`: what DuckDB alone allows for the no-op views of the wide case:
  the same ``CREATE OR REPLACE VIEW`` statements from ``threads`` threads, each on its own
  cursor of one connection to a fresh file (as the run's workers do), as state changes (two
  a view) per second.
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from headwater.metastore import Metastore


def step_rate(steps: list[Any]) -> tuple[float | None, float | None]:
    """(span s, state changes per second) of a run's ``step_runs`` (None: nothing ran)."""
    done = [s for s in steps if s.status == "success"]
    starts = [s.started_at for s in steps if s.started_at is not None]
    ends = [s.finished_at for s in steps if s.finished_at is not None]
    span = (max(ends) - min(starts)).total_seconds() if starts and ends else None
    return span, (2 * len(done) / span if span else None)


def recorder_rate(url: str, n: int, threads: int = 4) -> float:
    """State changes per second the metastore at ``url`` takes from a run of ``n`` no-op
    steps (see the module docstring); checks that every step was recorded ``success``."""
    from headwater.runtime.executor import Executor, Step
    from headwater.runtime.recorder import Recorder
    from headwater.runtime.steps import StepLogs

    run_id = uuid.uuid4().hex[:12]
    with Metastore.open(url) as store, tempfile.TemporaryDirectory() as logs:
        store.start_run(run_id, project="bench", selection=None)
        steps = [Step(f"m{k:05d}", (), _nothing) for k in range(n)]
        kinds = {s.name: s.kind for s in steps}
        recorder = Recorder(store, run_id, kinds, StepLogs(Path(logs) / run_id), None)
        began = time.perf_counter()
        Executor(steps, threads=threads, on_event=recorder).run()
        recorder.close()  # returns once the last batch is committed
        took = time.perf_counter() - began
        recorded = store.step_runs(run_id)
        store.finish_run(run_id, "success")
    if len(recorded) != n or {s.status for s in recorded} != {"success"}:
        raise RuntimeError(f"{len(recorded)} of {n} steps recorded")
    return 2 * n / took


def _nothing() -> None:
    return None


def duckdb_views_rate(work: Path, n: int, threads: int = 4) -> float:
    """State changes per second DuckDB allows for ``n`` no-op views (module docstring)."""
    import duckdb

    path = work / "floor.duckdb"
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    todo = iter(f"create or replace view staging.m{k:04d} as select {k} as x" for k in range(n))
    lock = threading.Lock()
    with duckdb.connect(str(path)) as con:
        con.execute("create schema staging")

        def work_off() -> None:
            cur = con.cursor()
            while True:
                with lock:
                    sql = next(todo, None)
                if sql is None:
                    return
                cur.execute(sql)

        pool = [threading.Thread(target=work_off) for _ in range(threads)]
        began = time.perf_counter()
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        took = time.perf_counter() - began
    return 2 * n / took
