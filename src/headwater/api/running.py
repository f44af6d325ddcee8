"""Doing things: :func:`run`, :func:`retry`, :func:`check`, and :func:`compile` (which
only shows what a run would do). Each is a thin composition of :mod:`headwater.runtime`;
progress reaches the caller through ``on_event`` (executor events), never printed here."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from headwater.api.project import (
    ProjectLike,
    as_project,
    selection,
    shared_engine,
    warehouse_in_use,
)
from headwater.api.records import CheckReport, CompiledModel, CompiledPlan
from headwater.project import Project
from headwater.project.asset import Asset
from headwater.runtime import Event, RunResult
from headwater.scheduling import Interval

EventHandler = Callable[[Event], None]


def run(
    project: ProjectLike,
    select: list[str] | None = None,
    exclude: list[str] | None = None,
    pipeline: str | None = None,
    *,
    threads: int | None = None,
    full_refresh: bool = False,
    on_event: EventHandler | None = None,
    trigger: str = "api",
    run_id: str | None = None,
    cancel: threading.Event | None = None,
    interval: Interval | None = None,
    run_group: str | None = None,
    reason: str | None = None,
    executor: str | None = None,
) -> RunResult:
    """Run the selection (see :func:`~headwater.api.selection`; everything by default) and
    record it in the metastore with ``trigger``. A folder is opened with discovery. Returns
    when the run is over, whatever its steps' outcome (``status`` success or failed).

    Raises ProjectError / SelectionError before anything runs; WarehouseBusy (naming the
    run that holds it) when another process writes the warehouse; RunInterrupted (a
    KeyboardInterrupt, the run's id attached) when Ctrl-C or SIGTERM stopped the run.

    A server also passes ``run_id`` (a run it recorded ``queued``), ``cancel`` (set from
    another thread: the run stops as on Ctrl-C); the pipeline's name is recorded with the run.

    ``interval``: the run's data interval (a scheduled or backfilled one, or
    ``--interval-start/--interval-end``), recorded in the run's params; partitioned models
    build only it (ProjectError, one line, when it is not whole units of their grain).
    ``run_group``: the outside run (an Airflow DAG run) this run is one step of, recorded
    in its params.
    ``reason``: why a trigger started the run, recorded with it (``RunInfo.reason``).
    ``executor``: overrides ``[project] executor`` for this run (``process``,
    ``dask://HOST:PORT``); ConnectionError_ (exit 3) when a Dask scheduler is unreachable."""
    from headwater.runtime import run as do_run

    proj = as_project(project, discover=True)
    chosen = selection(proj, select, exclude, pipeline)
    with warehouse_in_use(proj):
        return do_run(
            proj,
            names=chosen.names,
            include=chosen.include,
            threads=threads,
            on_event=on_event,
            full_refresh=full_refresh,
            trigger=trigger,
            engine=shared_engine(proj),
            run_id=run_id,
            cancel=cancel,
            pipeline=pipeline,
            interval=interval,
            run_group=run_group,
            reason=reason,
            executor=executor,
        )


def retry(
    project: ProjectLike,
    run_id: str,
    *,
    threads: int | None = None,
    on_event: EventHandler | None = None,
    queued_id: str | None = None,
    cancel: threading.Event | None = None,
) -> RunResult | None:
    """Rerun what failed or never ran in ``run_id`` (a new run, ``run_id`` its parent);
    None, and no run, when every step of it succeeded. Raises HeadwaterError for an unknown
    run, ProjectError for a check run, and as :func:`run` otherwise. A server passes
    ``queued_id`` (the retry it recorded ``queued``) and ``cancel``, as to :func:`run`."""
    from headwater.runtime import retry_run

    proj = as_project(project)
    with warehouse_in_use(proj):
        return retry_run(
            proj, run_id, threads=threads, on_event=on_event, engine=shared_engine(proj),
            run_id=queued_id, cancel=cancel,
        )  # fmt: skip


def check(
    project: ProjectLike, select: list[str] | None = None, exclude: list[str] | None = None
) -> CheckReport:
    """Run the selected assets' checks on the warehouse as it is, recorded as a run of
    kind ``check`` (failed when a check blocks; nothing is built). Raises HeadwaterError
    when there is no warehouse yet, SelectionError for a selector that matches nothing."""
    from headwater.runtime.check_run import run_checks_now

    proj = as_project(project)
    found = run_checks_now(proj, select, list(exclude or []), engine=shared_engine(proj))
    return CheckReport(found.run_id, found.ok, list(found.skipped), list(found.results))


def compile(
    project: Project | str | os.PathLike[str],
    select: list[str] | None = None,
    exclude: list[str] | None = None,
) -> CompiledPlan:
    """The plan of a selection (steps in execution order) and the compiled SQL of each
    selected SQL model, qualified against the whole graph. Touches nothing: a folder is
    loaded without writing its parse cache; no warehouse, no metastore. Raises as a run's
    loading and selection do (ProjectError, SqlParseError, SelectionError)."""
    from headwater.models.compile import compile_sql
    from headwater.project import select as do_select

    proj = project if isinstance(project, Project) else _load_untouched(project)
    graph = proj.graph
    names = do_select(graph, select, list(exclude or []))
    models = [
        CompiledModel(
            name,
            _kind(graph[name]),
            str(graph[name].path) if graph[name].path else None,
            graph[name].location,
            compile_sql(graph[name], graph) if graph[name].sql is not None else None,
        )
        for name in names
        if graph[name].kind == "model"
    ]
    return CompiledPlan([(n, _kind(graph[n])) for n in names], models)


def _load_untouched(path: str | os.PathLike[str]) -> Project:
    from headwater.api.project import engine_of
    from headwater.engines import sql_validator
    from headwater.project import load_project

    root = Path(path)
    return load_project(root, sql_validator=sql_validator(engine_of(root)), write_cache=False)


def _kind(asset: Asset) -> str:
    if asset.kind != "model" or asset.model is None:
        return asset.kind
    if asset.sql is None:  # a Python model's result is written as a table, never a view
        return "python " + asset.model.materialized.replace("view", "table")
    return asset.model.materialized
